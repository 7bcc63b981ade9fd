"""Invoke: one handler per MXAccess command kind, each returning the typed reply parts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import betterproto2

from .._proto.mxaccess_gateway import v1 as pb
from . import wire
from .runtime import E_INVALIDARG, MX_E_FAILURE, CommandFailure, SimSession

K = pb.MxCommandKind
OK = pb.ProtocolStatusCode.OK

# What a handler returns: (return_value, typed-result arm name, typed result) or None.
Result = tuple[pb.MxValue | None, str | None, Any] | None
Handler = Callable[[SimSession, Any], Result]

HANDLERS: dict[pb.MxCommandKind, tuple[str, Handler]] = {}
"""Command kind -> (payload arm, handler)."""

SCOPES: dict[pb.MxCommandKind, str] = {
    K.WRITE: "invoke:write", K.WRITE2: "invoke:write",
    K.WRITE_BULK: "invoke:write", K.WRITE2_BULK: "invoke:write",
    K.WRITE_SECURED: "invoke:secure", K.WRITE_SECURED2: "invoke:secure",
    K.WRITE_SECURED_BULK: "invoke:secure", K.WRITE_SECURED2_BULK: "invoke:secure",
    K.AUTHENTICATE_USER: "invoke:secure",
}
"""The scope each command kind needs; every other kind needs invoke:read."""


def handles(kind: pb.MxCommandKind, arm: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        HANDLERS[kind] = (arm, func)
        return func
    return register


def _int_result(value: int) -> pb.MxValue:
    return wire.to_mx(value, 2)


@handles(K.REGISTER, "register_command")
def _register(session: SimSession, cmd: pb.RegisterCommand) -> Result:
    handle = session.register(cmd.client_name)
    return _int_result(handle), "register", pb.RegisterReply(server_handle=handle)


@handles(K.UNREGISTER, "unregister_command")
def _unregister(session: SimSession, cmd: pb.UnregisterCommand) -> Result:
    session.unregister(cmd.server_handle)
    return None


@handles(K.ADD_ITEM, "add_item_command")
def _add_item(session: SimSession, cmd: pb.AddItemCommand) -> Result:
    item = session.add_item(cmd.server_handle, cmd.item_definition)
    return _int_result(item.handle), "add_item", pb.AddItemReply(item_handle=item.handle)


@handles(K.ADD_ITEM2, "add_item2_command")
def _add_item2(session: SimSession, cmd: pb.AddItem2Command) -> Result:
    item = session.add_item(cmd.server_handle, cmd.item_definition, cmd.item_context)
    return _int_result(item.handle), "add_item2", pb.AddItem2Reply(item_handle=item.handle)


@handles(K.ADD_BUFFERED_ITEM, "add_buffered_item_command")
def _add_buffered(session: SimSession, cmd: pb.AddBufferedItemCommand) -> Result:
    item = session.add_item(cmd.server_handle, cmd.item_definition, cmd.item_context,
                            buffered=True)
    return (_int_result(item.handle), "add_buffered_item",
            pb.AddBufferedItemReply(item_handle=item.handle))


@handles(K.SET_BUFFERED_UPDATE_INTERVAL, "set_buffered_update_interval_command")
def _set_interval(session: SimSession, cmd: pb.SetBufferedUpdateIntervalCommand) -> Result:
    session.server_handle(cmd.server_handle)
    if cmd.interval_ms <= 0:
        raise CommandFailure(E_INVALIDARG, "interval_ms must be > 0")
    session.buffered_interval_ms = cmd.interval_ms
    return None


@handles(K.REMOVE_ITEM, "remove_item_command")
def _remove_item(session: SimSession, cmd: pb.RemoveItemCommand) -> Result:
    session.remove_item(cmd.server_handle, cmd.item_handle)
    return None


@handles(K.ADVISE, "advise_command")
def _advise(session: SimSession, cmd: pb.AdviseCommand) -> Result:
    session.advise(session.item(cmd.server_handle, cmd.item_handle), supervisory=False)
    return None


@handles(K.ADVISE_SUPERVISORY, "advise_supervisory_command")
def _advise_supervisory(session: SimSession, cmd: pb.AdviseSupervisoryCommand) -> Result:
    session.advise(session.item(cmd.server_handle, cmd.item_handle), supervisory=True)
    return None


@handles(K.UN_ADVISE, "un_advise_command")
def _unadvise(session: SimSession, cmd: pb.UnAdviseCommand) -> Result:
    session.unadvise(session.item(cmd.server_handle, cmd.item_handle))
    return None


def _operation(session: SimSession, item_cmd: Any, suspended: bool) -> Result:
    item = session.item(item_cmd.server_handle, item_cmd.item_handle)
    item.suspended = suspended
    asyncio.get_running_loop().call_soon(
        lambda: session.emit(pb.MxEventFamily.OPERATION_COMPLETE, item,
                             operation_complete=pb.OperationCompleteEvent(
                                 statuses=[wire.status()])))
    return None


@handles(K.SUSPEND, "suspend_command")
def _suspend(session: SimSession, cmd: pb.SuspendCommand) -> Result:
    return _operation(session, cmd, True)


@handles(K.ACTIVATE, "activate_command")
def _activate(session: SimSession, cmd: pb.ActivateCommand) -> Result:
    return _operation(session, cmd, False)


def _write(session: SimSession, cmd: Any, *, secured: bool, timed: bool) -> Result:
    item = session.item(cmd.server_handle, cmd.item_handle)
    if cmd.value is None:
        raise CommandFailure(E_INVALIDARG, "a write needs a value")
    session.write(
        item, cmd.value,
        user_id=cmd.current_user_id if secured else cmd.user_id,
        verifier_id=cmd.verifier_user_id if secured else 0,
        secured=secured, timestamp=cmd.timestamp_value if timed else None,
    )
    return None


@handles(K.WRITE, "write_command")
def _write1(session: SimSession, cmd: pb.WriteCommand) -> Result:
    return _write(session, cmd, secured=False, timed=False)


@handles(K.WRITE2, "write2_command")
def _write2(session: SimSession, cmd: pb.Write2Command) -> Result:
    return _write(session, cmd, secured=False, timed=True)


@handles(K.WRITE_SECURED, "write_secured_command")
def _write_secured(session: SimSession, cmd: pb.WriteSecuredCommand) -> Result:
    return _write(session, cmd, secured=True, timed=False)


@handles(K.WRITE_SECURED2, "write_secured2_command")
def _write_secured2(session: SimSession, cmd: pb.WriteSecured2Command) -> Result:
    return _write(session, cmd, secured=True, timed=True)


@handles(K.AUTHENTICATE_USER, "authenticate_user_command")
def _authenticate(session: SimSession, cmd: pb.AuthenticateUserCommand) -> Result:
    session.server_handle(cmd.server_handle)
    user_id = session.runtime.users.authenticate(cmd.user_name, cmd.password)
    if user_id is None:
        raise CommandFailure(MX_E_FAILURE, "authentication failed", [
            wire.status(wire.CAT_SECURITY, wire.SRC_REQUESTING_LMX, 1016,
                        "user name or password is wrong")])
    return (_int_result(user_id), "authenticate_user",
            pb.AuthenticateUserReply(user_id=user_id))


@handles(K.ARCHESTRA_USER_TO_ID, "archestra_user_to_id_command")
def _user_to_id(session: SimSession, cmd: pb.ArchestrAUserToIdCommand) -> Result:
    session.server_handle(cmd.server_handle)
    user_id = session.runtime.users.from_guid(cmd.user_guid)
    if user_id is None:
        raise CommandFailure(E_INVALIDARG, f"unknown user GUID {cmd.user_guid}")
    return (_int_result(user_id), "archestra_user_to_id",
            pb.ArchestrAUserToIdReply(user_id=user_id))


def reply_for(session_id: str, request: pb.MxCommandRequest, kind: pb.MxCommandKind,
              code: pb.ProtocolStatusCode = OK, message: str = "") -> pb.MxCommandReply:
    """A reply skeleton with the request's ids and a protocol status."""
    return pb.MxCommandReply(
        session_id=session_id, correlation_id=request.client_correlation_id, kind=kind,
        protocol_status=pb.ProtocolStatus(code=code, message=message),
    )


