"""A peer that is not a gRPC server (a banner-speaking service on the port, an HTTP/1.1
server, one that accepts and says nothing) is reported as such: a ConnectError that says
so, at an eager connect and from any call, instead of a connect that succeeds and calls
that wait out their deadlines."""

from __future__ import annotations

import asyncio

import pytest

import mxgw
from mxgw import GatewayClient

from ..conftest import TEST_KEY
from .peers import listener

ANSWERS = [("banner", "it answered 'HTTP/1.1 400 Bad Request'"),
           ("http1", "it answered 'HTTP/1.1 400 Bad Request'")]


@pytest.mark.parametrize(("mode", "answer"), ANSWERS)
async def test_connecting_to_a_peer_that_is_no_grpc_server_says_so(mode: str,
                                                                   answer: str) -> None:
    async with listener(mode) as endpoint:
        with pytest.raises(mxgw.ConnectError) as caught:
            await asyncio.wait_for(GatewayClient.connect(
                endpoint, api_key=TEST_KEY, plaintext=True, connect_timeout=30), 60)
    assert f"{endpoint} is not a gRPC (HTTP/2) server: {answer}" in str(caught.value)
    assert TEST_KEY not in str(caught.value)


@pytest.mark.parametrize(("mode", "answer"), ANSWERS)
async def test_every_call_to_a_peer_that_is_no_grpc_server_says_so(mode: str,
                                                                   answer: str) -> None:
    async with listener(mode) as endpoint, GatewayClient.connect(
            endpoint, api_key=TEST_KEY, plaintext=True, eager=False, timeout=30) as client:
        with pytest.raises(mxgw.ConnectError, match="not a gRPC") as unary:
            await asyncio.wait_for(client.open_session(), 60)
        assert answer in str(unary.value)
        with pytest.raises(mxgw.ConnectError, match="not a gRPC"):
            async with client.session("session-x").events() as events:
                await asyncio.wait_for(events.__anext__(), 60)


async def test_a_peer_that_accepts_and_says_nothing_is_no_grpc_server_either() -> None:
    async with listener("silent") as endpoint:
        with pytest.raises(mxgw.ConnectError, match=r"sent no HTTP/2 within 0\.5 s"):
            await asyncio.wait_for(GatewayClient.connect(
                endpoint, api_key=TEST_KEY, plaintext=True, connect_timeout=0.5), 30)
        async with GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True,
                                         eager=False, connect_timeout=0.5) as client:
            # a stream has no deadline: it used to wait on such a peer for ever
            with pytest.raises(mxgw.ConnectError, match="sent no HTTP/2"):
                async with client.session("session-x").events() as events:
                    await asyncio.wait_for(events.__anext__(), 60)
