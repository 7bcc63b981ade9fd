"""Durable sessions: events across dropped connections, GOAWAY, faulted and closed
sessions, replay gaps and a gateway process killed and restarted on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import pytest

import mxgw
from mxgw import DurableSession, EventsLost, GatewayClient, SessionReplaced, pb
from mxgw.durable import DurableEvent, DurableState
from mxgw.sim import RuntimeConfig, SimServer
from mxgw.sim.event_log import EventLimits, EventLog

from ..conftest import ROOT, TEST_KEY, eventually, sim_config

TAG = "TestMachine_001.TestInt"
CHANGING = [f"TestMachine_00{n}.TestChangingInt" for n in range(1, 7)]
QUICK: dict[str, Any] = {"backoff": 0.02, "max_backoff": 0.2}
"""Small backoffs: a test's outage is over in milliseconds."""


MarkerT = TypeVar("MarkerT", SessionReplaced, EventsLost)


def int_value(event: DurableEvent) -> int | None:
    """The integer a data change carries (None for anything else)."""
    if not isinstance(event, pb.MxEvent) or event.on_data_change is None:
        return None
    value = mxgw.from_mx_value(event.on_data_change.value)
    return value if isinstance(value, int) else None


class Reader:
    """Reads a durable stream in a task, keeping events and markers in order."""

    def __init__(self, durable: DurableSession) -> None:
        self.durable = durable
        self.events = durable.events()
        self.received: list[DurableEvent] = []
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async with self.events:
            async for event in self.events:
                self.received.append(event)

    def markers(self, kind: type[MarkerT]) -> list[MarkerT]:
        return [e for e in self.received if isinstance(e, kind)]

    def session_events(self, session_id: str) -> list[pb.MxEvent]:
        return [e for e in self.received
                if isinstance(e, pb.MxEvent) and e.session_id == session_id]

    def has_value(self, item: int, value: int) -> bool:
        return any(isinstance(e, pb.MxEvent) and e.item_handle == item
                   and int_value(e) == value for e in reversed(self.received))

    async def until(self, predicate: Callable[[], bool], what: str,
                    timeout: float = 30.0) -> None:
        """Wait for `predicate`; the reader's own failure is raised as is."""
        try:
            await eventually(lambda: predicate() or self.task.done(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {what} within {timeout} s; health: "
                                 f"{self.durable.health()}") from None
        if not predicate():
            self.task.result()
            raise AssertionError(f"the durable stream ended before {what}")

    async def stop(self) -> None:
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, 10)


@contextlib.asynccontextmanager
async def durable_on(sim: SimServer, **options: Any) -> AsyncIterator[DurableSession]:
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as client:
        durable = await client.durable_session("durable", **{**QUICK, **options})
        try:
            yield durable
        finally:
            await durable.close()


def log_of(sim: SimServer, session_id: str) -> EventLog:
    return sim.runtime.sessions[session_id].events


def contiguous(events: list[pb.MxEvent], first: int, last: int) -> bool:
    return [e.worker_sequence for e in events] == list(range(first, last + 1))


# ---------------------------------------------------------------------- connection loss

@pytest.mark.parametrize("cut", ["drop", "goaway"])
async def test_a_storm_of_cut_connections_loses_and_repeats_nothing(cut: str) -> None:
    """Events flow on their own (six changing tags) while the connection is cut every
    50 ms: the reader gets exactly what the gateway numbered, in order, no marker."""
    runtime = RuntimeConfig(first_value_delay=0.01, event_rate=40)
    async with SimServer(sim_config(runtime)) as sim, durable_on(sim) as durable:
        server = await durable.register("storm")
        await durable.subscribe_bulk(server, CHANGING)
        reader = Reader(durable)
        session_id = durable.id
        await reader.until(lambda: len(reader.received) >= 20, "the first events")
        for _ in range(12):
            if cut == "drop":
                await sim.drop_connections()
            else:
                await sim.send_goaway(close_after=0.02)
            await asyncio.sleep(0.05)  # the storm's rhythm, not a wait for a condition
        await reader.until(lambda: durable.health().reconnects >= 3, "reconnects")
        emitted = log_of(sim, session_id).sequence + 30
        await reader.until(lambda: len(reader.received) >= emitted, f"{emitted} events")
        await reader.stop()
    events = reader.session_events(session_id)
    assert len(events) == len(reader.received)  # no marker: the session was never lost
    assert contiguous(events, 1, events[-1].worker_sequence)  # none lost, none repeated
    health = durable.health()
    assert health.replacements == 0 and health.state is DurableState.CLOSED


