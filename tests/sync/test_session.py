"""The blocking facade against a simulator in another process: connect, a session's
commands and bulks, events with a plain `for`, and what closing a stream leaves."""

from __future__ import annotations

import asyncio

import pytest

import mxgw
import mxgw.sync
from mxgw import WriteItem, from_mx_value, pb

from ..conftest import TEST_KEY
from .conftest import Gateway

INT, TEXT = "TestMachine_001.TestInt", "TestMachine_001.TestString"
CHANGING = "TestMachine_001.TestChangingInt"


def first_values(events: mxgw.sync.Events, count: int) -> dict[int, pb.MxEvent]:
    """Read until `count` items have sent a data change; the last event of each."""
    seen: dict[int, pb.MxEvent] = {}
    for event in events:
        if event.on_data_change is not None:
            seen[event.item_handle] = event
            if len(seen) == count:
                return seen
    raise AssertionError(f"the stream ended after {len(seen)} of {count} first values "
                         f"(timed out: {events.timed_out})")


def test_a_session_subscribes_writes_and_reads_without_await(
        session: mxgw.sync.Session) -> None:
    server = session.register("sync-test")
    assert isinstance(server, int) and server > 0
    subscribed = session.subscribe_bulk(server, [INT, TEXT])
    handles = {r.tag_address: r.item_handle for r in subscribed}
    assert all(r.was_successful for r in subscribed) and len(handles) == 2
    with session.events(timeout=10) as events:
        firsts = first_values(events, 2)
        assert set(firsts) == set(handles.values())
        session.write(server, handles[INT], 42)
        results = session.write_bulk(server, [(handles[INT], 7),
                                              WriteItem(handles[TEXT], "sync text")])
        assert [r.was_successful for r in results] == [True, True]
        completions = 0
        for event in events:
            if event.on_write_complete is not None:
                completions += 1
                if completions == 3:
                    break
        assert completions == 3
        assert not events.closed  # like a file: a `for` loop's break leaves it open
    assert events.closed  # the `with` block closed it
    read = session.read_bulk(server, [INT, TEXT], timeout_ms=2000)
    assert [from_mx_value(r.value) for r in read] == [7, "sync text"]
    assert session.close().protocol_status is not None
    with pytest.raises(mxgw.SessionNotFoundError):
        session.register("after close")


def test_a_stream_dropped_after_break_is_closed_and_the_session_carries_on(
        session: mxgw.sync.Session) -> None:
    server = session.register("sync-test")
    item = session.add_item(server, CHANGING)
    session.advise(server, item)
    for event in session.events(timeout=10):
        if event.on_data_change is not None:
            break
    stopped_at = event.worker_sequence
    assert stopped_at > 0
    # The next stream carries on right after the last event delivered: one session
    # subscriber at a time, so the first stream must be gone for this one to read.
    again = session.events(timeout=10)
    following = next(again)
    assert following.worker_sequence == stopped_at + 1
    assert again.resumes == 0 and not again.closed  # next() leaves it open
    again.close()
    assert again.closed and list(again) == []
    assert session.unadvise(server, item).protocol_status is not None


def test_the_timeout_ends_the_iteration_when_no_event_comes(
        session: mxgw.sync.Session) -> None:
    server = session.register("sync-test")  # nothing advised yet: no event comes
    events = session.events(timeout=0.3)
    assert list(events) == []
    assert events.timed_out and not events.closed
    session.advise(server, session.add_item(server, INT))
    first = next(events)  # the same stream goes on
    assert first.on_data_change is not None and not events.timed_out
    events.close()
    with pytest.raises(mxgw.ConfigurationError, match="timeout"):
        session.events(timeout=0)


