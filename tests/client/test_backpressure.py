"""A slow event consumer: backpressure reaches the gateway after one small HTTP/2 window
(`stream_window_bytes`), not after 4 MiB (~30,000 events, three of the gateway's queues),
and a fault is raised as soon as the gateway's trailers report it, ahead of the events
still buffered: the consumer does not go on reading a faulted session's events as live."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

import mxgw
from mxgw import ClientOptions, GatewayClient, Session, pb
from mxgw.sim import EventLimits, RuntimeConfig, SimServer

from ..conftest import TEST_KEY, eventually, sim_config

TAGS = [f"TestMachine_00{i}.TestChangingInt" for i in range(1, 7)]
FAST_EVENTS = 1000.0  # the simulator's event rate multiplier: ~1,500 events/s of six tags
SMALLEST_EVENT = 100  # bytes on the wire of a data change of these tags (137 measured)


@contextlib.asynccontextmanager
async def streaming(sim: SimServer, **options: Any) -> AsyncIterator[
        tuple[Session, mxgw.EventStream]]:
    """A session subscribed to six fast-changing tags, and its event stream, up."""
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True,
                                     **options) as client:
        session = await client.open_session("slow")
        server = await session.register("slow")
        await session.subscribe_bulk(server, TAGS)
        async with session.events() as events:
            await asyncio.wait_for(events.__anext__(), 30)  # the stream is up
            yield session, events


async def failure_within(events: mxgw.EventStream, at_most: int) -> BaseException:
    """The stream's failure, read as a consumer that awaits something per event would;
    an assertion error if more than `at_most` events come first."""
    read = 0
    with pytest.raises(mxgw.MxGatewayError) as caught:
        while True:
            await asyncio.wait_for(events.__anext__(), 30)
            read += 1
            assert read <= at_most, f"{read} events read after the session faulted"
            await asyncio.sleep(0)
    return caught.value


async def test_a_stalled_consumer_holds_back_the_gateway_and_learns_of_its_fault_soon(
) -> None:
    limits = EventLimits(queue_capacity=100, overflow_policy="fault")
    runtime = RuntimeConfig(first_value_delay=0.01, event_rate=FAST_EVENTS, events=limits)
    window = ClientOptions("gw:1").stream_window_bytes
    async with SimServer(sim_config(runtime)) as sim, streaming(sim) as (session, events):
        gateway = sim.runtime.find(session.id)
        assert gateway is not None
        # the consumer stops after one event; the gateway fills our window, then its queue
        await eventually(lambda: gateway.state == pb.SessionState.FAULTED, timeout=60)
        behind = gateway.events.sequence - events.last_sequence
        assert behind <= limits.queue_capacity + window // SMALLEST_EVENT, behind
        error = await failure_within(events, 50)
        assert isinstance(error, mxgw.RpcError) and "FAULTED" in str(error)


async def test_a_fault_is_raised_before_the_events_buffered_ahead_of_it() -> None:
    runtime = RuntimeConfig(first_value_delay=0.01, event_rate=FAST_EVENTS)
    # a window that holds all that is sent here: the gateway's trailers are not held up
    async with SimServer(sim_config(runtime)) as sim, streaming(
            sim, stream_window_bytes=4 * 1024 * 1024) as (session, events):
        gateway = sim.runtime.find(session.id)
        assert gateway is not None
        await eventually(lambda: gateway.events.sequence >= 300, timeout=30)
        assert sim.runtime.fault_session(session.id, "test")
        await eventually(lambda: not gateway.events.subscribed, timeout=30)
        error = await failure_within(events, 100)
        assert "faulted" in str(error)