async def test_after_a_drop_writes_between_drops_all_arrive_and_health_counts_reconnects(
) -> None:
    async with SimServer(sim_config()) as sim, durable_on(sim) as durable:
        server = await durable.register("drops")
        item = await durable.add_item(server, TAG)
        await durable.advise(server, item)
        reader = Reader(durable)
        session_id = durable.id
        assert durable.state is DurableState.CONNECTED
        await reader.until(lambda: bool(reader.received), "the first value")
        value = 1000
        for round_ in range(1, 4):
            for _ in range(3):
                value += 1
                await durable.write(server, item, value)
            await reader.until(lambda v=value: reader.has_value(item, v),  # type: ignore[misc]
                               f"data change to {value}")
            assert await sim.drop_connections() >= 1
            await reader.until(lambda r=round_: durable.health().reconnects >= r,  # type: ignore[misc]
                               f"reconnect {round_}")
        await reader.until(lambda: log_of(sim, session_id).subscribed, "the stream back")
        value += 1
        await durable.write(server, item, value)
        await reader.until(lambda: reader.has_value(item, value), "the last data change")
        health = durable.health()
        await reader.stop()
    assert contiguous(reader.session_events(session_id), 1, log_of_last(reader))
    assert health.state is DurableState.CONNECTED and health.reconnects == 3
    assert health.replacements == 0 and health.failures == 0
    assert health.last_error is not None and "ConnectionLost" in health.last_error
    assert health.last_event_at is not None
    json.dumps(health.as_dict())  # exportable as is


def log_of_last(reader: Reader) -> int:
    last = reader.received[-1]
    assert isinstance(last, pb.MxEvent)
    return last.worker_sequence


# ---------------------------------------------------------------------- session loss

@pytest.mark.parametrize("loss", ["fault", "close"])
async def test_a_lost_session_is_replaced_once_and_handles_keep_working(loss: str) -> None:
    async with SimServer(sim_config()) as sim, durable_on(sim) as durable:
        server = await durable.register("lost")
        first = await durable.add_item(server, "TestMachine_001.TestInt")
        gone = await durable.add_item(server, "TestMachine_002.TestInt")
        kept = await durable.add_item(server, "TestMachine_003.TestInt")
        await durable.remove_item(server, gone)  # the new session numbers items 1, 2
        await durable.advise(server, first)
        await durable.advise(server, kept)
        reader = Reader(durable)
        await reader.until(lambda: len(reader.received) >= 2, "the first values")
        await durable.write(server, kept, 11)
        await reader.until(lambda: reader.has_value(kept, 11), "data change to 11")
        old_id = durable.id
        if loss == "fault":
            assert sim.runtime.fault_session(old_id)
        else:
            sim.runtime.close_session(old_id, "closed by an operator")
        await reader.until(lambda: bool(reader.markers(SessionReplaced)), "the marker")
        marker = reader.markers(SessionReplaced)[0]
        new_id = durable.id
        # MXAccess refuses writes to an item before its first value: wait for both.
        await reader.until(lambda: len(reader.session_events(new_id)) >= 2, "first values")
        # Every later change arrives, in the handles the caller already had.
        for value in (21, 22, 23):
            await durable.write(server, kept, value)
            await reader.until(lambda v=value: reader.has_value(kept, v),  # type: ignore[misc]
                               f"data change to {value}")
        await durable.write(server, first, 5)
        await reader.until(lambda: reader.has_value(first, 5), "data change of the first")
        new_items = {h: i.reference for h, i in sim.runtime.sessions[new_id].items.items()}
        await reader.stop()
    assert len(reader.markers(SessionReplaced)) == 1
    assert (marker.old_session_id, marker.new_session_id) == (old_id, new_id)
    assert old_id != new_id
    assert marker.server_handles == {1: 1}
    assert marker.item_handles == {first: 1, kept: 2}  # the gateway's handles, old -> new
    assert new_items == {1: "TestMachine_001.TestInt", 2: "TestMachine_003.TestInt"}
    assert marker.unrestored_items == ()
    assert old_id not in sim.runtime.sessions  # a faulted session is closed, not leaked
    index = reader.received.index(marker)
    before, after = reader.received[:index], reader.received[index + 1:]
    assert all(isinstance(e, pb.MxEvent) and e.session_id == old_id for e in before)
    assert all(isinstance(e, pb.MxEvent) and e.session_id == new_id for e in after)
    assert contiguous([e for e in before if isinstance(e, pb.MxEvent)], 1, marker.last_sequence)
    new_events = [e for e in after if isinstance(e, pb.MxEvent)]
    assert contiguous(new_events, 1, new_events[-1].worker_sequence)
    # The fresh snapshot: each advised item's first value in the new session.
    firsts = {e.item_handle for e in new_events[:2]}
    assert firsts == {first, kept} and {e.server_handle for e in new_events} == {server}
    assert durable.health().replacements == 1


