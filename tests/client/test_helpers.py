"""Every Session helper against the simulator, and the raw calls beside them."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

import mxgw
from mxgw import EventStream, GatewayClient, Session, pb

from ..conftest import first_data_change

TAG = "TestMachine_001.TestInt"


async def next_of(events: EventStream, family: pb.MxEventFamily, item: int) -> pb.MxEvent:
    async def find() -> pb.MxEvent:
        async for event in events:
            if event.family == family and event.item_handle == item:
                return event
        raise AssertionError("stream ended")
    return await asyncio.wait_for(find(), 10)


async def ready_item(session: Session, events: EventStream, tag: str = TAG,
                     supervisory: bool = False) -> tuple[int, int]:
    server = await session.register("helpers")
    item = await session.add_item(server, tag)
    if supervisory:
        await session.advise_supervisory(server, item)
    else:
        await session.advise(server, item)
    await first_data_change(events, item)
    return server, item


async def test_register_add_remove_and_unregister(session: Session) -> None:
    server = await session.register("h")
    assert server > 0
    a = await session.add_item(server, TAG)
    b = await session.add_item2(server, TAG, "ctx")
    assert a != b and a > 0 and b > 0
    status = (await session.remove_item(server, a)).protocol_status
    assert status is not None and status.code == pb.ProtocolStatusCode.OK
    with pytest.raises(mxgw.MxAccessError) as caught:
        await session.remove_item(server, a)  # already removed
    assert caught.value.hresult < 0
    await session.unregister(server)
    with pytest.raises(mxgw.MxAccessError):
        await session.add_item(server, TAG)  # the handle is gone


async def test_writes_of_every_kind_reach_the_tag(session: Session) -> None:
    async with session.events() as events:
        server, item = await ready_item(session, events)
        await session.write(server, item, 11)
        change = await next_of(events, pb.MxEventFamily.ON_DATA_CHANGE, item)
        assert mxgw.from_mx_value(change.on_data_change.value) == 11  # type: ignore[union-attr]

        stamp = dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)
        await session.write2(server, item, 12, stamp)
        change = await next_of(events, pb.MxEventFamily.ON_DATA_CHANGE, item)
        assert change.on_data_change is not None
        assert change.on_data_change.source_timestamp == stamp

        operator = await session.authenticate_user(server, "operator", "operator")
        supervisor = await session.authenticate_user(server, "DOMAIN\\supervisor", "supervisor")
        assert (operator, supervisor) == (101, 102)
        guid = "00000000-0000-0000-0000-000000000101"
        assert await session.archestra_user_to_id(server, guid) == operator

        secured = await session.add_item(server, "TestMachine_001.SecuredSetpoint")
        await session.advise(server, secured)
        await first_data_change(events, secured)
        await session.write(server, secured, 1.0)  # accepted, refused in OnWriteComplete
        done = await next_of(events, pb.MxEventFamily.ON_WRITE_COMPLETE, secured)
        assert done.on_write_complete is not None
        assert done.on_write_complete.statuses[0].category == pb.MxStatusCategory.SECURITY_ERROR
        await session.write_secured(server, secured, 2.5, current_user_id=operator)
        done = await next_of(events, pb.MxEventFamily.ON_WRITE_COMPLETE, secured)
        assert done.on_write_complete is not None
        assert done.on_write_complete.statuses[0].category == pb.MxStatusCategory.OK
        await session.write_secured2(server, secured, 3.5, stamp, current_user_id=operator,
                                     verifier_user_id=supervisor)
        done = await next_of(events, pb.MxEventFamily.ON_WRITE_COMPLETE, secured)
        assert done.on_write_complete is not None


async def test_suspend_activate_unadvise_and_supervisory(session: Session) -> None:
    async with session.events() as events:
        server, item = await ready_item(session, events, supervisory=True)
        await session.suspend(server, item)
        await next_of(events, pb.MxEventFamily.OPERATION_COMPLETE, item)
        await session.activate(server, item)
        await next_of(events, pb.MxEventFamily.OPERATION_COMPLETE, item)
        await session.unadvise(server, item)


async def test_buffered_items_deliver_buffered_data_changes(session: Session) -> None:
    async with session.events() as events:
        server = await session.register("buffered")
        await session.set_buffered_update_interval(server, 100)
        item = await session.add_buffered_item(server, "TestMachine_001.TestChangingInt")
        await session.advise(server, item)
        event = await next_of(events, pb.MxEventFamily.ON_BUFFERED_DATA_CHANGE, item)
    assert event.on_buffered_data_change is not None
    assert event.on_buffered_data_change.samples


async def test_mxaccess_failures_raise_with_the_raw_reply(session: Session) -> None:
    server = await session.register("f")
    with pytest.raises(mxgw.MxAccessError) as caught:
        await session.authenticate_user(server, "operator", "Pa55-n0t-this")
    error = caught.value
    assert error.reply.protocol_status is not None
    assert error.reply.protocol_status.code == pb.ProtocolStatusCode.MXACCESS_FAILURE
    assert error.hresult == error.reply.hresult < 0
    assert error.statuses and error.statuses[0].category == pb.MxStatusCategory.SECURITY_ERROR
    assert "Pa55-n0t-this" not in str(error)  # the password never shows
    with pytest.raises(mxgw.MxAccessError):
        await session.archestra_user_to_id(server, "11111111-2222-3333-4444-555555555555")


async def test_raw_calls_leave_mxaccess_failures_in_the_reply(
    client: GatewayClient, session: Session,
) -> None:
    server = await session.register("raw")
    command = pb.MxCommand(kind=pb.MxCommandKind.AUTHENTICATE_USER,
                           authenticate_user_command=pb.AuthenticateUserCommand(
                               server_handle=server, user_name="operator", password="bad"))
    for reply in (await session.invoke_raw(command),
                  await client.invoke_raw(session.id, command, correlation_id="corr-1")):
        assert reply.protocol_status is not None
        assert reply.protocol_status.code == pb.ProtocolStatusCode.MXACCESS_FAILURE
        assert reply.hresult < 0
    assert reply.correlation_id == "corr-1"
    opened = await client.open_session_raw("raw")
    assert opened.session_id.startswith("session-") and len(opened.session_id) == 40
    closed = await client.close_session_raw(opened.session_id)
    assert closed.final_state == pb.SessionState.CLOSED
    again = await client.close_session_raw(opened.session_id)  # idempotent
    assert again.final_state == pb.SessionState.CLOSED


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: s.register(""), "client_name"),
    (lambda s: s.add_item(0, TAG), "server_handle"),
    (lambda s: s.add_item(1, "  "), "item"),
    (lambda s: s.advise(1, -1), "item_handle"),
    (lambda s: s.write(1, 1, float("nan")), "no MXAccess representation"),
    (lambda s: s.write(1, 1, dt.datetime(2024, 1, 1)), "naive"),
    (lambda s: s.write2(1, 1, 1, dt.datetime(2024, 1, 1)), "timezone-aware"),
    (lambda s: s.write_secured(1, 1, 1, current_user_id=-5), "current_user_id"),
    (lambda s: s.set_buffered_update_interval(1, 0), "interval_ms"),
    (lambda s: s.read_bulk(1, ["A.B"], timeout_ms=-1), "timeout_ms"),
])
async def test_bad_arguments_are_refused_before_sending(call: object, message: str) -> None:
    async with GatewayClient.connect("127.0.0.1:1", plaintext=True, eager=False) as c:
        session = c.session("session-" + "0" * 32)
        with pytest.raises(mxgw.ConfigurationError, match=message):
            await call(session)  # type: ignore[operator]
