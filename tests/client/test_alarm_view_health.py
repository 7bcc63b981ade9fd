"""The alarm view's health, as a durable session's and a deploy watch's: state,
reconnects, last_event_at, and its reconnects logged under `mxgw.alarms`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from mxgw import ConfigurationError, GatewayClient
from mxgw.durable import DurableState
from mxgw.sim import RuntimeConfig, SimServer

from ..conftest import TEST_KEY, eventually, sim_config

REF = "Galaxy!Plant.TestMachine_003.TestAlarm001"  # idle at start


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(sim_config(RuntimeConfig(first_value_delay=0.02, alarm_rate=0))) as s:
        yield s


async def test_the_view_reports_its_state_reconnects_and_last_event(
        sim: SimServer, client: GatewayClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mxgw")
    async with client.alarm_view(reconnect_backoff=0.02, max_reconnect_delay=0.2) as view:
        assert view.state is DurableState.CONNECTED and view.last_event_at is None
        sim.runtime.alarms.raise_alarm(REF)
        change = await asyncio.wait_for(view.__anext__(), 10)
        first_at = view.last_event_at
        assert change.reference == REF and first_at is not None
        await sim.drop_connections()
        await eventually(lambda: sim.runtime.alarms.feed_count == 0)
        sim.runtime.alarms.clear_alarm(REF)
        change = await asyncio.wait_for(view.__anext__(), 10)  # synthetic, after a reconnect
        assert change.synthetic and view.reconnects == 1
        assert view.state is DurableState.CONNECTED
        assert view.last_event_at is not None and view.last_event_at >= first_at
    assert view.state is DurableState.CLOSED
    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "mxgw.alarms"]
    assert any(level == logging.WARNING and "reconnecting" in text for level, text in messages)
    assert all(TEST_KEY not in r.getMessage() for r in caplog.records)


async def test_a_zero_backoff_is_refused_before_anything_is_sent() -> None:
    async with GatewayClient.connect("127.0.0.1:1", plaintext=True, eager=False) as client:
        with pytest.raises(ConfigurationError, match="reconnect_backoff must be > 0"):
            client.alarm_view(reconnect_backoff=0)