async def test_handles_stay_valid_across_two_replacements() -> None:
    """The gateway renumbers (an item removed before, one added between replacements):
    each of the caller's handles keeps meaning its item, in commands and in events."""
    async with SimServer(sim_config()) as sim, durable_on(sim) as durable:
        server = await durable.register("twice")
        tags = [f"TestMachine_00{n}.TestInt" for n in range(1, 5)]
        results = await durable.subscribe_bulk(server, tags[:3])
        first, second, third = (r.item_handle for r in results)
        await durable.unsubscribe_bulk(server, [first])
        reader = Reader(durable)

        def valued(*items: int) -> Callable[[], bool]:
            """True once each item sent a value in the live session."""
            return lambda: set(items) <= {e.item_handle for e in reader.session_events(
                durable.id) if e.on_data_change is not None}

        await reader.until(valued(second, third), "the first values")
        sim.runtime.fault_session(durable.id)
        await reader.until(lambda: len(reader.markers(SessionReplaced)) == 1, "replacement")
        await reader.until(valued(second, third), "the snapshot")
        fourth = await durable.add_item(server, tags[3])  # the gateway's 3; the caller's 4
        await durable.advise(server, fourth)
        await reader.until(valued(fourth), "its first value")
        sim.runtime.fault_session(durable.id)
        await reader.until(lambda: len(reader.markers(SessionReplaced)) == 2, "replacement 2")
        await reader.until(valued(second, third, fourth), "the second snapshot")
        live = {h: i.reference for h, i in sim.runtime.sessions[durable.id].items.items()}
        for handle, value in ((second, 12), (third, 13), (fourth, 14)):
            await durable.write(server, handle, value)
            await reader.until(lambda h=handle, v=value: reader.has_value(h, v),  # type: ignore[misc]
                               f"data change to {value}")
        await reader.stop()
    assert (second, third, fourth) == (2, 3, 4)
    assert live == {1: tags[1], 2: tags[2], 3: tags[3]}
    last = reader.markers(SessionReplaced)[-1]
    assert last.item_handles == {1: 1, 2: 2, 3: 3}  # the gateway's, old -> new
    events = reader.session_events(durable.id)
    assert {e.item_handle for e in events} == {second, third, fourth}


