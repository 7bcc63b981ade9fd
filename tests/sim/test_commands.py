"""The single-item MXAccess commands and their events, as docs/mxaccess.md describes them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw.sim import RuntimeConfig

from .conftest import (
    OK,
    Events,
    Gateway,
    GatewayFactory,
    is_data_change,
    mx_double,
    mx_int,
    mx_str,
)

E_INVALIDARG = -2147024809
CAT = pb.MxStatusCategory


async def _setup(gw: Gateway) -> tuple[str, int, Events]:
    session = await gw.open()
    events = gw.events(session)
    return session, await gw.register(session), events


def _write_complete(item: int) -> Callable[[pb.MxEvent], bool]:
    return lambda e: e.on_write_complete is not None and e.item_handle == item


async def test_register_reply_matches_the_gateway_fixture_shape(gw: Gateway) -> None:
    session = await gw.open()
    reply = await gw.invoke(session, pb.RegisterCommand(client_name="c"), correlation="abc")
    assert reply.correlation_id == "abc" and reply.kind == pb.MxCommandKind.REGISTER
    assert reply.hresult == 0
    assert reply.register is not None and reply.register.server_handle > 0
    assert reply.return_value is not None
    assert reply.return_value.variant_type == "VT_I4"
    assert reply.return_value.int32_value == reply.register.server_handle
    (status,) = reply.statuses
    assert status.category == CAT.OK and status.raw_category == 0
    assert status.detected_by == pb.MxStatusSource.RESPONDING_LMX and status.raw_detected_by == 1


async def test_advise_delivers_a_good_first_value_then_changes(gw: Gateway) -> None:
    session, server, events = await _setup(gw)
    reply = await gw.ok(session, pb.AddItem2Command(
        server_handle=server, item_definition="TestMachine_003.TestDouble", item_context="ctx"))
    assert reply.add_item2 is not None
    item = reply.add_item2.item_handle
    await gw.ok(session, pb.AdviseCommand(server_handle=server, item_handle=item))
    first = await events.until(is_data_change(item))
    change = first.on_data_change
    assert change is not None and change.quality == 192
    assert change.value is not None and change.value.data_type == pb.MxDataType.DOUBLE
    assert first.server_handle == server and first.worker_sequence == 1
    second = await events.until(is_data_change(item))  # TestDouble changes every 500 ms
    assert second.worker_sequence == 2
    await gw.ok(session, pb.UnAdviseCommand(server_handle=server, item_handle=item))
    await gw.ok(session, pb.RemoveItemCommand(server_handle=server, item_handle=item))
    await gw.ok(session, pb.UnregisterCommand(server_handle=server))


async def test_unknown_and_bare_array_references_fail_in_their_data_change(gw: Gateway) -> None:
    session, server, events = await _setup(gw)
    unknown = await gw.subscribe(session, server, "NoSuchObject.Attr")
    bare = await gw.subscribe(session, server, "TestMachine_001.TestIntArray")
    for item, detail in ((unknown, 6), (bare, 1003)):
        event = await events.until(is_data_change(item))
        assert event.on_data_change is not None
        assert event.on_data_change.quality == 0
        (status,) = event.on_data_change.statuses
        assert status.category == CAT.CONFIGURATION_ERROR and status.raw_category == 4
        assert status.detail == detail


async def test_arrays_whole_and_one_based_elements(gw: Gateway) -> None:
    session, server, events = await _setup(gw)
    whole = await gw.subscribe(session, server, "TestMachine_004.TestIntArray[]")
    second = await gw.subscribe(session, server, "TestMachine_004.TestIntArray[2]")
    beyond = await gw.subscribe(session, server, "TestMachine_004.TestIntArray[9]")
    await events.until(is_data_change(second))
    event = await events.until(is_data_change(beyond))
    assert event.on_data_change is not None and event.on_data_change.statuses[0].detail == 1003
    def array_is(values: list[int]) -> Callable[[pb.MxEvent], bool]:
        return lambda e: (is_data_change(whole)(e) and e.on_data_change is not None
                          and e.on_data_change.value is not None
                          and e.on_data_change.value.array_value is not None
                          and list(e.on_data_change.value.array_value.int32_values) == values)

    def element_is(value: int) -> Callable[[pb.MxEvent], bool]:
        return lambda e: (is_data_change(second)(e) and e.on_data_change is not None
                          and e.on_data_change.value is not None
                          and e.on_data_change.value.int32_value == value)

    array = pb.MxValue(array_value=pb.MxArray(element_data_type=pb.MxDataType.INTEGER,
                                              int32_values=[5, 6, 7]))
    await gw.ok(session, pb.WriteCommand(server_handle=server, item_handle=whole, value=array))
    await events.until_all(array_is([5, 6, 7]), element_is(6))  # writing N values resizes
    await gw.ok(session, pb.WriteCommand(server_handle=server, item_handle=second,
                                         value=mx_str("42")))
    await events.until_all(array_is([5, 42, 7]), element_is(42))


async def test_write_before_the_first_value_is_e_invalidarg_as_data(gw: Gateway) -> None:
    session, server, _ = await _setup(gw)
    item = await gw.add(session, server, "TestMachine_001.TestInt")
    reply = await gw.invoke(session, pb.WriteCommand(server_handle=server, item_handle=item,
                                                     value=mx_int(1)))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.MXACCESS_FAILURE
    assert reply.hresult == E_INVALIDARG
    assert reply.return_value is not None and reply.return_value.is_null
    assert reply.statuses and reply.diagnostic_message


async def test_write_coerces_and_completes_then_the_value_changes(gw: Gateway) -> None:
    session, server, events = await _setup(gw)
    item = await gw.subscribe(session, server, "TestMachine_002.TestInt")
    await events.until(is_data_change(item))
    await gw.ok(session, pb.WriteCommand(server_handle=server, item_handle=item,
                                         value=mx_str("17")))
    done = await events.until(_write_complete(item))
    assert done.on_write_complete is not None
    assert done.on_write_complete.statuses[0].category == CAT.OK
    change = await events.until(is_data_change(item))
    assert change.on_data_change is not None and change.on_data_change.value is not None
    assert change.on_data_change.value.int32_value == 17
    # Write2 carries the source timestamp.
    stamp = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    await gw.ok(session, pb.Write2Command(server_handle=server, item_handle=item,
                                          value=mx_double(3.6), timestamp_value=stamp))
    change = await events.until(is_data_change(item))
    assert change.on_data_change is not None and change.on_data_change.value is not None
    assert change.on_data_change.value.int32_value == 4
    assert change.on_data_change.source_timestamp == stamp


async def test_an_impossible_coercion_completes_with_wrong_data_type(gw: Gateway) -> None:
    session, server, events = await _setup(gw)
    item = await gw.subscribe(session, server, "TestMachine_002.TestInt")
    await events.until(is_data_change(item))
    await gw.ok(session, pb.WriteCommand(server_handle=server, item_handle=item,
                                         value=mx_str("not a number")))
    done = await events.until(_write_complete(item))
    assert done.on_write_complete is not None
    (status,) = done.on_write_complete.statuses
    assert status.detail == 13 and status.category == CAT.OPERATIONAL_ERROR


async def test_secured_and_verified_attributes(gw: Gateway) -> None:
    session, server, events = await _setup(gw)
    secured = await gw.subscribe(session, server, "TestMachine_001.SecuredSetpoint")
    verified = await gw.subscribe(session, server, "TestMachine_001.VerifiedSetpoint")
    await events.until(is_data_change(secured))
    await events.until(is_data_change(verified))

    async def detail_of(payload: object, item: int) -> int:
        await gw.ok(session, payload)
        done = await events.until(_write_complete(item))
        assert done.on_write_complete is not None
        return done.on_write_complete.statuses[0].detail

    assert await detail_of(pb.WriteCommand(server_handle=server, item_handle=secured,
                                           value=mx_double(1)), secured) == 1012
    assert await detail_of(pb.WriteCommand(server_handle=server, item_handle=verified,
                                           value=mx_double(1)), verified) == 1013
    auth = await gw.ok(session, pb.AuthenticateUserCommand(
        server_handle=server, user_name="PLANT\\operator", password="operator"))
    assert auth.authenticate_user is not None
    operator = auth.authenticate_user.user_id
    auth = await gw.ok(session, pb.AuthenticateUserCommand(
        server_handle=server, user_name="supervisor", password="supervisor"))
    assert auth.authenticate_user is not None
    supervisor = auth.authenticate_user.user_id
    assert await detail_of(pb.WriteSecuredCommand(
        server_handle=server, item_handle=secured, current_user_id=operator,
        value=mx_double(2)), secured) == 0
    assert await detail_of(pb.WriteSecured2Command(
        server_handle=server, item_handle=verified, current_user_id=operator,
        verifier_user_id=operator, value=mx_double(2),
        timestamp_value=dt.datetime.now(dt.timezone.utc)), verified) == 1017
    assert await detail_of(pb.WriteSecuredCommand(
        server_handle=server, item_handle=verified, current_user_id=operator,
        verifier_user_id=supervisor, value=mx_double(3)), verified) == 0


async def test_authenticate_user_failure_and_user_guid_lookup(gw: Gateway) -> None:
    session, server, _ = await _setup(gw)
    reply = await gw.invoke(session, pb.AuthenticateUserCommand(
        server_handle=server, user_name="operator", password="wrong"))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.MXACCESS_FAILURE
    assert reply.hresult < 0
    assert reply.statuses[0].category == CAT.SECURITY_ERROR
    reply = await gw.ok(session, pb.ArchestrAUserToIdCommand(
        server_handle=server, user_guid="00000000-0000-0000-0000-000000000102"))
    assert reply.archestra_user_to_id is not None and reply.archestra_user_to_id.user_id == 102


async def test_supervisory_advise_writes_secured_attributes_without_a_login(gw: Gateway) -> None:
    session, server, events = await _setup(gw)
    item = await gw.add(session, server, "TestMachine_005.SecuredSetpoint")
    await gw.ok(session, pb.AdviseSupervisoryCommand(server_handle=server, item_handle=item))
    await events.until(is_data_change(item))
    await gw.ok(session, pb.WriteCommand(server_handle=server, item_handle=item,
                                         value=mx_double(9.5)))
    done = await events.until(_write_complete(item))
    assert done.on_write_complete is not None
    assert done.on_write_complete.statuses[0].category == CAT.OK


async def test_suspend_and_activate_complete_as_operation_complete(gw: Gateway) -> None:
    session, server, events = await _setup(gw)
    item = await gw.subscribe(session, server, "TestMachine_006.TestInt")
    await events.until(is_data_change(item))
    await gw.ok(session, pb.SuspendCommand(server_handle=server, item_handle=item))
    done = await events.next()
    assert done.family == pb.MxEventFamily.OPERATION_COMPLETE and done.item_handle == item
    assert done.operation_complete is not None
    assert done.operation_complete.statuses[0].category == CAT.OK
    await gw.ok(session, pb.ActivateCommand(server_handle=server, item_handle=item))
    done = await events.next()
    assert done.family == pb.MxEventFamily.OPERATION_COMPLETE


async def test_buffered_items_batch_the_samples_of_an_interval(gw: Gateway) -> None:
    session, server, events = await _setup(gw)
    reply = await gw.ok(session, pb.AddBufferedItemCommand(
        server_handle=server, item_definition="TestMachine_001.TestInt", item_context=""))
    assert reply.add_buffered_item is not None
    item = reply.add_buffered_item.item_handle
    await gw.ok(session, pb.SetBufferedUpdateIntervalCommand(server_handle=server,
                                                             interval_ms=400))
    await gw.ok(session, pb.AdviseCommand(server_handle=server, item_handle=item))
    first = await events.next()
    assert first.on_buffered_data_change is not None  # the first value is not held back
    assert len(first.on_buffered_data_change.samples) == 1
    for value in (1, 2, 3):
        await gw.ok(session, pb.WriteCommand(server_handle=server, item_handle=item,
                                             value=mx_int(value)))
        await events.until(_write_complete(item))
    values: list[int] = []
    batches = 0
    while len(values) < 3:  # normally one batch; two if an interval ended mid-way
        batch = await events.until(lambda e: e.on_buffered_data_change is not None)
        assert batch.on_buffered_data_change is not None
        assert batch.on_buffered_data_change.data_type == pb.MxDataType.INTEGER
        values += [s.value.int32_value for s in batch.on_buffered_data_change.samples
                   if s.value is not None and s.value.int32_value is not None]
        batches += 1
    assert values == [1, 2, 3] and batches < 3


async def test_bad_handles_and_mismatched_payloads(gw: Gateway) -> None:
    session, server, _ = await _setup(gw)
    reply = await gw.invoke(session, pb.AdviseCommand(server_handle=server, item_handle=999))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.MXACCESS_FAILURE
    assert reply.hresult == E_INVALIDARG
    reply = await gw.invoke(session, pb.AddItemCommand(server_handle=77, item_definition="A.B"))
    assert reply.hresult == E_INVALIDARG
    reply = await gw.stub.invoke(pb.MxCommandRequest(session_id=session, command=pb.MxCommand(
        kind=pb.MxCommandKind.ADVISE, register_command=pb.RegisterCommand(client_name="x"))))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.INVALID_REQUEST
    reply = await gw.stub.invoke(pb.MxCommandRequest(session_id=session, command=pb.MxCommand(
        kind=pb.MxCommandKind.SUBSCRIBE_ALARMS)))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.INVALID_REQUEST
    assert (await gw.invoke(session, pb.RegisterCommand())).protocol_status == pb.ProtocolStatus(
        code=OK)


async def test_writes_can_report_pending_before_their_result(
    make_gateway: GatewayFactory,
) -> None:
    gw = await make_gateway(runtime=RuntimeConfig(first_value_delay=0.01,
                                                  write_pending_first=True))
    session, server, events = await _setup(gw)
    item = await gw.subscribe(session, server, "TestMachine_002.TestInt")
    await events.until(is_data_change(item))
    await gw.ok(session, pb.WriteCommand(server_handle=server, item_handle=item,
                                         value=mx_int(3)))
    pending = await events.until(_write_complete(item))
    final = await events.until(_write_complete(item))
    assert pending.on_write_complete is not None and final.on_write_complete is not None
    assert pending.on_write_complete.statuses[0].category == CAT.PENDING
    assert final.on_write_complete.statuses[0].category == CAT.OK
    assert final.hresult == 0
    await gw.ok(session, pb.WriteCommand(server_handle=server, item_handle=item,
                                         value=mx_str("x")))
    await events.until(_write_complete(item))
    failed = await events.until(_write_complete(item))
    assert failed.hresult is not None and failed.hresult < 0


async def test_unregister_removes_its_items_and_bad_arguments_fail_as_data(gw: Gateway) -> None:
    session, server, events = await _setup(gw)
    item = await gw.subscribe(session, server, "TestMachine_001.TestInt")
    await events.until(is_data_change(item))
    await gw.ok(session, pb.UnregisterCommand(server_handle=server))
    for payload in (pb.AdviseCommand(server_handle=server, item_handle=item),
                    pb.AddItemCommand(server_handle=server, item_definition="A.B"),
                    pb.UnregisterCommand(server_handle=server)):
        reply = await gw.invoke(session, payload)
        assert reply.hresult == E_INVALIDARG, payload
    other = await gw.register(session)
    assert other != server
    for refused in (pb.AddItemCommand(server_handle=other, item_definition="  "),
                    pb.SetBufferedUpdateIntervalCommand(server_handle=other, interval_ms=0),
                    pb.ArchestrAUserToIdCommand(server_handle=other, user_guid="nobody")):
        reply = await gw.invoke(session, refused)
        assert reply.protocol_status is not None
        assert reply.protocol_status.code == pb.ProtocolStatusCode.MXACCESS_FAILURE, refused
        assert reply.hresult < 0 and reply.diagnostic_message
