"""A gateway that never answers: one that accepts the connection and says nothing, and one
that completes the HTTP/2 handshake (and answers keepalive pings) but never answers a
stream. Every call ends at its deadline with a typed error, and afterwards no task,
socket, warning or loop error is left (the fault matrix of the durability issue)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import mxgw
from mxgw import GatewayClient

from ..conftest import TEST_KEY
from .peers import listener
from .resources import watched

DEADLINE = 0.3
"""Each unary call's deadline."""
CONNECT = 0.6
"""The connect timeout: a peer silent for this long is no gateway."""
SLACK = 3.0
"""How late past its bound a call may end on a busy 2-core machine."""
UNBOUNDED = 0.8
"""How long the test lets a call without a deadline wait (a stream on the mute server)."""


Call = Callable[[GatewayClient], Awaitable[Any]]


async def first_event(client: GatewayClient) -> Any:
    async with client.session("session-x").events() as events:
        return await events.__anext__()


async def first_deploy(client: GatewayClient) -> Any:
    async with client.galaxy().deploy_watch() as watch:
        return await watch.__anext__()


async def alarm_view(client: GatewayClient) -> Any:
    async with client.alarm_view() as view:
        return view


async def invoke(client: GatewayClient) -> Any:
    return await client.session("session-x").advise(1, 1)


CALLS: dict[str, tuple[Call, bool]] = {
    # name: (call, has a deadline of its own)
    "open_session": (lambda c: c.open_session("x"), True),
    "invoke": (invoke, True),
    "close_session": (lambda c: c.close_session_raw("session-x"), True),
    "galaxy.get_last_deploy_time": (lambda c: c.galaxy().get_last_deploy_time(), True),
    "galaxy.discover_hierarchy": (lambda c: c.galaxy().discover_hierarchy(), True),
    "query_active_alarms": (lambda c: c.query_active_alarms(), True),
    "acknowledge_alarm": (lambda c: c.acknowledge_alarm("Galaxy!A.B.C", "c", operator="op"),
                          True),
    "events": (first_event, False),
    "galaxy.deploy_watch": (first_deploy, False),
    "galaxy.watch_deploy_events": (lambda c: c.galaxy().watch_deploy_events().__anext__(),
                                   False),
    "alarm_view": (alarm_view, False),
}


async def outcome(call: Call, client: GatewayClient, bound: float) -> tuple[BaseException, float]:
    """What the call raised (asyncio.TimeoutError: the test's own bound ran out) and when."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(call(client), bound)
    except (mxgw.MxGatewayError, asyncio.TimeoutError) as exc:
        return exc, time.monotonic() - started
    raise AssertionError("a peer that never answers gave an answer")


@pytest.mark.parametrize("name", list(CALLS))
async def test_a_silent_peer_ends_every_call_at_its_bound(name: str) -> None:
    """Accepts, never writes: a call with a deadline ends at it (DeadlineExceededError),
    a stream at the connect timeout (ConnectError: not a gRPC server, or hung), once:
    there was never a stream to resume."""
    call, has_deadline = CALLS[name]
    async with listener("silent") as endpoint:
        with watched() as baseline:  # checked while the peer still holds its end open
            async with GatewayClient.connect(
                    endpoint, api_key=TEST_KEY, plaintext=True, eager=False, timeout=DEADLINE,
                    connect_timeout=CONNECT) as client:
                bound = DEADLINE if has_deadline else CONNECT
                error, took = await outcome(call, client, bound + 30)
            if has_deadline:
                assert isinstance(error, mxgw.DeadlineExceededError), repr(error)
                assert isinstance(error, TimeoutError)  # the builtin too, for callers using it
            else:
                assert isinstance(error, mxgw.ConnectError), repr(error)
                assert "sent no HTTP/2 within 0.6 s" in str(error)
            assert bound * 0.9 <= took <= bound + SLACK, f"{name} ended after {took:.2f} s"
            await baseline.restored()


@pytest.mark.parametrize("name", list(CALLS))
async def test_a_gateway_that_never_answers_a_stream_ends_every_call_at_its_deadline(
        name: str) -> None:
    """Handshake done, pings answered, no stream answered: a call with a deadline ends at
    it (DeadlineExceededError). A stream has none (a gateway may send its headers with
    the first event, hours later): the consumer's own bound cancels it, and nothing is
    left behind either way."""
    call, has_deadline = CALLS[name]
    async with listener("mute") as endpoint:
        with watched() as baseline:  # checked while the peer is still up
            async with GatewayClient.connect(
                    endpoint, api_key=TEST_KEY, plaintext=True, eager=False, timeout=DEADLINE,
                    connect_timeout=CONNECT, keepalive_time=0.2, keepalive_timeout=0.5,
                    keepalive_permit_time=None) as client:
                await client.ensure_connected()  # it does speak HTTP/2
                bound = DEADLINE if has_deadline else UNBOUNDED
                error, took = await outcome(call, client, DEADLINE + 30 if has_deadline
                                            else UNBOUNDED)
                if has_deadline:
                    assert isinstance(error, mxgw.DeadlineExceededError), repr(error)
                else:  # the stream waited, the keepalive saw a live peer: our bound ended it
                    assert isinstance(error, asyncio.TimeoutError)
                    assert not isinstance(error, mxgw.MxGatewayError), repr(error)
                assert bound * 0.9 <= took <= bound + SLACK, f"{name} ended after {took:.2f} s"
                # the connection is still there, and the next call still ends at its deadline
                error, _ = await outcome(CALLS["open_session"][0], client, DEADLINE + 30)
                assert isinstance(error, mxgw.DeadlineExceededError), repr(error)
            await baseline.restored()


async def test_a_silent_peer_found_by_the_keepalive_is_no_gateway_either() -> None:
    """The keepalive notices a silent peer before the connect timeout does: still a
    ConnectError (it never spoke HTTP/2), so the stream does not resume it five times
    over (it did: six keepalive timeouts, 26 s with a 2 s / 2 s keepalive)."""
    async with listener("silent") as endpoint:
        with watched() as baseline:
            async with GatewayClient.connect(
                    endpoint, api_key=TEST_KEY, plaintext=True, eager=False,
                    connect_timeout=30, keepalive_time=0.2, keepalive_timeout=0.3,
                    keepalive_permit_time=None) as client:
                error, took = await outcome(first_event, client, 30)
            assert isinstance(error, mxgw.ConnectError), repr(error)
            assert "sent no HTTP/2 within" in str(error)
            assert took <= 0.5 + SLACK, f"ended after {took:.2f} s"
            await baseline.restored()
