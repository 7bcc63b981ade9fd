"""The codec's protobuf-JSON (what the CLI prints) is betterproto2's `to_dict`, minus unset
fields."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import betterproto2
import pytest

from mxgw import GatewayClient, MxAccessError, SparseArray, pb, to_mx_value
from mxgw._proto.galaxy_repository import v1 as gr
from mxgw.contract.codec import to_json as message_json
from mxgw.galaxy import GalaxyRepositoryClient
from mxgw.sim import SimServer

from ..conftest import TEST_KEY, first_data_change


def reference(value: Any) -> Any:
    if isinstance(value, betterproto2.Message):
        return reference(value.to_dict(include_default_values=True))
    if isinstance(value, dict):
        return {k: reference(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [reference(v) for v in value]
    return value


def same(message: betterproto2.Message) -> None:
    assert json.dumps(message_json(message)) == json.dumps(reference(message)), message


def test_values_of_every_type() -> None:
    for value, type_name in [
        (True, None), (-5, None), (2**40, None), (1.5, "float"), (2.25, None), ("text", None),
        (dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc), None),
        (dt.timedelta(seconds=1.5), None), (b"\x00\xff", None), ([1, 2], None),
        (["a", "b"], None), ([1.5], "float[]"), (None, None), (SparseArray(4, {1: 7}), None),
    ]:
        same(to_mx_value(value, type_name))


def test_timestamps_in_any_time_zone() -> None:
    east = dt.timezone(dt.timedelta(hours=2))
    for when in [dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
                 dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=east),
                 dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=east),
                 dt.datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=dt.timezone.utc),
                 dt.datetime(1, 1, 1, 0, 0, 0, tzinfo=dt.timezone.utc)]:
        same(pb.BulkReadResult(tag_address="A.B", source_timestamp=when))
    with pytest.raises(ValueError, match="timezone aware"):  # as betterproto2's to_dict
        message_json(pb.BulkReadResult(source_timestamp=dt.datetime(2026, 1, 2)))


def test_a_timestamp_in_a_zone_of_sub_second_offset_prints_its_utc_instant() -> None:
    """Python time zones may be off UTC by a fraction of a second: the fraction printed is
    the UTC instant's, as betterproto2's to_dict prints it."""
    odd = dt.timezone(dt.timedelta(microseconds=500_000))
    result = pb.BulkReadResult(source_timestamp=dt.datetime(2026, 1, 2, tzinfo=odd))
    assert message_json(result)["sourceTimestamp"] == "2026-01-01T23:59:59.500Z"
    same(result)


def test_requests_with_wrappers_and_optionals() -> None:
    same(gr.DiscoverHierarchyRequest(max_depth=0, include_attributes=False,
                                     category_ids=[1, 10], root_tag_name="X"))
    same(gr.DiscoverHierarchyRequest())
    same(pb.MxEvent(hresult=0, replay_gap=pb.ReplayGap(requested_after_sequence=2**40)))


async def test_replies_events_and_galaxy_objects(sim: SimServer) -> None:
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as client:
        session = await client.open_session("protojson")
        assert session.open_reply is not None
        same(session.open_reply)
        server = await session.register("protojson")
        items = await session.subscribe_bulk(server, ["TestMachine_001.TestInt", "Bad.Tag"])
        for result in items:
            same(result)
        handle = items[0].item_handle

        async def checked(events: AsyncIterator[pb.MxEvent]) -> AsyncGenerator[pb.MxEvent, None]:
            async for event in events:
                same(event)
                yield event

        async with session.events() as stream, contextlib.aclosing(checked(stream)) as read:
            await first_data_change(read, *(r.item_handle for r in items))  # every event read
        for written in await session.write_bulk(server, [(handle, 5), (424242, 1)]):
            same(written)
        for value in await session.read_bulk(server, ["TestMachine_001.TestInt", "No.Tag"],
                                             timeout_ms=500):
            same(value)
        with pytest.raises(MxAccessError) as failure:
            await session.advise(server, 424242)
        same(failure.value.reply)
        same(await session.close())
    async with GalaxyRepositoryClient.connect(sim.endpoint, api_key=TEST_KEY,
                                              plaintext=True) as galaxy:
        for obj in await galaxy.discover_hierarchy(tag_name_glob="TestMachine_00[12]"):
            same(obj)
        async for event in galaxy.watch_deploy_events():
            same(event)
            break