async def test_a_session_closed_after_the_detach_grace_is_replaced() -> None:
    runtime = RuntimeConfig(first_value_delay=0.01, detach_grace_seconds=0.2)
    async with SimServer(sim_config(runtime)) as sim, durable_on(sim) as durable:
        server = await durable.register("grace")
        [result] = await durable.subscribe_bulk(server, [TAG])
        events = durable.events()
        await asyncio.wait_for(events.__anext__(), 10)
        old_id = durable.id
        await sim.drop_connections()  # and nobody reads for longer than the grace
        await eventually(lambda: old_id not in sim.runtime.sessions)
        marker = await asyncio.wait_for(events.__anext__(), 10)
        first = await asyncio.wait_for(events.__anext__(), 10)
        await events.aclose()
    assert isinstance(marker, SessionReplaced) and marker.old_session_id == old_id
    assert "detach-grace-expired" in marker.reason
    assert isinstance(first, pb.MxEvent) and first.item_handle == result.item_handle


async def test_commands_while_the_session_is_replaced_raise_session_lost() -> None:
    async with SimServer(sim_config()) as sim, durable_on(sim) as durable:
        server = await durable.register("replacing")
        item = await durable.add_item(server, TAG)
        await durable.advise(server, item)
        reader = Reader(durable)
        await reader.until(lambda: bool(reader.received), "the first value")
        sim.faults.latency_ms = 400  # every call of the replay takes a while
        sim.runtime.fault_session(durable.id)
        await reader.until(lambda: durable.state is DurableState.REPLACING, "replacing")
        with pytest.raises(mxgw.SessionLostError) as caught:
            await durable.write(server, item, 1)
        with pytest.raises(mxgw.SessionLostError):
            await durable.add_item(server, "TestMachine_002.TestInt")
        assert "nothing was sent" in str(caught.value)
        await reader.until(lambda: durable.state is DurableState.CONNECTED, "the new session")
        sim.faults.latency_ms = 0
        await reader.until(lambda: bool(reader.session_events(durable.id)), "the snapshot")
        await durable.write(server, item, 2)
        await reader.until(lambda: reader.has_value(item, 2), "the write after")
        await reader.stop()


async def test_a_replay_gap_yields_events_lost_then_every_items_current_value() -> None:
    limits = EventLimits(replay_capacity=4, queue_capacity=5)
    runtime = RuntimeConfig(first_value_delay=0.01, events=limits)
    async with SimServer(sim_config(runtime)) as sim, durable_on(sim) as durable:
        server = await durable.register("gap")
        quiet = await durable.add_item(server, "TestMachine_002.TestInt")
        busy = await durable.add_item(server, TAG)
        await durable.advise_item_bulk(server, [quiet, busy])
        events = durable.events()
        seen: list[DurableEvent] = []
        while len(seen) < 2:
            seen.append(await asyncio.wait_for(events.__anext__(), 10))
        await durable.write(server, quiet, 77)
        while not any(int_value(e) == 77 for e in seen):
            seen.append(await asyncio.wait_for(events.__anext__(), 10))
        session_id = durable.id
        await sim.drop_connections()  # nobody reads meanwhile: the gateway queues
        await eventually(lambda: not log_of(sim, session_id).subscribed)
        for value in range(10):  # ~20 events, more than the gateway keeps
            await durable.write(server, busy, 500 + value)
        await eventually(lambda: log_of(sim, session_id).sequence >= len(seen) + 10)
        after: list[DurableEvent] = []
        while not (any(int_value(e) == 77 for e in after)
                   and any(int_value(e) == 509 for e in after)):
            after.append(await asyncio.wait_for(events.__anext__(), 10))
        await events.aclose()
    last_seen = seen[-1]
    assert isinstance(after[0], EventsLost) and isinstance(last_seen, pb.MxEvent)
    assert after[0].session_id == session_id
    assert after[0].after_sequence == last_seen.worker_sequence
    # The quiet item's change (77) was delivered before the gap; its value comes again
    # after it only because it was advised again: the fresh snapshot.
    again = [e for e in after if isinstance(e, pb.MxEvent) and e.item_handle == quiet]
    assert again and int_value(again[0]) == 77
    assert not any(isinstance(e, SessionReplaced) for e in after)
    assert durable.health().replacements == 0


