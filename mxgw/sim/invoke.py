"""Invoke: run one MxCommand with its kind's handler and build the MxCommandReply.

The handlers are those of `single_commands`, `bulk_commands` and `alarm_commands`, merged
here into one table.
"""

from __future__ import annotations

import betterproto2

from .._proto.mxaccess_gateway import v1 as pb
from . import alarm_commands, bulk_commands, single_commands
from .mx_status import status
from .mx_values import null_value
from .registry import Entry, InvalidRequest, merged
from .session import CommandFailure, SimSession

__all__ = ["HANDLERS", "execute", "reply_for"]

OK = pb.ProtocolStatusCode.OK

HANDLERS: dict[pb.MxCommandKind, Entry] = merged(single_commands.HANDLERS,
                                                  bulk_commands.HANDLERS,
                                                  alarm_commands.HANDLERS)
"""Command kind -> its handler: every command kind the simulator supports."""


def reply_for(session_id: str, request: pb.MxCommandRequest, kind: pb.MxCommandKind,
              code: pb.ProtocolStatusCode = OK, message: str = "") -> pb.MxCommandReply:
    """A reply skeleton with the request's ids and a protocol status."""
    return pb.MxCommandReply(
        session_id=session_id, correlation_id=request.client_correlation_id, kind=kind,
        protocol_status=pb.ProtocolStatus(code=code, message=message),
    )


async def execute(session: SimSession, request: pb.MxCommandRequest) -> pb.MxCommandReply:
    """Run one command; MXAccess failures come back as data, never as exceptions."""
    command = request.command if request.command is not None else pb.MxCommand()
    kind = command.kind
    entry = HANDLERS.get(kind)
    # One oneof arm is set at most (a parse keeps the last): the kind's own arm is enough.
    payload = getattr(command, entry.arm.name) if entry is not None else None
    if entry is None or payload is None:
        arm, _ = betterproto2.which_one_of(command, "payload")
        expected = entry.arm.name if entry else "a supported command kind"
        return reply_for(session.id, request, kind, pb.ProtocolStatusCode.INVALID_REQUEST,
                         f"kind {kind.proto_name if kind else kind} needs payload {expected}, "
                         f"got {arm or 'none'}")
    if entry.arm.entries is not None:
        count = len(getattr(payload, entry.arm.entries))
        limit = session.runtime.config.max_bulk
        if count > limit:
            return reply_for(session.id, request, kind, pb.ProtocolStatusCode.INVALID_REQUEST,
                             f"{kind.proto_name} has {count} entries; the gateway accepts at "
                             f"most {limit} per command: split it")
    reply = reply_for(session.id, request, kind)
    try:
        result = await entry.handler(session, payload)
    except InvalidRequest as exc:
        return reply_for(session.id, request, kind, pb.ProtocolStatusCode.INVALID_REQUEST,
                         str(exc))
    except CommandFailure as failure:
        reply.protocol_status = pb.ProtocolStatus(
            code=pb.ProtocolStatusCode.MXACCESS_FAILURE, message=str(failure))
        reply.hresult = failure.hresult
        reply.return_value = null_value()
        reply.statuses = failure.statuses
        reply.diagnostic_message = str(failure)
        return reply
    reply.statuses = [status()]
    if result is not None:
        value, typed = result
        reply.return_value = value
        if typed is not None and entry.arm.result is not None:
            setattr(reply, entry.arm.result, typed)
    return reply
