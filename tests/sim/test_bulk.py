"""Bulk commands: one result per entry in input order; a failed entry never fails the call."""

from __future__ import annotations

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw.sim import RuntimeConfig

from .conftest import Gateway, GatewayFactory, is_data_change, mx_double, mx_int, mx_str

TAGS = ["TestMachine_001.TestInt", "", "TestMachine_002.TestString", "Nope.Missing"]


async def test_subscribe_bulk_adds_advises_and_sends_each_first_value(gw: Gateway) -> None:
    session = await gw.open()
    server = await gw.register(session)
    events = gw.events(session)
    reply = await gw.ok(session, pb.SubscribeBulkCommand(server_handle=server,
                                                         tag_addresses=TAGS))
    assert reply.bulk_subscribe is not None
    results = reply.bulk_subscribe.results
    assert [r.tag_address for r in results] == TAGS
    assert [r.was_successful for r in results] == [True, False, True, True]
    assert results[1].error_message and results[1].item_handle == 0
    handles = [r.item_handle for r in results if r.was_successful]
    assert all(r.server_handle == server for r in results)
    firsts = await events.until_all(*(is_data_change(h) for h in handles))
    qualities = [e.on_data_change.quality for e in firsts if e.on_data_change is not None]
    assert qualities == [192, 192, 0]  # the unknown reference fails in its data change

    reply = await gw.ok(session, pb.UnsubscribeBulkCommand(server_handle=server,
                                                           item_handles=[*handles, 999]))
    assert reply.bulk_subscribe is not None
    assert [r.was_successful for r in reply.bulk_subscribe.results] == [True, True, True, False]
    assert reply.bulk_subscribe.results[0].tag_address == TAGS[0]
    again = await gw.ok(session, pb.UnsubscribeBulkCommand(server_handle=server,
                                                           item_handles=handles[:1]))
    assert again.bulk_subscribe is not None
    assert not again.bulk_subscribe.results[0].was_successful  # already removed


async def test_add_advise_unadvise_remove_bulks(gw: Gateway) -> None:
    session = await gw.open()
    server = await gw.register(session)
    events = gw.events(session)
    added = await gw.ok(session, pb.AddItemBulkCommand(
        server_handle=server,
        tag_addresses=["TestMachine_003.TestInt", "TestMachine_003.TestBool"]))
    assert added.bulk_subscribe is not None
    handles = [r.item_handle for r in added.bulk_subscribe.results]
    assert all(h > 0 for h in handles) and len(set(handles)) == 2
    advised = await gw.ok(session, pb.AdviseItemBulkCommand(server_handle=server,
                                                            item_handles=[handles[1], -4]))
    assert advised.bulk_subscribe is not None
    assert [r.was_successful for r in advised.bulk_subscribe.results] == [True, False]
    await events.until(is_data_change(handles[1]))
    unadvised = await gw.ok(session, pb.UnAdviseItemBulkCommand(server_handle=server,
                                                               item_handles=handles))
    assert unadvised.bulk_subscribe is not None
    assert [r.was_successful for r in unadvised.bulk_subscribe.results] == [True, True]
    removed = await gw.ok(session, pb.RemoveItemBulkCommand(server_handle=server,
                                                           item_handles=handles))
    assert removed.bulk_subscribe is not None
    assert [r.was_successful for r in removed.bulk_subscribe.results] == [True, True]
    wrong_server = await gw.ok(session, pb.AddItemBulkCommand(
        server_handle=server + 50, tag_addresses=["TestMachine_003.TestInt"]))
    assert wrong_server.bulk_subscribe is not None
    assert not wrong_server.bulk_subscribe.results[0].was_successful


async def test_write_bulks_report_each_entry_and_complete_accepted_ones(gw: Gateway) -> None:
    session = await gw.open()
    server = await gw.register(session)
    events = gw.events(session)
    reply = await gw.ok(session, pb.SubscribeBulkCommand(server_handle=server, tag_addresses=[
        "TestMachine_001.TestInt", "TestMachine_001.TestString",
        "TestMachine_001.SecuredSetpoint"]))
    assert reply.bulk_subscribe is not None
    number, text, secured = (r.item_handle for r in reply.bulk_subscribe.results)
    await events.until_all(*(is_data_change(h) for h in (number, text, secured)))
    not_yet = await gw.add(session, server, "TestMachine_001.TestBool")

    reply = await gw.ok(session, pb.WriteBulkCommand(server_handle=server, entries=[
        pb.WriteBulkEntry(item_handle=number, value=mx_int(11)),
        pb.WriteBulkEntry(item_handle=not_yet, value=mx_int(1)),
        pb.WriteBulkEntry(item_handle=text, value=mx_str("hello")),
        pb.WriteBulkEntry(item_handle=12345, value=mx_int(1)),
    ]))
    assert reply.bulk_write is not None
    results = reply.bulk_write.results
    assert [r.item_handle for r in results] == [number, not_yet, text, 12345]
    assert [r.was_successful for r in results] == [True, False, True, False]
    assert results[1].hresult == -2147024809 and results[1].error_message
    assert results[0].statuses[0].category == pb.MxStatusCategory.OK
    completes = await events.until_all(
        *(lambda e, h=h: e.on_write_complete is not None and e.item_handle == h
          for h in (number, text)))
    assert len(completes) == 2

    reply = await gw.ok(session, pb.Write2BulkCommand(server_handle=server, entries=[
        pb.Write2BulkEntry(item_handle=number, value=mx_int(12))]))
    assert reply.bulk_write is not None and reply.bulk_write.results[0].was_successful
    reply = await gw.ok(session, pb.WriteSecuredBulkCommand(server_handle=server, entries=[
        pb.WriteSecuredBulkEntry(item_handle=secured, value=mx_double(4.5),
                                 current_user_id=101)]))
    assert reply.bulk_write is not None and reply.bulk_write.results[0].was_successful
    reply = await gw.ok(session, pb.WriteSecured2BulkCommand(server_handle=server, entries=[
        pb.WriteSecured2BulkEntry(item_handle=secured, value=mx_double(5.5),
                                  current_user_id=101)]))
    assert reply.bulk_write is not None and reply.bulk_write.results[0].was_successful
    done = await events.until(lambda e: e.on_write_complete is not None
                              and e.item_handle == secured)
    assert done.on_write_complete is not None
    assert done.on_write_complete.statuses[0].category == pb.MxStatusCategory.OK