# ---------------------------------------------------------------------- the process

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_gateway(port: int) -> asyncio.subprocess.Process:
    """`mxgw sim` as a child process on `port`, once it serves (read without blocking the
    loop: the durable session keeps retrying meanwhile)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "sim", "--port", str(port), "--plaintext",
        "--api-key", TEST_KEY, "--json", "--first-value-delay", "0.02",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 30)
    assert json.loads(line)["endpoint"] == f"127.0.0.1:{port}", line
    return child


@contextlib.asynccontextmanager
async def gateway_process(port: int) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    children = [await start_gateway(port)]
    try:
        yield children
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
            await asyncio.wait_for(child.wait(), 10)


async def test_the_gateway_killed_and_restarted_on_the_same_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    async with gateway_process(port) as children:
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(GatewayClient.connect(
                f"127.0.0.1:{port}", api_key=TEST_KEY, plaintext=True, timeout=10))
            durable = await client.durable_session("killed", **QUICK)
            stack.push_async_callback(durable.close)
            server = await durable.register("killed")
            [result] = await durable.subscribe_bulk(server, [TAG])
            item = result.item_handle
            reader = Reader(durable)
            await reader.until(lambda: bool(reader.received), "the first value")
            await durable.write(server, item, 1)
            await reader.until(lambda: reader.has_value(item, 1), "the first write")
            old_id = durable.id

            killed_at = time.monotonic()
            children[0].send_signal(signal.SIGKILL)
            await asyncio.wait_for(children[0].wait(), 10)
            await reader.until(lambda: durable.state is DurableState.RECONNECTING,
                               "reconnecting")
            detected = time.monotonic() - killed_at
            with pytest.raises(mxgw.TransportError):  # a write in the outage: typed, not retried
                await durable.write(server, item, 2)
            await reader.until(lambda: durable.health().failures >= 2, "failed attempts")
            assert durable.state is DurableState.RECONNECTING  # refused: not given up

            children.append(await start_gateway(port))
            restarted_at = time.monotonic()
            await reader.until(lambda: bool(reader.markers(SessionReplaced)), "the marker")
            replaced = time.monotonic() - restarted_at
            await reader.until(lambda: bool(reader.session_events(durable.id)), "the snapshot")
            for value in (3, 4, 5):
                await durable.write(server, item, value)
                await reader.until(lambda v=value: reader.has_value(item, v),  # type: ignore[misc]
                                   f"data change to {value}")
            health = durable.health()
            await reader.stop()
    [marker] = reader.markers(SessionReplaced)
    assert marker.old_session_id == old_id and marker.new_session_id == health.session_id
    assert "NOT_FOUND" in marker.reason  # the restarted gateway does not know the session
    assert marker.item_handles == {item: item}
    index = reader.received.index(marker)
    before = [e for e in reader.received[:index] if isinstance(e, pb.MxEvent)]
    after = [e for e in reader.received[index + 1:] if isinstance(e, pb.MxEvent)]
    assert contiguous(before, 1, marker.last_sequence)
    assert contiguous(after, 1, after[-1].worker_sequence)
    writes = [v for e in after if e.item_handle == item and (v := int_value(e)) is not None]
    assert writes[1:] == [3, 4, 5]  # the snapshot (the new process's value), each change
    assert health.replacements == 1 and health.state is DurableState.CONNECTED
    with capsys.disabled():
        print(f"\n[durable] kill -> reconnecting {detected:.2f} s; restart -> "
              f"SessionReplaced {replaced:.2f} s; events before the kill "
              f"{len(before)} (0 lost), after {len(after)}")


# ---------------------------------------------------------------------- closing, limits

async def test_close_during_an_outage_is_prompt_and_ends_the_reader() -> None:
    sim = await SimServer(sim_config()).start()
    async with durable_on(sim, backoff=1.0, max_backoff=5.0) as durable:
        server = await durable.register("close")
        await durable.subscribe_bulk(server, [TAG])
        reader = Reader(durable)
        await reader.until(lambda: bool(reader.received), "the first value")
        await sim.stop()  # its connections close, new ones are refused
        await reader.until(lambda: durable.health().failures >= 2, "a backoff wait")
        started = time.monotonic()
        await durable.close()
        closing = time.monotonic() - started
        await asyncio.wait_for(reader.task, 5)  # its loop ended (no exception)
        assert durable.state is DurableState.CLOSED and durable.closed
        assert closing < 1.0, closing
        with pytest.raises(mxgw.ConfigurationError):
            await durable.write(server, 1, 1)


async def test_close_while_streaming_closes_the_gateway_session_and_leaves_no_task() -> None:
    async with SimServer(sim_config()) as sim:
        baseline = asyncio.all_tasks()
        async with durable_on(sim) as durable:
            server = await durable.register("close")
            await durable.subscribe_bulk(server, [TAG])
            reader = Reader(durable)
            await reader.until(lambda: bool(reader.received), "the first value")
            session_id = durable.id
            await durable.close()
            await asyncio.wait_for(reader.task, 5)
            assert session_id not in sim.runtime.sessions
            assert sim.runtime.closed[session_id][1] == "closed-by-client"
        await eventually(lambda: sim.connection_count == 0)
        assert asyncio.all_tasks() <= baseline, asyncio.all_tasks() - baseline


async def test_cancelling_the_reader_leaves_the_durable_session_usable() -> None:
    async with SimServer(sim_config()) as sim, durable_on(sim) as durable:
        server = await durable.register("cancel")
        [result] = await durable.subscribe_bulk(server, [TAG])
        reader = Reader(durable)
        await reader.until(lambda: bool(reader.received), "the first value")
        await reader.stop()  # cancels the task inside __anext__
        await eventually(lambda: not log_of(sim, durable.id).subscribed)
        second = Reader(durable)
        await durable.write(server, result.item_handle, 9)
        await second.until(lambda: second.has_value(result.item_handle, 9), "the write")
        await second.stop()
        sequences = [e.worker_sequence for e in reader.received + second.received
                     if isinstance(e, pb.MxEvent)]
        assert sequences == list(range(1, len(sequences) + 1))  # carried on, no repeat


async def test_max_attempts_ends_the_stream_with_the_last_failure() -> None:
    sim = await SimServer(sim_config()).start()
    async with durable_on(sim, max_attempts=3) as durable:
        events = durable.events()
        await sim.stop()
        with pytest.raises(mxgw.TransportError):
            await asyncio.wait_for(events.__anext__(), 10)
        assert durable.health().failures == 3


async def test_an_outage_after_a_long_lived_stream_backs_off_until_max_attempts() -> None:
    """A stream that lived longer than max_backoff starts the count afresh once: the
    refused attempts after it count up in health() (each waiting longer) until
    max_attempts ends the stream, instead of each starting over at once, forever."""
    sim = await SimServer(sim_config()).start()
    async with durable_on(sim, max_attempts=4) as durable:
        server = await durable.register("long-lived")
        await durable.subscribe_bulk(server, [TAG])
        reader = Reader(durable)
        await reader.until(lambda: bool(reader.received), "the first value")
        streaming = time.monotonic()  # the stream was opened before its first value
        # the condition itself is an age: the stream has outlived the backoff cap
        await eventually(lambda: time.monotonic() - streaming > QUICK["max_backoff"])
        await sim.stop()
        await reader.until(lambda: durable.health().failures >= 2, "failed attempts", 10)
        with pytest.raises(mxgw.ConnectError):  # the last failure: the gateway refuses
            await asyncio.wait_for(reader.task, 10)
        health = durable.health()
    assert health.state is DurableState.RECONNECTING and health.failures == 4


async def test_a_wrong_key_fails_at_once() -> None:
    async with SimServer(sim_config()) as sim, GatewayClient.connect(
            sim.endpoint, api_key="mxgw_test_wrongKEYwrongKEY", plaintext=True) as client:
        with pytest.raises(mxgw.UnauthenticatedError):
            await asyncio.wait_for(client.durable_session("wrong"), 10)
