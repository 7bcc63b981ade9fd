"""The MxAccessGateway gRPC handlers over the simulated runtime."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._proto.mxaccess_gateway import v1 as pb
from .auth import require
from .commands import SCOPES, execute, reply_for
from .runtime import GatewayRuntime

GATEWAY_PROTOCOL_VERSION = 3
WORKER_PROTOCOL_VERSION = 1
CAPABILITIES = [
    "invoke", "events", "bulk", "read-bulk", "write-bulk", "secured-write", "buffered",
    "replay", "galaxy-repository",
]


def _ok(message: str = "") -> pb.ProtocolStatus:
    return pb.ProtocolStatus(code=pb.ProtocolStatusCode.OK, message=message)


class GatewayService(pb.MxAccessGatewayBase):
    """OpenSession, CloseSession, Invoke and StreamEvents."""

    def __init__(self, runtime: GatewayRuntime) -> None:
        self.runtime = runtime

    async def open_session(self, message: pb.OpenSessionRequest) -> pb.OpenSessionReply:
        session = self.runtime.open_session(message.client_session_name or "client")
        return pb.OpenSessionReply(
            session_id=session.id, backend_name="mxaccess-worker",
            gateway_protocol_version=GATEWAY_PROTOCOL_VERSION,
            worker_protocol_version=WORKER_PROTOCOL_VERSION,
            protocol_status=_ok(), capabilities=list(CAPABILITIES),
        )

    async def close_session(self, message: pb.CloseSessionRequest) -> pb.CloseSessionReply:
        state = self.runtime.close_session(message.session_id)
        if state is None:
            return pb.CloseSessionReply(
                session_id=message.session_id, final_state=pb.SessionState.UNSPECIFIED,
                protocol_status=pb.ProtocolStatus(
                    code=pb.ProtocolStatusCode.SESSION_NOT_FOUND,
                    message=f"no session {message.session_id}"))
        return pb.CloseSessionReply(session_id=message.session_id, final_state=state,
                                    protocol_status=_ok())

    async def invoke(self, message: pb.MxCommandRequest) -> pb.MxCommandReply:
        kind = message.command.kind if message.command else pb.MxCommandKind.UNSPECIFIED
        require(SCOPES.get(kind, "invoke:read"))
        session = self.runtime.find(message.session_id)
        if session is None:
            return reply_for(message.session_id, message, kind,
                             pb.ProtocolStatusCode.SESSION_NOT_FOUND,
                             f"no session {message.session_id}")
        if session.state != pb.SessionState.READY:
            return reply_for(message.session_id, message, kind,
                             pb.ProtocolStatusCode.SESSION_NOT_READY,
                             f"session is {session.state.name}")
        return execute(session, message)

    async def stream_events(self, message: pb.StreamEventsRequest) -> AsyncIterator[pb.MxEvent]:
        session = self.runtime.find(message.session_id)
        if session is None:
            raise GRPCError(Status.NOT_FOUND, f"no session {message.session_id}")
        if session.state == pb.SessionState.FAULTED:
            raise GRPCError(Status.FAILED_PRECONDITION, "session is FAULTED")
        session.events.attach(message.after_worker_sequence)
        session.detached_at = None
        try:
            while True:
                event = await session.events.next_event()
                session.last_activity = time.monotonic()
                yield event
        finally:
            session.events.detach()
            session.detached_at = time.monotonic()
