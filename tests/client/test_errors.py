"""Each failure layer maps to its typed exception: transport, gRPC status, protocol status,
MXAccess, deadlines and message size limits."""

from __future__ import annotations

import asyncio
import importlib
import socket
from typing import Any

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

import mxgw
from mxgw import GatewayClient, Session, pb
from mxgw.calls import translate
from mxgw.errors import PROTOCOL_ERRORS, RPC_ERRORS, protocol_error
from mxgw.failures import check_reply
from mxgw.sim import RuntimeConfig, SimServer

from ..conftest import TEST_KEY, first_data_change
from .conftest import GatewayOpener

P = pb.ProtocolStatusCode


# ------------------------------------------------------------------ gRPC status

@pytest.mark.parametrize("status", [s for s in Status if s is not Status.OK])
def test_every_grpc_status_has_its_own_exception(status: Status) -> None:
    error = translate(GRPCError(status, "why"), "Invoke", "gw:1")
    if status is Status.DEADLINE_EXCEEDED:
        assert isinstance(error, mxgw.DeadlineExceededError)
    else:
        assert type(error) is RPC_ERRORS[status.name]
        assert isinstance(error, mxgw.RpcError)
        assert (error.status_name, error.grpc_message, error.code) == (status.name, "why",
                                                                       status.name)


async def test_too_many_sessions_is_resource_exhausted(open_gateway: GatewayOpener) -> None:
    _, session = await open_gateway(RuntimeConfig(max_sessions=1))
    with pytest.raises(mxgw.ResourceExhaustedError):
        await session.client.open_session()


# ------------------------------------------------------------------ protocol status

@pytest.mark.parametrize("code", [c for c in P if c not in (P.OK, P.MXACCESS_FAILURE)])
async def test_every_protocol_status_has_its_own_exception(
    sim: SimServer, session: Session, code: pb.ProtocolStatusCode,
) -> None:
    sim.faults.fail_status = code
    sim.faults.fail_fraction = 1.0
    try:
        with pytest.raises(mxgw.ProtocolStatusError) as caught:
            await session.register("x")
        # invoke_raw raises for protocol failures too (only MXAccess ones stay in the reply)
        with pytest.raises(mxgw.ProtocolStatusError):
            await session.invoke_raw(pb.MxCommand(
                kind=pb.MxCommandKind.REGISTER,
                register_command=pb.RegisterCommand(client_name="x")))
    finally:
        sim.faults.fail_fraction = 0.0
    error = caught.value
    assert type(error) is PROTOCOL_ERRORS.get(code.name, mxgw.ProtocolStatusError)
    assert error.status == code and error.code == code.proto_name
    assert isinstance(error.reply, pb.MxCommandReply)


def test_the_protocol_errors_name_protocol_status_codes() -> None:
    assert set(PROTOCOL_ERRORS) <= {c.name for c in P} - {"OK", "MXACCESS_FAILURE"}


async def test_a_mismatched_payload_is_invalid_request(session: Session) -> None:
    with pytest.raises(mxgw.InvalidRequestError):
        await session.invoke_raw(pb.MxCommand(
            kind=pb.MxCommandKind.WRITE, register_command=pb.RegisterCommand(client_name="x")))


async def test_a_faulted_session_is_not_ready(sim: SimServer, session: Session) -> None:
    assert sim.runtime.fault_session(session.id)
    with pytest.raises(mxgw.SessionNotReadyError):
        await session.register("x")


# ------------------------------------------------------------------ the two cancel errors

def test_grpc_cancelled_raises_rpc_cancelled_error() -> None:
    assert RPC_ERRORS["CANCELLED"] is mxgw.RpcCancelledError
    error = translate(GRPCError(Status.CANCELLED, "stop"), "Invoke", "gw:1")
    assert type(error) is mxgw.RpcCancelledError and error.code == "CANCELLED"
    assert isinstance(error, mxgw.RpcError)
    assert not isinstance(error, asyncio.CancelledError)


def test_protocol_canceled_raises_command_canceled_error() -> None:
    assert PROTOCOL_ERRORS[P.CANCELED.name] is mxgw.CommandCanceledError
    error = protocol_error(pb.ProtocolStatus(code=P.CANCELED, message="stop"), None)
    assert type(error) is mxgw.CommandCanceledError
    assert error.code == "PROTOCOL_STATUS_CODE_CANCELED"
    assert isinstance(error, mxgw.ProtocolStatusError)


