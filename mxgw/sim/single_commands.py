"""The single (not bulk) MXAccess commands' handlers: register, items, advise, writes, users."""

from __future__ import annotations

from typing import Any

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._proto.mxaccess_gateway import v1 as pb
from .auth import refused_reference
from .mx_status import CAT_SECURITY, SRC_REQUESTING_LMX, status
from .mx_values import to_mx
from .registry import HandlerTable, Result
from .session import E_INVALIDARG, MX_E_FAILURE, USER_LACKS_RIGHTS, CommandFailure, SimSession

K = pb.MxCommandKind

HANDLERS = HandlerTable()
"""The handlers of this module, by command kind."""
handles = HANDLERS.handles


def write_one(session: SimSession, server_handle: int, cmd: Any, *, secured: bool,
              timed: bool) -> None:
    """One Write/Write2/WriteSecured/WriteSecured2 (a command or a bulk entry)."""
    item = session.item(server_handle, cmd.item_handle)
    session.write(
        item, cmd.value,
        user_id=cmd.current_user_id if secured else cmd.user_id,
        verifier_id=cmd.verifier_user_id if secured else 0,
        secured=secured, timestamp=cmd.timestamp_value if timed else None,
    )


def _int_result(value: int) -> pb.MxValue:
    return to_mx(value, 2)


def _allowed(session: SimSession, reference: str) -> None:
    """PERMISSION_DENIED for a reference outside the caller's Galaxy subtrees."""
    refusal = refused_reference(session.runtime.galaxy, reference)
    if refusal is not None:
        raise GRPCError(Status.PERMISSION_DENIED, refusal)


@handles(K.REGISTER)
async def _register(session: SimSession, cmd: pb.RegisterCommand) -> Result:
    handle = session.register(cmd.client_name)
    return _int_result(handle), pb.RegisterReply(server_handle=handle)


@handles(K.UNREGISTER)
async def _unregister(session: SimSession, cmd: pb.UnregisterCommand) -> Result:
    session.unregister(cmd.server_handle)
    return None


@handles(K.ADD_ITEM)
async def _add_item(session: SimSession, cmd: pb.AddItemCommand) -> Result:
    _allowed(session, cmd.item_definition)
    item = session.add_item(cmd.server_handle, cmd.item_definition)
    return _int_result(item.handle), pb.AddItemReply(item_handle=item.handle)


@handles(K.ADD_ITEM2)
async def _add_item2(session: SimSession, cmd: pb.AddItem2Command) -> Result:
    _allowed(session, cmd.item_definition)
    item = session.add_item(cmd.server_handle, cmd.item_definition, cmd.item_context)
    return _int_result(item.handle), pb.AddItem2Reply(item_handle=item.handle)


@handles(K.ADD_BUFFERED_ITEM)
async def _add_buffered(session: SimSession, cmd: pb.AddBufferedItemCommand) -> Result:
    _allowed(session, cmd.item_definition)
    item = session.add_item(cmd.server_handle, cmd.item_definition, cmd.item_context,
                            buffered=True)
    return (_int_result(item.handle), pb.AddBufferedItemReply(item_handle=item.handle))


@handles(K.SET_BUFFERED_UPDATE_INTERVAL)
async def _set_interval(session: SimSession, cmd: pb.SetBufferedUpdateIntervalCommand) -> Result:
    session.server_handle(cmd.server_handle)
    if cmd.interval_ms <= 0:
        raise CommandFailure(E_INVALIDARG, "interval_ms must be > 0")
    session.buffered_interval_ms = cmd.interval_ms
    return None


@handles(K.REMOVE_ITEM)
async def _remove_item(session: SimSession, cmd: pb.RemoveItemCommand) -> Result:
    session.remove_item(cmd.server_handle, cmd.item_handle)
    return None


@handles(K.ADVISE)
async def _advise(session: SimSession, cmd: pb.AdviseCommand) -> Result:
    session.advise(session.item(cmd.server_handle, cmd.item_handle), supervisory=False)
    return None


@handles(K.ADVISE_SUPERVISORY)
async def _advise_supervisory(session: SimSession, cmd: pb.AdviseSupervisoryCommand) -> Result:
    session.advise(session.item(cmd.server_handle, cmd.item_handle), supervisory=True)
    return None


@handles(K.UN_ADVISE)
async def _unadvise(session: SimSession, cmd: pb.UnAdviseCommand) -> Result:
    session.unadvise(session.item(cmd.server_handle, cmd.item_handle))
    return None


@handles(K.SUSPEND)
async def _suspend(session: SimSession, cmd: pb.SuspendCommand) -> Result:
    session.set_suspended(session.item(cmd.server_handle, cmd.item_handle), True)
    return None


@handles(K.ACTIVATE)
async def _activate(session: SimSession, cmd: pb.ActivateCommand) -> Result:
    session.set_suspended(session.item(cmd.server_handle, cmd.item_handle), False)
    return None


@handles(K.WRITE)
async def _write1(session: SimSession, cmd: pb.WriteCommand) -> Result:
    write_one(session, cmd.server_handle, cmd, secured=False, timed=False)
    return None


@handles(K.WRITE2)
async def _write2(session: SimSession, cmd: pb.Write2Command) -> Result:
    write_one(session, cmd.server_handle, cmd, secured=False, timed=True)
    return None


@handles(K.WRITE_SECURED)
async def _write_secured(session: SimSession, cmd: pb.WriteSecuredCommand) -> Result:
    write_one(session, cmd.server_handle, cmd, secured=True, timed=False)
    return None


@handles(K.WRITE_SECURED2)
async def _write_secured2(session: SimSession, cmd: pb.WriteSecured2Command) -> Result:
    write_one(session, cmd.server_handle, cmd, secured=True, timed=True)
    return None


@handles(K.AUTHENTICATE_USER)
async def _authenticate(session: SimSession, cmd: pb.AuthenticateUserCommand) -> Result:
    session.server_handle(cmd.server_handle)
    user_id = session.runtime.users.authenticate(cmd.user_name, cmd.password)
    if user_id is None:
        raise CommandFailure(MX_E_FAILURE, "authentication failed", [
            status(CAT_SECURITY, SRC_REQUESTING_LMX, USER_LACKS_RIGHTS,
                   "user name or password is wrong")])
    return (_int_result(user_id), pb.AuthenticateUserReply(user_id=user_id))


@handles(K.ARCHESTRA_USER_TO_ID)
async def _user_to_id(session: SimSession, cmd: pb.ArchestrAUserToIdCommand) -> Result:
    session.server_handle(cmd.server_handle)
    user_id = session.runtime.users.from_guid(cmd.user_guid)
    if user_id is None:
        raise CommandFailure(E_INVALIDARG, f"unknown user GUID {cmd.user_guid}")
    return (_int_result(user_id), pb.ArchestrAUserToIdReply(user_id=user_id))
