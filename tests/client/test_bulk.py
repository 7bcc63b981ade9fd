"""The bulk family: validation before sending, splitting by count and size, ordered results."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest

import mxgw
from mxgw import GatewayClient, Session, WriteItem, pb
from mxgw.bulk import chunk_bounds
from mxgw.sim import RuntimeConfig

from ..conftest import TEST_KEY, first_data_change
from .conftest import GatewayOpener

MACHINES = [f"TestMachine_{n:03d}" for n in range(1, 7)]
INTS = [f"{m}.TestInt" for m in MACHINES]
STRINGS = [f"{m}.TestString" for m in MACHINES]


# ------------------------------------------------------------------ splitting (pure)

def test_chunks_respect_the_entry_count() -> None:
    spans = list(chunk_bounds([10] * 2500, 1000, 1 << 20))
    assert [len(s) for s in spans] == [1000, 1000, 500]
    assert [i for s in spans for i in s] == list(range(2500))


def test_chunks_respect_the_byte_budget() -> None:
    spans = list(chunk_bounds([1000] * 100, 1000, 10_512))
    assert all(sum(1000 for _ in s) <= 10_000 for s in spans)
    assert [i for s in spans for i in s] == list(range(100))


def test_an_entry_alone_over_the_budget_is_refused() -> None:
    with pytest.raises(mxgw.BulkEntryError) as caught:
        list(chunk_bounds([10, 20_000, 10], 1000, 10_512))
    assert caught.value.index == 1


# ------------------------------------------------------------------ bad input, nothing sent

@pytest.fixture
async def unreachable() -> AsyncIterator[Session]:
    """A session on a client whose gateway does not exist: any call that sends fails
    with ConnectError, so a BulkEntryError proves nothing was sent."""
    async with GatewayClient.connect("127.0.0.1:1", api_key=TEST_KEY, plaintext=True,
                                     eager=False) as c:
        yield c.session("session-" + "0" * 32)


NOW = dt.datetime.now(dt.timezone.utc)


@pytest.mark.parametrize(("call", "index", "message"), [
    (lambda s: s.write_bulk(1, [(1, 1), (2, math.nan)]), 1, "no MXAccess representation"),
    (lambda s: s.write_bulk(1, [(1, 1), (2, 2**40)], type_name="int32"), 1, "out of range"),
    (lambda s: s.write_bulk(1, [(0, 1)]), 0, "positive int32"),
    (lambda s: s.write_bulk(1, [(1, 1), (2, 2, 3)]), 1, "WriteItem"),
    (lambda s: s.write_bulk(1, [WriteItem(1, 1, user_id=-1)]), 0, "user_id"),
    (lambda s: s.write2_bulk(1, [(1, 1)]), 0, "needs a timestamp"),
    (lambda s: s.write2_bulk(1, [(1, 1)], timestamp=dt.datetime(2024, 1, 1)), 0, "aware"),
    (lambda s: s.write_secured2_bulk(1, [(1, 1), WriteItem(2, 2, timestamp=NOW), (3, 3)],
                                     current_user_id=101), 0, "needs a timestamp"),
    (lambda s: s.add_item_bulk(1, ["A.B", ""]), 1, "non-empty"),
    (lambda s: s.subscribe_bulk(1, "A.B"), 0, "not one string"),
    (lambda s: s.advise_item_bulk(1, [1, 2, -3]), 2, "positive int32"),
    (lambda s: s.read_bulk(1, ["A.B", None]), 1, "non-empty"),
])
async def test_a_bad_entry_is_refused_by_index_before_anything_is_sent(
    unreachable: Session, call: Any, index: int, message: str,
) -> None:
    with pytest.raises(mxgw.BulkEntryError, match=message) as caught:
        await call(unreachable)
    assert caught.value.index == index
    assert isinstance(caught.value, ValueError)
    with pytest.raises(mxgw.ConnectError):  # the control: a good call does try to send
        await unreachable.write_bulk(1, [(1, 1)])


async def test_an_empty_bulk_sends_nothing(unreachable: Session) -> None:
    assert await unreachable.write_bulk(1, []) == []
    assert await unreachable.read_bulk(1, []) == []
    with pytest.raises(mxgw.ConfigurationError):
        await unreachable.read_bulk(0, [])


async def test_an_empty_bulk_gives_results_of_its_type_with_no_failures(
    unreachable: Session,
) -> None:
    """The documented `for failed in results.failures()` holds for an empty list too (a
    filtered batch that came out empty), and the results say what they would hold."""
    written = await unreachable.write_bulk(1, [])
    assert written.failures() == [] and written.result_type is pb.BulkWriteResult
    read = await unreachable.read_bulk(1, [])
    assert read.failures() == [] and read.result_type is pb.BulkReadResult
    added = await unreachable.add_item_bulk(1, [])
    assert added.failures() == [] and added.result_type is pb.SubscribeResult


# ------------------------------------------------------------------ against the simulator

async def test_subscribe_family_returns_one_result_per_entry_in_order(
    open_gateway: GatewayOpener,
) -> None:
    _, session = await open_gateway(max_bulk_entries=4)
    server = await session.register("bulk")
    tags = [*INTS, "NoSuchObject.Nothing", *STRINGS]  # 13 entries: 4 chunks
    added = await session.add_item_bulk(server, tags)
    assert [r.tag_address for r in added] == tags
    assert all(r.was_successful and r.item_handle > 0 for r in added)  # unknown ref adds
    handles = [r.item_handle for r in added]
    assert len(set(handles)) == len(handles)

    advised = await session.advise_item_bulk(server, [*handles, 99_999])
    assert [r.item_handle for r in advised] == [*handles, 99_999]
    assert [r.was_successful for r in advised] == [True] * len(handles) + [False]
    assert advised[-1].error_message
    assert advised.failures() == [advised[-1]]  # found without reading the successes

    unadvised = await session.unadvise_item_bulk(server, handles)
    removed = await session.remove_item_bulk(server, handles)
    assert [r.was_successful for r in unadvised + removed] == [True] * 2 * len(handles)
    again = await session.remove_item_bulk(server, handles[:2])
    assert [r.was_successful for r in again] == [False, False]

    subscribed = await session.subscribe_bulk(server, INTS)
    assert [r.tag_address for r in subscribed] == INTS
    async with session.events() as events:
        await first_data_change(events, *(r.item_handle for r in subscribed))
    gone = await session.unsubscribe_bulk(server, [r.item_handle for r in subscribed])
    assert all(r.was_successful for r in gone)


async def test_read_bulk_reports_cached_fresh_and_failed_tags_in_order(
    session: Session,
) -> None:
    server = await session.register("read")
    [advised] = await session.subscribe_bulk(server, [INTS[0]])
    async with session.events() as events:
        await first_data_change(events, advised.item_handle)
    await session.write_bulk(server, [(advised.item_handle, 4321)])
    tags = [INTS[0], INTS[1], "NoSuchObject.Nothing"]

    async def written() -> mxgw.BulkResults[pb.BulkReadResult]:
        while True:
            results = await session.read_bulk(server, tags, timeout_ms=2000)
            if mxgw.from_mx_value(results[0].value) == 4321:
                return results

    results = await asyncio.wait_for(written(), 10)
    assert [r.tag_address for r in results] == tags
    assert [r.was_successful for r in results] == [True, True, False]
    assert [r.was_cached for r in results] == [True, False, False]
    assert results[1].quality == 192 and isinstance(mxgw.from_mx_value(results[1].value), int)
    assert results[2].error_message


async def test_write_family_applies_keyword_defaults_and_item_overrides(
    session: Session,
) -> None:
    server = await session.register("writes")
    subscribed = await session.subscribe_bulk(server, [*INTS[:3], *STRINGS[:1]])
    a, b, c, s = (r.item_handle for r in subscribed)
    async with session.events() as events:
        await first_data_change(events, a, b, c, s)

    results = await session.write_bulk(
        server, [(a, 1), WriteItem(b, 2.0, type_name="double"), (99_999, 3), (s, "text")],
        user_id=0)
    assert [r.item_handle for r in results] == [a, b, 99_999, s]
    assert [r.was_successful for r in results] == [True, True, False, True]
    assert results[2].hresult < 0 and results[2].error_message  # a per-entry failure

    stamp = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    own = dt.datetime(2023, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    results = await session.write2_bulk(server, [(a, 10), WriteItem(c, 30, timestamp=own)],
                                        timestamp=stamp)
    assert all(r.was_successful for r in results)

    async def stamped() -> dict[str, dt.datetime]:
        while True:
            read = await session.read_bulk(server, [INTS[0], INTS[2]])
            if [mxgw.from_mx_value(r.value) for r in read] == [10, 30]:
                return {r.tag_address: r.source_timestamp for r in read
                        if r.source_timestamp is not None}

    times = await asyncio.wait_for(stamped(), 10)
    assert times == {INTS[0]: stamp, INTS[2]: own}

    operator = await session.authenticate_user(server, "operator", "operator")
    secured = await session.write_secured_bulk(server, [(a, 5), (b, 6)],
                                               current_user_id=operator)
    secured2 = await session.write_secured2_bulk(server, [(a, 7)], current_user_id=operator,
                                                 timestamp=stamp)
    assert all(r.was_successful for r in secured + secured2)


async def test_a_whole_call_failure_raises_with_the_results_already_applied(
    open_gateway: GatewayOpener,
) -> None:
    # The gateway takes 5 entries per command; the client is told it may send 10, and
    # its 32 KiB budget puts the first of two 20 kB addresses alone in the first chunk:
    # that chunk goes through, the second (10 entries) is refused as a whole.
    _, session = await open_gateway(RuntimeConfig(max_bulk=5), max_bulk_entries=10,
                                    max_message_bytes=64 * 1024)
    server = await session.register("x")
    long_name = "Nothing." + "n" * 20_000
    with pytest.raises(mxgw.InvalidRequestError) as caught:
        await session.add_item_bulk(server, [long_name, long_name + "2", *INTS * 2])
    assert caught.value.partial_results is not None
    assert [r.tag_address for r in caught.value.partial_results] == [long_name]
    assert isinstance(caught.value.reply, pb.MxCommandReply)
    with pytest.raises(mxgw.SessionNotFoundError):
        await session.client.session("session-" + "0" * 32).add_item_bulk(1, INTS)


async def test_requests_split_by_size_stay_under_the_gateways_limit(
    open_gateway: GatewayOpener,
) -> None:
    # The gateway refuses requests over 40,000 bytes; the client's budget is 32 KiB.
    _, session = await open_gateway(
        RuntimeConfig(first_value_delay=0.01, max_message_bytes=40_000),
        max_message_bytes=64 * 1024)
    server = await session.register("size")
    [item] = await session.subscribe_bulk(server, [STRINGS[0]])
    async with session.events() as events:
        await first_data_change(events, item.item_handle)
    values = [f"{i:04d}" + "x" * 996 for i in range(200)]  # 200 kB in all
    results = await session.write_bulk(server, [(item.item_handle, v) for v in values])
    assert len(results) == 200 and all(r.was_successful for r in results)
    with pytest.raises(mxgw.BulkEntryError) as caught:
        await session.write_bulk(server, [(item.item_handle, "y" * 40_000)])
    assert caught.value.index == 0


@pytest.fixture
async def roomy_session(open_gateway: GatewayOpener) -> Session:
    """A session on a gateway that keeps detached sessions for long (a slow test)."""
    _, session = await open_gateway(RuntimeConfig(
        first_value_delay=0.01, write_complete_delay=0.0, detach_grace_seconds=600),
        timeout=60)
    return session


async def test_fifty_thousand_writes_come_back_as_fifty_thousand_ordered_results(
    roomy_session: Session,
) -> None:
    session = roomy_session
    server = await session.register("many")
    subscribed = await session.subscribe_bulk(server, INTS)
    handles = [r.item_handle for r in subscribed]
    async with session.events() as events:
        await first_data_change(events, *handles)
    # every 997th entry names an item that does not exist: a per-entry failure
    items = [(99_999 if i % 997 == 0 else handles[i % len(handles)], i % 1000)
             for i in range(50_000)]
    results = await session.write_bulk(server, items)
    assert len(results) == 50_000
    assert [r.item_handle for r in results] == [h for h, _ in items]
    assert [r.was_successful for r in results] == [h != 99_999 for h, _ in items]


def test_entry_size_estimates_are_never_below_the_real_size() -> None:
    from mxgw.bulk import entry_size
    from mxgw.contract import commands

    values: list[Any] = [True, -1, 2**62, 1.5, "é" * 300, NOW, dt.timedelta(days=3),
                         b"\x00" * 99, [1, 2, 3], ["a", "bc"], None,
                         pb.MxValue(raw_diagnostic="x" * 50, raw_data_type=-1, int32_value=-5)]
    command = commands.write_secured2_bulk(
        2**31 - 1, [WriteItem(2**31 - 1, v) for v in values],
        current_user_id=2**31 - 1, verifier_user_id=2**31 - 1, timestamp=NOW)
    assert command.write_secured2_bulk_command is not None
    entries = command.write_secured2_bulk_command.entries
    assert len(entries) == len(values)
    for entry in entries:
        assert len(bytes(pb.WriteSecured2BulkCommand(entries=[entry]))) <= entry_size(entry)
