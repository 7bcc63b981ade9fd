"""Keepalive: a link that stops forwarding without closing is noticed at any point of a
connection's life (within keepalive_time + keepalive_timeout), for event streams (which
resume on a new connection) and unary calls (the next call reconnects).

Through a stalling proxy of the test's own; small keepalive settings, generous timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

import mxgw
from mxgw import ClientOptions, GatewayClient, Session, pb
from mxgw.sim import RuntimeConfig, SimServer

from ..conftest import TEST_KEY, eventually, sim_config
from .peers import StallProxy

FAST: dict[str, Any] = {"keepalive_time": 0.3, "keepalive_timeout": 0.5}


@contextlib.asynccontextmanager
async def proxied(event_rate: float = 0.0) -> AsyncIterator[StallProxy]:
    """A simulated gateway behind a StallProxy (event rate 0: only writes change values)."""
    runtime = RuntimeConfig(first_value_delay=0.02, event_rate=event_rate)
    async with SimServer(sim_config(runtime)) as sim, StallProxy(sim.port) as proxy:
        yield proxy


def int_of(event: pb.MxEvent) -> int | None:
    change = event.on_data_change
    value = mxgw.from_mx_value(change.value) if change is not None else None
    return value if isinstance(value, int) else None


class Reader:
    """Reads an event stream in a task; its failure surfaces in `until`."""

    def __init__(self, events: mxgw.EventStream) -> None:
        self.events = events
        self.received: list[pb.MxEvent] = []
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async for event in self.events:
            self.received.append(event)

    async def until(self, what: str, predicate: object) -> None:
        assert callable(predicate)
        await eventually(lambda: bool(predicate()) or self.task.done(), timeout=30)
        if self.task.done():
            self.task.result()
            raise AssertionError(f"the stream ended before {what}")

    def saw(self, item: int, value: int) -> bool:
        return any(e.item_handle == item and int_of(e) == value for e in self.received)

    def assert_gapless(self) -> None:
        sequences = [e.worker_sequence for e in self.received]
        assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))


async def _subscribed(session: Session, reference: str) -> tuple[int, int]:
    server = await session.register("keepalive")
    [item] = await session.subscribe_bulk(server, [reference])
    return server, item.item_handle


async def test_a_stall_after_many_pings_on_an_idle_stream_is_noticed_and_it_resumes() -> None:
    """grpclib's own keepalive sent two pings on a stream-only connection, then none. With
    the default ping policy (none: Kestrel's), an idle stream is pinged all along."""
    assert ClientOptions("gateway:5001").keepalive_permit_time is None
    async with proxied() as proxy, GatewayClient.connect(
            proxy.endpoint, api_key=TEST_KEY, plaintext=True, **FAST) as client:
        session = await client.open_session("idle")
        server, item = await _subscribed(session, "TestMachine_001.TestInt")
        async with session.events() as events:
            reader = Reader(events)
            await reader.until("the first value", lambda: reader.received)
            # nothing changes: the connection lives on keepalive pings alone
            await eventually(lambda: proxy.pings >= 4, timeout=30)
            proxy.stall()
            await reader.until("a resume", lambda: events.resumes >= 1)
            await session.write(server, item, 7)  # on the new connection
            await reader.until("the written value", lambda: reader.saw(item, 7))
            reader.assert_gapless()


async def test_a_stall_while_events_flow_is_noticed_and_nothing_is_lost() -> None:
    """With the default ping policy: right after the gateway's data pings are free."""
    async with proxied(event_rate=20.0) as proxy, GatewayClient.connect(
            proxy.endpoint, api_key=TEST_KEY, plaintext=True, **FAST) as client:
        session = await client.open_session("flowing")
        await _subscribed(session, "TestMachine_001.TestChangingInt")
        async with session.events() as events:
            reader = Reader(events)
            await reader.until("ten events", lambda: len(reader.received) >= 10)
            proxy.stall()
            stalled_at = len(reader.received)
            await reader.until("a resume", lambda: events.resumes >= 1)
            await reader.until("events after the resume",
                               lambda: len(reader.received) >= stalled_at + 10)
            reader.assert_gapless()


async def test_a_unary_call_on_a_hung_connection_fails_as_lost_and_the_next_reconnects() -> None:
    """Before: every call on the hung connection waited out its deadline, for minutes."""
    async with proxied() as proxy, GatewayClient.connect(
            proxy.endpoint, api_key=TEST_KEY, plaintext=True, timeout=60, **FAST) as client:
        session = await client.open_session("unary")
        assert await session.register("before") > 0
        proxy.stall()
        with pytest.raises(mxgw.ConnectionLostError, match="hung"):
            await asyncio.wait_for(session.register("during"), 30)
        assert await session.register("after") > 0
        assert proxy.connections == 2
