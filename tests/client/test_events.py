"""Session.events(): resume after a lost connection, replay gaps, and closing streams."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest

import mxgw
from mxgw import EventStream, GatewayClient, Session, pb
from mxgw.sim import RuntimeConfig, SimServer
from mxgw.sim.event_log import EventLimits

from ..conftest import TEST_KEY, eventually, first_data_change
from .conftest import GatewayOpener

TAG = "TestMachine_001.TestInt"


def log_of(sim: SimServer, session: Session) -> mxgw.sim.event_log.EventLog:
    return sim.runtime.sessions[session.id].events


async def advised_item(session: Session, events: EventStream) -> tuple[int, int]:
    """Register, add and advise TAG; wait for its first value on `events`."""
    server = await session.register("events")
    item = await session.add_item(server, TAG)
    await session.advise(server, item)
    await first_data_change(events, item)
    return server, item


def int_value(event: pb.MxEvent) -> int:
    """The integer a data change carries."""
    assert event.on_data_change is not None
    value = mxgw.from_mx_value(event.on_data_change.value)
    assert isinstance(value, int), value
    return value


class Collector:
    """Reads a stream in a task, keeping every event; its failure surfaces in `until`."""

    def __init__(self, events: EventStream) -> None:
        self.events = events
        self.received: list[pb.MxEvent] = []
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async for event in self.events:
            self.received.append(event)

    @property
    def sequences(self) -> list[int]:
        return [event.worker_sequence for event in self.received]

    def has_value(self, item: int, value: int) -> bool:
        """True once a data change of `item` carrying `value` has arrived."""
        return any(event.item_handle == item and event.on_data_change is not None
                   and int_value(event) == value for event in reversed(self.received))

    async def until(self, predicate: Callable[[], bool], what: str,
                    timeout: float = 30.0) -> None:
        """Wait until `predicate()` holds; the collector's own failure is raised as is."""
        try:
            await eventually(lambda: predicate() or self.task.done(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {what} within {timeout} s; "
                                 f"last sequences seen: {self.sequences[-8:]}") from None
        if not predicate():
            self.task.result()  # raises what ended the stream
            raise AssertionError(f"the event stream ended before {what}")

    async def stop(self) -> None:
        """End the task, re-raising whatever it failed with.

        (It is cancelled rather than left to `events.aclose()`: after a resume that would
        leak a CancelledError; see test_aclose_from_another_task_after_a_resume...)"""
        if self.task.done():
            self.task.result()
            return
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, 10)


@pytest.mark.parametrize("cut", ["drop", "goaway"])
async def test_events_resume_after_the_connection_is_cut_with_nothing_lost_or_repeated(
    sim: SimServer, session: Session, cut: str,
) -> None:
    log = log_of(sim, session)
    async with session.events() as events:
        server, item = await advised_item(session, events)
        first_sequence = events.last_sequence
        collector = Collector(events)
        value = 10_000
        # (one GOAWAY round only: a second one used to leave a ghost subscriber attached in
        # the simulator, so every resume got ALREADY_EXISTS; three rounds pass since
        # mxgw/sim/closing_streams.py closes server streams explicitly)
        for round_ in range(1, 4 if cut == "drop" else 2):
            for _ in range(5):
                value += 1
                await session.write(server, item, value)
            # The data change of the last value written is the last event those writes
            # make: once it is here the gateway is quiet and the stream caught up.
            await collector.until(lambda v=value: collector.has_value(item, v),  # type: ignore[misc]
                                  f"data change to {value}")
            assert collector.sequences[-1] == log.sequence
            if cut == "drop":
                assert await sim.drop_connections() >= 1
            else:
                assert await sim.send_goaway(close_after=0.05) >= 1
            # A unary call is never retried (a write is not idempotent): wait until the
            # stream has noticed and reconnected before writing again.
            await collector.until(lambda r=round_: events.resumes >= r,  # type: ignore[misc]
                                  f"resume {round_}")
            for _ in range(3):  # events made around the resume
                value += 1
                await session.write(server, item, value)
        await collector.until(lambda: collector.has_value(item, value),
                              f"data change to {value}")
        await collector.stop()
    writes = value - 10_000
    assert events.resumes >= round_
    # Every event the gateway numbered reached the client once, in order. (EventLog
    # numbers what it emits 1, 2, 3...: its last sequence says what it emitted.)
    assert collector.sequences == list(range(first_sequence + 1, log.sequence + 1))
    completes = [e for e in collector.received if e.on_write_complete is not None]
    assert len(completes) == writes  # one OnWriteComplete per write, never merged
    # Data changes may be fewer than writes: two writes that complete before the advise
    # loop wakes make one OnDataChange (as in MXAccess). They never go back, and the last
    # event of all is the data change of the last value written.
    changes = [int_value(e) for e in collector.received if e.on_data_change is not None]
    assert 1 <= len(changes) <= writes and len(changes) + len(completes) == len(collector.received)
    assert changes == sorted(set(changes)) and changes[-1] == value
    assert collector.received[-1].on_data_change is not None