async def test_a_canceled_command_from_the_gateway_is_command_canceled_error(
    sim: SimServer, session: Session,
) -> None:
    sim.faults.fail_status = P.CANCELED
    sim.faults.fail_fraction = 1.0
    try:
        with pytest.raises(mxgw.CommandCanceledError):
            await session.register("x")
    finally:
        sim.faults.fail_fraction = 0.0


@pytest.mark.parametrize("module", ["mxgw", "mxgw.errors"])
@pytest.mark.parametrize(("old", "new"), [("CancelledError", "RpcCancelledError"),
                                          ("CanceledError", "CommandCanceledError")])
def test_the_old_cancel_names_still_work_but_warn(module: str, old: str, new: str) -> None:
    namespace = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=f"{module}.{old} is deprecated.*{new}") as caught:
        cls = getattr(namespace, old)
    assert cls is getattr(mxgw, new) and cls is getattr(mxgw.errors, new)
    assert caught[0].filename == __file__  # the warning points at the caller
    assert old not in getattr(namespace, "__all__", ())
    assert new in mxgw.__all__


def test_importing_an_old_name_warns_too() -> None:
    with pytest.warns(DeprecationWarning, match="RpcCancelledError"):
        from mxgw import CancelledError
    assert CancelledError is mxgw.RpcCancelledError
    unknown = "NoSuchError"  # any other unknown name still fails
    with pytest.raises(AttributeError, match=unknown):
        getattr(mxgw, unknown)
    with pytest.raises(AttributeError, match=unknown):
        getattr(mxgw.errors, unknown)


# ------------------------------------------------------------------ MXAccess (fixtures)

def _status(category: pb.MxStatusCategory, source: pb.MxStatusSource, detail: int = 0,
            raw: tuple[int, int] = (0, 0)) -> pb.MxStatusProxy:
    return pb.MxStatusProxy(success=0, category=category, detected_by=source, detail=detail,
                            raw_category=raw[0], raw_detected_by=raw[1])


def test_the_register_fixture_is_a_success() -> None:
    reply = pb.MxCommandReply(
        kind=pb.MxCommandKind.REGISTER, protocol_status=pb.ProtocolStatus(code=P.OK),
        hresult=0, return_value=mxgw.to_mx_value(12),
        statuses=[_status(pb.MxStatusCategory.OK, pb.MxStatusSource.RESPONDING_LMX)],
        register=pb.RegisterReply(server_handle=12))
    assert check_reply(reply) is reply


def test_the_write_failure_fixture_raises_with_hresult_and_statuses() -> None:
    statuses = [
        _status(pb.MxStatusCategory.SECURITY_ERROR, pb.MxStatusSource.RESPONDING_LMX, 321,
                (8, 3)),
        _status(pb.MxStatusCategory.OPERATIONAL_ERROR, pb.MxStatusSource.RESPONDING_NMX, 902,
                (7, 5)),
    ]
    reply = pb.MxCommandReply(
        kind=pb.MxCommandKind.WRITE,
        protocol_status=pb.ProtocolStatus(code=P.MXACCESS_FAILURE, message="write failed"),
        hresult=-2147220992, return_value=mxgw.to_mx_value(None), statuses=statuses)
    with pytest.raises(mxgw.MxAccessError) as caught:
        check_reply(reply)
    error = caught.value
    assert error.reply is reply and error.hresult == -2147220992
    assert [s.raw_category for s in error.statuses] == [8, 7]
    assert "0x80040200" in str(error) and "detail 321" in str(error)


@pytest.mark.parametrize(("status", "hresult", "fails"), [
    (pb.MxStatusProxy(), 0, False),  # all-default: never a failure
    (_status(pb.MxStatusCategory.WARNING, pb.MxStatusSource.RESPONDING_LMX), 0, False),
    (_status(pb.MxStatusCategory.PENDING, pb.MxStatusSource.RESPONDING_LMX), 0, False),
    (pb.MxStatusProxy(success=0, category=pb.MxStatusCategory.OK), 0, False),  # success ignored
    (pb.MxStatusProxy(success=-1, category=pb.MxStatusCategory.COMMUNICATION_ERROR), 0, True),
    (pb.MxStatusProxy(), -2147467259, True),  # a failing hresult alone
])
def test_failure_is_decided_on_category_and_hresult(status: pb.MxStatusProxy, hresult: int,
                                                    fails: bool) -> None:
    reply = pb.MxCommandReply(protocol_status=pb.ProtocolStatus(code=P.OK), hresult=hresult,
                              statuses=[status])
    if fails:
        with pytest.raises(mxgw.MxAccessError):
            check_reply(reply)
    else:
        assert check_reply(reply) is reply


