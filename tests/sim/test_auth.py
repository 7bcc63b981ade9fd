"""API keys: UNAUTHENTICATED without a valid key, PERMISSION_DENIED without the scope."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw._proto.mxaccess_gateway.v1.services import MxAccessGatewayStub
from mxgw.contract.commands import command

from .conftest import KEY, OK, Gateway, GatewayFactory

READER = "mxgw_reader_R3aderSecretValue"
WRITER = "mxgw_writer_Wr1terSecretValue"
SECURE = "mxgw_secure_S3cureSecretValue"
KEYS = [
    f"{READER}=session:open,session:close,invoke:read",
    f"{WRITER}=session:open,invoke:read,invoke:write,events:read",
    f"{SECURE}=invoke:secure",
    KEY,
]


async def _status(call: object) -> Status | None:
    try:
        await call  # type: ignore[misc]
    except GRPCError as exc:
        return exc.status
    return None


async def test_missing_or_wrong_keys_are_unauthenticated_and_never_echoed(
    make_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="mxgw")
    anonymous = await make_gateway(key=None)
    with pytest.raises(GRPCError) as caught:
        await anonymous.stub.open_session(pb.OpenSessionRequest())
    assert caught.value.status == Status.UNAUTHENTICATED
    wrong = "mxgw_simtest_WrongSecretNeverShown"
    bad = await make_gateway(key=wrong)
    for call in (bad.stub.open_session(pb.OpenSessionRequest()),
                 bad.stub.invoke(pb.MxCommandRequest(session_id="session-x",
                                                     command=command(pb.RegisterCommand())))):
        with pytest.raises(GRPCError) as caught:
            await call
        assert caught.value.status == Status.UNAUTHENTICATED
        assert "WrongSecret" not in str(caught.value.message)
        assert "WrongSecret" not in repr(caught.value.details)
    assert "WrongSecret" not in caplog.text and "S3cretForSimTests" not in caplog.text


async def test_each_method_and_command_kind_needs_its_scope(make_gateway: GatewayFactory) -> None:
    admin = await make_gateway(api_keys=KEYS)
    session = await admin.open()
    server = await admin.register(session)
    item = await admin.add(session, server, "TestMachine_001.TestInt")
    port = admin.sim.port

    def as_key(key: str) -> MxAccessGatewayStub:
        return MxAccessGatewayStub(admin.channel, metadata={"authorization": f"Bearer {key}"})

    reader, writer, secure = as_key(READER), as_key(WRITER), as_key(SECURE)
    assert port > 0

    def invoke(stub: MxAccessGatewayStub, payload: Any) -> Any:
        return stub.invoke(pb.MxCommandRequest(session_id=session, command=command(payload)))

    write = pb.WriteCommand(server_handle=server, item_handle=item,
                            value=pb.MxValue(int32_value=1))
    write_bulk = pb.WriteBulkCommand(server_handle=server,
                                     entries=[pb.WriteBulkEntry(item_handle=item)])
    secured = pb.WriteSecuredCommand(server_handle=server, item_handle=item)
    login = pb.AuthenticateUserCommand(server_handle=server, user_name="operator",
                                       password="operator")
    read = pb.ReadBulkCommand(server_handle=server, tag_addresses=["TestMachine_001.TestInt"])

    denied = Status.PERMISSION_DENIED
    assert await _status(invoke(reader, write)) == denied
    assert await _status(invoke(reader, write_bulk)) == denied
    assert await _status(invoke(reader, secured)) == denied
    assert await _status(invoke(writer, login)) == denied
    assert await _status(invoke(secure, read)) == denied
    assert await _status(reader.stream_events(
        pb.StreamEventsRequest(session_id=session)).__anext__()) == denied
    assert await _status(writer.close_session(pb.CloseSessionRequest(session_id=session))) \
        == denied
    assert await _status(secure.open_session(pb.OpenSessionRequest())) == denied

    assert await _status(invoke(reader, read)) is None
    assert await _status(invoke(writer, write)) is None
    assert await _status(invoke(secure, login)) is None
    reply = await reader.close_session(pb.CloseSessionRequest(session_id=session))
    assert reply.protocol_status is not None and reply.protocol_status.code == OK


async def test_permission_denied_names_the_scope_not_the_key(make_gateway: GatewayFactory) -> None:
    gw: Gateway = await make_gateway(api_keys=KEYS, key=READER)
    session = await gw.open()
    with pytest.raises(GRPCError) as caught:
        await gw.invoke(session, pb.WriteCommand())
    assert caught.value.status == Status.PERMISSION_DENIED
    assert "invoke:write" in str(caught.value.message)
    assert "R3aderSecret" not in str(caught.value.message)


async def test_a_key_limited_to_galaxy_subtrees(make_gateway: GatewayFactory) -> None:
    limited = "mxgw_area_L1mitedSecretValue"
    spec = f"{limited}=session:open,invoke:read,subtree:TestMachine_001"
    gw = await make_gateway(api_keys=[spec], key=limited)
    session = await gw.open()
    server = await gw.register(session)
    tags = ["TestMachine_001.TestInt", "TestMachine_002.TestInt", "TestChildObject.TestInt",
            "Nope.Missing"]
    reply = await gw.ok(session, pb.SubscribeBulkCommand(server_handle=server,
                                                         tag_addresses=tags))
    assert reply.bulk_subscribe is not None
    results = reply.bulk_subscribe.results
    assert [r.was_successful for r in results] == [True, False, True, False]
    assert "subtrees" in results[1].error_message
    read = await gw.ok(session, pb.ReadBulkCommand(server_handle=server, tag_addresses=tags[:2]))
    assert read.bulk_read is not None
    assert [r.was_successful for r in read.bulk_read.results] == [True, False]
    assert await gw.add(session, server, "TestMachine_001.TestBool") > 0
    with pytest.raises(GRPCError) as caught:
        await gw.add(session, server, "TestMachine_003.TestBool")
    assert caught.value.status == Status.PERMISSION_DENIED


async def test_without_authentication_every_call_is_accepted_without_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mxgw sim --no-auth`: a gateway with Authentication:Mode=Disabled, so upstream's
    key-less examples run; no scope is checked."""
    from mxgw import GatewayClient
    from mxgw.sim import SimConfig, SimServer

    from ..conftest import first_data_change

    monkeypatch.delenv("MXGATEWAY_API_KEY", raising=False)
    async with SimServer(SimConfig(no_auth=True)) as sim:
        assert sim.api_key is None and sim.generated_key is None
        async with GatewayClient.connect(sim.endpoint, plaintext=True) as client:
            async with await client.open_session("keyless") as session:
                server = await session.register("keyless")
                item = await session.add_item(server, "TestMachine_001.TestInt")
                await session.advise(server, item)
                async with session.events() as events:
                    change = await first_data_change(events, item)
                assert change.on_data_change is not None
                assert change.on_data_change.quality == 192
            assert await client.galaxy().test_connection()
    with pytest.raises(ValueError, match="no_auth"):
        SimServer(SimConfig(no_auth=True, api_keys=["mxgw_a_bbbbbbbbbbbbbbbb"]))