def test_connect_reads_the_upstream_variables(gateway: Gateway,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MXGATEWAY_ENDPOINT", "MXGATEWAY_API_KEY", "MXGATEWAY_PLAINTEXT"):
        monkeypatch.setenv(name, gateway.env[name])
    with mxgw.sync.connect() as client:
        assert client.options.endpoint == gateway.endpoint and client.options.plaintext
        reply = client.open_session_raw("from-env")
        assert reply.session_id
        assert client.close_session_raw(reply.session_id).protocol_status is not None
    assert client.closed


def test_connect_failures_are_the_async_errors(gateway: Gateway) -> None:
    with pytest.raises(mxgw.ConfigurationError):
        mxgw.sync.connect(gateway.endpoint, api_key=TEST_KEY, plaintext=True, timeout=-1)
    with pytest.raises(mxgw.UnauthenticatedError):
        with mxgw.sync.connect(gateway.endpoint, api_key="mxgw_wrong_key",
                               plaintext=True) as client:
            client.open_session("wrong key")
    host = gateway.endpoint.rpartition(":")[0]
    with pytest.raises(mxgw.ConnectError):
        mxgw.sync.connect(f"{host}:1", api_key=TEST_KEY, plaintext=True, connect_timeout=5)


def test_a_closed_client_says_so(gateway: Gateway) -> None:
    client = mxgw.sync.connect(gateway.endpoint, api_key=TEST_KEY, plaintext=True)
    session = client.open_session("closing")
    events = session.events()
    client.close()
    client.close()  # idempotent
    assert client.closed and events.closed
    with pytest.raises(mxgw.ConfigurationError, match="closed"):
        session.register("after close")


def test_a_client_with_another_timeout_shares_the_connection(
        client: mxgw.sync.Client) -> None:
    quick = client.with_timeout(5)
    assert quick.options.timeout == 5
    quick.close()  # leaves the connection to its owner
    with client.open_session("still open") as session:
        assert session.register("x") > 0
    assert session.close_reply is not None


def test_inside_a_running_event_loop_every_call_says_to_use_the_async_api(
        client: mxgw.sync.Client, gateway: Gateway) -> None:
    async def from_async_code() -> None:
        with pytest.raises(mxgw.RunningLoopError, match="use the async API"):
            mxgw.sync.connect(gateway.endpoint, api_key=TEST_KEY, plaintext=True)
        with pytest.raises(mxgw.RunningLoopError):
            client.open_session("inside a loop")
        with pytest.raises(mxgw.RunningLoopError):
            next(events)
        with pytest.raises(mxgw.RunningLoopError):
            events.close()
        with pytest.raises(mxgw.RunningLoopError):
            client.close()

    with client.open_session("before") as session:
        events = session.events(timeout=10)
        asyncio.run(from_async_code())
        server = session.register("x")  # the client, session and stream were left intact
        session.advise(server, session.add_item(server, INT))
        assert next(events).on_data_change is not None and not events.closed
        events.close()
    assert not client.closed


def test_a_raw_stream_dropped_after_break_is_reset_at_once(
        client: mxgw.sync.Client, session: mxgw.sync.Session) -> None:
    server = session.register("sync-test")
    session.advise(server, session.add_item(server, CHANGING))
    held = client.stream_events_raw(session.id)
    first, second = next(held).worker_sequence, next(held).worker_sequence
    # The gateway streams a session's events to one subscriber: while one is open...
    with pytest.raises(mxgw.AlreadyExistsError):
        next(client.stream_events_raw(session.id, first))
    held.close()
    for _ in range(5):  # ...so each of these opened only because the last one was reset
        for event in client.stream_events_raw(session.id, first):  # replayed at once
            assert event.worker_sequence == second
            break


def test_a_durable_session_without_await(client: mxgw.sync.Client) -> None:
    with client.durable_session("sync-durable", max_attempts=2) as durable:
        server = durable.register("sync-durable")
        subscribed = durable.subscribe_bulk(server, [INT])
        assert [r.was_successful for r in subscribed] == [True]
        with durable.events(timeout=10) as events:
            first = next(events)
        assert isinstance(first, pb.MxEvent) and first.on_data_change is not None
        assert first.item_handle == subscribed[0].item_handle
        assert durable.health().state == mxgw.DurableState.CONNECTED
        assert durable.session.id == durable.id
    assert durable.closed