# ------------------------------------------------------------------ deadlines

async def test_a_local_deadline_on_a_unary_call(sim: SimServer) -> None:
    sim.faults.latency_ms = 2000
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True,
                                     timeout=0.2) as c:
        with pytest.raises(mxgw.DeadlineExceededError) as caught:
            await c.open_session()
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.code == "DEADLINE_EXCEEDED"


async def test_a_local_deadline_on_a_stream(client: GatewayClient, session: Session) -> None:
    with pytest.raises(mxgw.DeadlineExceededError):
        async for _ in client.stream_events_raw(session.id, timeout=0.2):
            pass


async def test_a_per_call_timeout_overrides_the_default(sim: SimServer,
                                                        session: Session) -> None:
    sim.faults.latency_ms = 300
    with pytest.raises(mxgw.DeadlineExceededError):
        await session.invoke(pb.MxCommand(kind=pb.MxCommandKind.REGISTER,
                                          register_command=pb.RegisterCommand(client_name="x")),
                             timeout=0.05)


# ------------------------------------------------------------------ transport

async def test_an_unknown_host_is_a_connect_error() -> None:
    with pytest.raises(mxgw.ConnectError) as caught:
        await GatewayClient.connect("no-such-host.invalid:5001", plaintext=True)
    assert "no-such-host.invalid:5001" in str(caught.value)
    assert caught.value.__cause__ is None  # no raw socket error chained for display


async def test_a_silent_peer_hits_the_connect_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepted by the kernel, never answered
        port = listener.getsockname()[1]
        with pytest.raises(mxgw.MxGatewayError) as caught:
            await GatewayClient.connect(f"127.0.0.1:{port}", plaintext=True,
                                        connect_timeout=0.3)
    assert isinstance(caught.value, (mxgw.DeadlineExceededError, mxgw.TransportError))


@pytest.mark.parametrize("no_resume", [{"resume": False}, {"max_resume_attempts": 0}])
async def test_a_connection_lost_mid_stream_is_connection_lost(
    sim: SimServer, session: Session, no_resume: dict[str, Any],
) -> None:
    server = await session.register("x")
    item = await session.add_item(server, "TestMachine_001.TestInt")
    await session.advise(server, item)
    async with session.events(**no_resume) as events:
        await asyncio.wait_for(events.__anext__(), 10)  # the stream is up
        assert await sim.drop_connections() == 1
        with pytest.raises(mxgw.ConnectionLostError) as caught:
            await asyncio.wait_for(events.__anext__(), 10)
    assert caught.value.endpoint == sim.endpoint


# ------------------------------------------------------------------ message size

async def test_a_request_over_the_limit_is_refused_before_sending() -> None:
    async with GatewayClient.connect("127.0.0.1:1", plaintext=True, eager=False,
                                     max_message_bytes=64 * 1024) as c:
        with pytest.raises(mxgw.RequestTooLargeError) as caught:
            await c.session("session-" + "0" * 32).write(1, 1, "x" * 70_000)
    assert caught.value.limit == 64 * 1024 and caught.value.size > 70_000


async def test_a_reply_over_the_limit_is_refused(sim: SimServer, session: Session) -> None:
    server = await session.register("big")
    [item] = await session.subscribe_bulk(server, ["TestMachine_002.TestString"])
    async with session.events() as events:
        await first_data_change(events, item.item_handle)
    await session.write(server, item.item_handle, "z" * 6000)
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True,
                                     max_message_bytes=4096) as small:
        reader = small.session(session.id)

        async def read_big() -> None:
            while True:
                [result] = await reader.read_bulk(server, ["TestMachine_002.TestString"])
                if len(str(mxgw.from_mx_value(result.value))) < 6000:
                    continue  # the write has not landed yet

        with pytest.raises(mxgw.ReplyTooLargeError) as caught:
            await asyncio.wait_for(read_big(), 10)
    assert caught.value.size > 6000 and caught.value.limit == 4096
    assert isinstance(caught.value, mxgw.ResourceExhaustedError)
