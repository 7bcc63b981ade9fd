"""A hung TLS connection is closed at once when keepalive notices it: a graceful close
would first wait (30 s, asyncio's TLS shutdown timeout) for the hung peer's close_notify."""

from __future__ import annotations

import asyncio

import pytest

import mxgw
from mxgw import GatewayClient
from mxgw.sim import SimConfig, SimServer
from mxgw.sim.pki import Pki

from ..client.peers import StallProxy
from ..conftest import TEST_KEY


async def test_a_hung_tls_connection_fails_its_call_without_waiting_for_the_tls_close(
    pki: Pki,
) -> None:
    config = SimConfig(api_keys=[TEST_KEY], tls_cert=pki.server_cert, tls_key=pki.server_key)
    async with SimServer(config) as sim, StallProxy(sim.port) as proxy, GatewayClient.connect(
            proxy.endpoint, api_key=TEST_KEY, ca_file=pki.ca_cert, timeout=60,
            keepalive_time=0.3, keepalive_timeout=0.5) as client:
        session = await client.open_session("tls-stall")
        assert await session.register("before") > 0
        proxy.stall()
        with pytest.raises(mxgw.ConnectionLostError, match="hung"):
            await asyncio.wait_for(session.register("during"), 20)
        assert await session.register("after") > 0