async def test_a_replay_gap_raises_replay_gap_error_with_the_gap(
    open_gateway: GatewayOpener,
) -> None:
    limits = EventLimits(replay_capacity=4, queue_capacity=5)
    sim, session = await open_gateway(RuntimeConfig(first_value_delay=0.01, events=limits))
    async with session.events() as events:
        server, item = await advised_item(session, events)
        seen = events.last_sequence
        await sim.drop_connections()
        await eventually(lambda: not log_of(sim, session).subscribed)
        for value in range(10):  # ~20 events, more than the gateway keeps
            await session.write(server, item, 100_000 + value)
        await eventually(lambda: log_of(sim, session).sequence >= seen + 10)
        with pytest.raises(mxgw.ReplayGapError) as caught:
            await events.__anext__()
        assert events.closed
    requested, oldest = caught.value.gap
    assert requested == seen
    assert seen + 1 < oldest <= log_of(sim, session).sequence - 4  # the queue keeps 5
    # The session is still usable: a fresh stream delivers new events.
    async with session.events() as fresh:
        await session.write(server, item, 99)
        event = await asyncio.wait_for(fresh.__anext__(), 10)
    assert event.worker_sequence > oldest


async def _consume_forever(events: EventStream, started: asyncio.Event) -> None:
    async with events:
        async for _ in events:
            started.set()


async def test_cancelling_the_consumer_closes_the_stream_and_the_session_stays_usable(
    sim: SimServer, session: Session,
) -> None:
    server = await session.register("c")
    item = await session.add_item(server, TAG)
    await session.advise(server, item)
    started = asyncio.Event()
    task = asyncio.get_running_loop().create_task(_consume_forever(session.events(), started))
    await asyncio.wait_for(started.wait(), 10)
    assert log_of(sim, session).subscribed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: not log_of(sim, session).subscribed)  # the gateway saw it end
    assert sim.connection_count == 1  # the stream was reset, not the connection
    await _new_stream_works(session, server, item)


async def _new_stream_works(session: Session, server: int, item: int) -> None:
    async with session.events() as events:
        await session.write(server, item, 7)
        event = await asyncio.wait_for(events.__anext__(), 10)
    assert event.worker_sequence > 0


async def _break_bare(session: Session) -> None:
    async for _ in session.events():
        break


async def _break_in_async_with(session: Session) -> None:
    async with session.events() as events:
        async for _ in events:
            break


async def _break_raw(session: Session) -> None:
    async for _ in session.client.stream_events_raw(session.id):
        break


@pytest.mark.parametrize("leave", [_break_bare, _break_in_async_with, _break_raw])
async def test_breaking_out_of_the_loop_closes_the_stream(
    sim: SimServer, session: Session, leave: Callable[[Session], Awaitable[None]],
) -> None:
    server = await session.register("b")
    item = await session.add_item(server, TAG)
    await session.advise(server, item)
    await asyncio.wait_for(leave(session), 10)
    await eventually(lambda: not log_of(sim, session).subscribed)
    await _new_stream_works(session, server, item)


async def test_a_new_stream_on_the_session_supersedes_an_abandoned_one(
    sim: SimServer, session: Session,
) -> None:
    server = await session.register("s")
    item = await session.add_item(server, TAG)
    await session.advise(server, item)
    first = session.events()
    await asyncio.wait_for(first.__anext__(), 10)  # open, then abandoned without closing
    second = session.events()
    await session.write(server, item, 5)
    event = await asyncio.wait_for(second.__anext__(), 10)
    assert first.closed and not second.closed
    assert event.worker_sequence > first.last_sequence
    await second.aclose()
    await eventually(lambda: not log_of(sim, session).subscribed)


async def test_a_real_second_subscriber_gets_already_exists(
    client: GatewayClient, session: Session,
) -> None:
    server = await session.register("x")
    item = await session.add_item(server, TAG)
    await session.advise(server, item)
    async with session.events() as events:
        await asyncio.wait_for(events.__anext__(), 10)
        other = client.session(session.id)  # another Session object: another subscriber
        with pytest.raises(mxgw.AlreadyExistsError):
            async with other.events() as second:
                await asyncio.wait_for(second.__anext__(), 10)


async def test_a_faulted_session_ends_the_stream_with_a_typed_error(
    sim: SimServer, session: Session,
) -> None:
    async with session.events() as events:
        await advised_item(session, events)
        assert sim.runtime.fault_session(session.id)
        with pytest.raises(mxgw.RpcError) as caught:
            while True:
                await asyncio.wait_for(events.__anext__(), 10)
    assert caught.value.status_name in ("ABORTED", "FAILED_PRECONDITION")
    with pytest.raises(mxgw.SessionNotReadyError):
        await session.register("after")