async def test_read_bulk_cached_fresh_unknown_and_timeout(make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(runtime=RuntimeConfig(first_value_delay=0.05))
    session = await gw.open()
    server = await gw.register(session)
    events = gw.events(session)
    advised = await gw.subscribe(session, server, "TestMachine_001.TestInt")
    await events.until(is_data_change(advised))
    tags = ["TestMachine_001.TestInt", "TestMachine_002.TestDouble", "Nope.Nothing",
            "TestMachine_001.TestIntArray[2]"]
    reply = await gw.ok(session, pb.ReadBulkCommand(server_handle=server, tag_addresses=tags))
    assert reply.bulk_read is not None
    results = reply.bulk_read.results
    assert [r.tag_address for r in results] == tags
    assert [r.was_successful for r in results] == [True, True, False, True]
    assert [r.was_cached for r in results] == [True, False, False, False]
    assert results[0].quality == 192 and results[0].value is not None
    assert results[0].value.data_type == pb.MxDataType.INTEGER
    assert results[1].value is not None and results[1].value.double_value is not None
    assert results[2].statuses[0].detail == 6 and results[2].error_message
    # The cached read left the subscription alone: it still reports changes.
    await gw.ok(session, pb.WriteCommand(server_handle=server, item_handle=advised,
                                         value=mx_int(5)))
    await events.until(is_data_change(advised))
    # A first value slower than timeout_ms fails that entry only.
    reply = await gw.ok(session, pb.ReadBulkCommand(
        server_handle=server, tag_addresses=["TestMachine_003.TestInt", "TestMachine_001.TestInt"],
        timeout_ms=10))
    assert reply.bulk_read is not None
    assert [r.was_successful for r in reply.bulk_read.results] == [False, True]
    assert "10 ms" in reply.bulk_read.results[0].error_message
    assert reply.bulk_read.results[0].quality == 0x20  # Bad: waiting for initial data
    assert reply.bulk_read.results[0].statuses[0].detail == 1  # RequestTimedOut


async def test_bulks_over_the_entry_cap_are_invalid_requests(make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(runtime=RuntimeConfig(first_value_delay=0.02, max_bulk=3))
    session = await gw.open()
    server = await gw.register(session)
    reply = await gw.invoke(session, pb.AddItemBulkCommand(
        server_handle=server, tag_addresses=["TestMachine_001.TestInt"] * 4))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.INVALID_REQUEST
    assert "at most 3" in reply.protocol_status.message
    reply = await gw.ok(session, pb.AddItemBulkCommand(
        server_handle=server, tag_addresses=["TestMachine_001.TestInt"] * 3))
    assert reply.bulk_subscribe is not None and len(reply.bulk_subscribe.results) == 3


async def test_requests_over_16_mib_are_refused(gw: Gateway) -> None:
    session = await gw.open()
    server = await gw.register(session)
    tag = "TestMachine_001." + "x" * 4096
    with pytest.raises(GRPCError) as caught:  # 4,200 tags: 17 MiB
        await gw.invoke(session, pb.AddItemBulkCommand(server_handle=server,
                                                       tag_addresses=[tag] * 4200))
    assert caught.value.status == Status.RESOURCE_EXHAUSTED
    assert "16777216-byte" in str(caught.value.message)
    reply = await gw.ok(session, pb.RegisterCommand(client_name="still-usable"))
    assert reply.register is not None


async def test_default_limits_are_the_gateways() -> None:
    config = RuntimeConfig()
    assert config.max_bulk == 5000 and config.max_message_bytes == 16 * 1024 * 1024
    assert config.max_sessions == 64 and config.max_pending_commands == 128
    assert config.lease_seconds == 1800 and config.detach_grace_seconds == 30
    assert config.events.replay_capacity == 1024 and config.events.queue_capacity == 10_000