def execute(session: SimSession, request: pb.MxCommandRequest) -> pb.MxCommandReply:
    """Run one command; MXAccess failures come back as data, never as exceptions."""
    command = request.command or pb.MxCommand()
    kind = command.kind
    entry = HANDLERS.get(kind)
    arm, payload = betterproto2.which_one_of(command, "payload")
    if entry is None or arm != entry[0] or payload is None:
        expected = entry[0] if entry else "a supported command"
        return reply_for(session.id, request, kind, pb.ProtocolStatusCode.INVALID_REQUEST,
                         f"kind {kind!s} needs payload {expected}, got {arm or 'none'}")
    reply = reply_for(session.id, request, kind)
    try:
        result = entry[1](session, payload)
    except CommandFailure as failure:
        reply.protocol_status = pb.ProtocolStatus(
            code=pb.ProtocolStatusCode.MXACCESS_FAILURE, message=str(failure))
        reply.hresult = failure.hresult
        reply.return_value = wire.null_value()
        reply.statuses = failure.statuses
        reply.diagnostic_message = str(failure)
        return reply
    reply.statuses = [wire.status()]
    if result is not None:
        value, result_arm, typed = result
        reply.return_value = value
        if result_arm is not None:
            setattr(reply, result_arm, typed)
    return reply