async def test_events_of_an_unknown_session_are_not_found(client: GatewayClient) -> None:
    with pytest.raises(mxgw.NotFoundError):
        async with client.session("session-" + "0" * 32).events() as events:
            await asyncio.wait_for(events.__anext__(), 10)


async def test_aclose_from_another_task_ends_the_readers_loop(
    sim: SimServer, session: Session,
) -> None:
    server = await session.register("a")
    item = await session.add_item(server, TAG)
    await session.advise(server, item)
    events = session.events()
    started = asyncio.Event()
    received: list[int] = []

    async def reader() -> str:
        async for event in events:
            received.append(event.worker_sequence)
            started.set()
        return "loop ended"

    task = asyncio.get_running_loop().create_task(reader())
    await asyncio.wait_for(started.wait(), 10)
    await events.aclose()  # while the reader waits for the next event
    assert await asyncio.wait_for(task, 10) == "loop ended"
    await eventually(lambda: not log_of(sim, session).subscribed)
    await _new_stream_works(session, server, item)


async def test_aclose_from_another_task_after_a_resume_ends_the_readers_loop(
    sim: SimServer, session: Session,
) -> None:
    server = await session.register("a")
    item = await session.add_item(server, TAG)
    await session.advise(server, item)
    events = session.events()
    received: list[int] = []

    async def reader() -> str:
        try:
            async for event in events:
                received.append(event.worker_sequence)
        except asyncio.CancelledError:
            return "CancelledError"
        return "loop ended"

    task = asyncio.get_running_loop().create_task(reader())
    await eventually(lambda: len(received) == 1 or task.done())
    assert await sim.drop_connections() == 1
    await eventually(lambda: events.resumes == 1 or task.done())
    await session.write(server, item, 5)
    await eventually(lambda: len(received) >= 2 or task.done())  # reads the resumed stream
    assert not task.done(), task.result()
    await events.aclose()  # while the reader waits for the next event
    assert await asyncio.wait_for(task, 10) == "loop ended"


async def test_closing_the_client_ends_the_loop_without_reconnecting(sim: SimServer) -> None:
    client = await GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True)
    session = await client.open_session()
    server = await session.register("c")
    item = await session.add_item(server, TAG)
    await session.advise(server, item)
    received: list[int] = []
    started = asyncio.Event()

    async def reader() -> None:
        async with session.events() as events:
            async for event in events:
                received.append(event.worker_sequence)
                started.set()

    task = asyncio.get_running_loop().create_task(reader())
    await asyncio.wait_for(started.wait(), 10)
    await client.close()
    await asyncio.wait_for(task, 10)  # ends quietly
    await eventually(lambda: sim.connection_count == 0)
    with pytest.raises(mxgw.ConfigurationError, match="closed"):
        await session.events().__anext__()
    with pytest.raises(mxgw.ConfigurationError, match=">= 0"):
        session.events(after_worker_sequence=-1)


async def test_a_bare_async_for_left_with_break_is_superseded_every_time(
    open_gateway: GatewayOpener,
) -> None:
    """No `async with`, no aclose(): the abandoned stream is reset by its finalizer, and
    the next stream on the Session waits that out instead of raising ALREADY_EXISTS
    (it did every other time while events kept coming)."""
    sim, session = await open_gateway(RuntimeConfig(first_value_delay=0.01, event_rate=20))
    server = await session.register("bare")
    await session.subscribe_bulk(server, ["TestMachine_001.TestChangingInt"])
    seen: list[int] = []
    for _ in range(6):
        async for event in session.events():
            seen.append(event.worker_sequence)
            break
    assert seen == sorted(set(seen)) and len(seen) == 6  # each carried on, none repeated
    await eventually(lambda: not log_of(sim, session).subscribed)


async def test_a_fresh_session_object_after_a_bare_break_on_another_opens_its_stream(
    open_gateway: GatewayOpener,
) -> None:
    """`client.session(id)` made afresh for each stream, each left with a bare break:
    the gateway may still see the abandoned stream when the next one opens, which waits
    that out instead of raising ALREADY_EXISTS (a stream of ours still open on another
    Session object is a real second subscriber: see the test above)."""
    sim, session = await open_gateway(RuntimeConfig(first_value_delay=0.01, event_rate=20))
    server = await session.register("fresh")
    await session.subscribe_bulk(server, ["TestMachine_001.TestChangingInt"])
    opened = 0
    for _ in range(6):
        async for _event in session.client.session(session.id).events():
            opened += 1
            break
    assert opened == 6
    await eventually(lambda: not log_of(sim, session).subscribed)
