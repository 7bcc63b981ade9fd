"""The MxAccessGateway gRPC handlers over the simulated runtime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._proto.mxaccess_gateway import v1 as pb
from .._proto.mxaccess_gateway.v1.services import MxAccessGatewayBase
from ..log import logger
from . import alarm_service
from .auth import require
from .closing_streams import ClosingServerStreams
from .connections import PeerAddress, current_peer
from .invoke import execute, reply_for
from .registry import scope_of
from .runtime import GatewayRuntime
from .session import SimSession

log = logger("mxgw.sim")

GATEWAY_PROTOCOL_VERSION = 3
WORKER_PROTOCOL_VERSION = 1
CAPABILITIES = [
    "invoke", "events", "bulk", "read-bulk", "write-bulk", "secured-write", "buffered",
    "replay", "galaxy-repository",
]


def _ok(message: str = "") -> pb.ProtocolStatus:
    return pb.ProtocolStatus(code=pb.ProtocolStatusCode.OK, message=message)


class GatewayService(ClosingServerStreams, MxAccessGatewayBase):
    """OpenSession, CloseSession, Invoke, StreamEvents and the session-less alarm RPCs."""

    def __init__(self, runtime: GatewayRuntime,
                 drop_peer: Callable[[PeerAddress], int] | None = None,
                 liveness: Callable[[PeerAddress], Callable[[], bool]] | None = None) -> None:
        self.runtime = runtime
        self._drop_peer = drop_peer
        self._liveness = liveness

    async def _latency(self) -> None:
        if self.runtime.faults.latency_ms > 0:
            await asyncio.sleep(self.runtime.faults.latency_ms / 1000.0)

    async def open_session(self, message: pb.OpenSessionRequest) -> pb.OpenSessionReply:
        await self._latency()
        session = self.runtime.open_session(message.client_session_name or "client")
        return pb.OpenSessionReply(
            session_id=session.id, backend_name="mxaccess-worker",
            gateway_protocol_version=GATEWAY_PROTOCOL_VERSION,
            worker_protocol_version=WORKER_PROTOCOL_VERSION,
            protocol_status=_ok(), capabilities=self.capabilities(),
        )

    def capabilities(self) -> list[str]:
        """What OpenSessionReply advertises: alarm support only while the monitor is on."""
        alarms = alarm_service.ALARM_CAPABILITIES if self.runtime.alarms.enabled else ()
        return [*CAPABILITIES, *alarms]

    async def close_session(self, message: pb.CloseSessionRequest) -> pb.CloseSessionReply:
        await self._latency()
        closed = self.runtime.close_session(message.session_id)
        if closed is None:
            return pb.CloseSessionReply(
                session_id=message.session_id, final_state=pb.SessionState.UNSPECIFIED,
                protocol_status=pb.ProtocolStatus(
                    code=pb.ProtocolStatusCode.SESSION_NOT_FOUND,
                    message=f"no session {message.session_id}"))
        state, reason = closed
        return pb.CloseSessionReply(session_id=message.session_id, final_state=state,
                                    protocol_status=_ok(reason))

    def _not_found_message(self, session_id: str) -> str:
        closed = self.runtime.closed.get(session_id)
        if closed is not None:
            return f"session {session_id} is closed ({closed[1]})"
        return f"no session {session_id}"

    async def invoke(self, message: pb.MxCommandRequest) -> pb.MxCommandReply:
        command = message.command  # `is not None`: a message's truth tests every field
        kind = command.kind if command is not None else pb.MxCommandKind.UNSPECIFIED
        require(scope_of(kind))
        session = self.runtime.find(message.session_id)
        if session is None:
            await self._latency()
            return reply_for(message.session_id, message, kind,
                             pb.ProtocolStatusCode.SESSION_NOT_FOUND,
                             self._not_found_message(message.session_id))
        self.runtime.renew(session)
        if session.pending_commands >= self.runtime.config.max_pending_commands:
            raise GRPCError(Status.RESOURCE_EXHAUSTED,
                            f"{session.pending_commands} commands of this session are pending")
        session.pending_commands += 1
        try:
            await self._latency()
            return await self._run(session, message, kind)
        finally:
            session.pending_commands -= 1

    async def _run(self, session: SimSession, message: pb.MxCommandRequest,
                   kind: pb.MxCommandKind) -> pb.MxCommandReply:
        if session.state != pb.SessionState.READY:
            return reply_for(message.session_id, message, kind,
                             pb.ProtocolStatusCode.SESSION_NOT_READY,
                             f"session is {session.state.name}: {session.reason}")
        faults = self.runtime.faults
        if faults.should_fail():
            return reply_for(session.id, message, kind, faults.fail_status,
                             "injected failure")
        reply = await execute(session, message)
        session.commands_run += 1
        if faults.fault_after_commands and session.commands_run >= faults.fault_after_commands:
            session.fault(f"injected after {session.commands_run} commands")
        return reply

    async def stream_events(self, message: pb.StreamEventsRequest) -> AsyncIterator[pb.MxEvent]:
        session = self.runtime.find(message.session_id)
        if session is None:
            raise GRPCError(Status.NOT_FOUND, self._not_found_message(message.session_id))
        if session.state == pb.SessionState.FAULTED:
            raise GRPCError(Status.FAILED_PRECONDITION,
                            f"session is FAULTED: {session.reason}")
        session.events.attach(message.after_worker_sequence)
        self.runtime.attached(session)
        log.info("session %s: event stream attached (after %d)", session.id,
                 message.after_worker_sequence)
        faults = self.runtime.faults
        peer = current_peer.get()
        alive = self._liveness(peer) if self._liveness is not None and peer else None
        sent = 0
        try:
            while True:
                if faults.stall_after_events and sent >= faults.stall_after_events:
                    log.info("stalling the event stream of %s", session.id)
                    await session.events.wait_cut()
                event = await session.events.next_event()
                if event is None:
                    return
                yield event
                sent += 1
                # grpclib's send returns without yielding to the loop while the window is
                # open, so a backlog goes out in one go, and a connection the peer reset
                # is only handled after it. Stop at the first write that found it gone,
                # instead of writing every queued event into it (asyncio warns once per
                # such write: hundreds of lines for one cut stream).
                if alive is not None and not alive():
                    log.info("session %s: the connection went while sending", session.id)
                    return
                if faults.drop_after_events and sent >= faults.drop_after_events \
                        and self._drop_peer is not None and peer is not None:
                    log.info("dropping the connection of %s after %d events", session.id, sent)
                    self._drop_peer(peer)
                    await asyncio.sleep(5)  # the lost connection cancels this handler
                    return
        finally:
            session.events.detach()
            self.runtime.detached(session)
            log.info("session %s: event stream detached after %d events", session.id, sent)

    # ------------------------------------------------------------------ alarms

    async def acknowledge_alarm(self, message: pb.AcknowledgeAlarmRequest
                                ) -> pb.AcknowledgeAlarmReply:
        await self._latency()
        return alarm_service.acknowledge(self.runtime.alarms, message)

    async def query_active_alarms(self, message: pb.QueryActiveAlarmsRequest
                                  ) -> AsyncIterator[pb.ActiveAlarmSnapshot]:
        for snapshot in alarm_service.query(self.runtime.alarms, message):
            yield snapshot

    async def stream_alarms(self, message: pb.StreamAlarmsRequest
                            ) -> AsyncIterator[pb.AlarmFeedMessage]:
        feed = alarm_service.open_feed(self.runtime.alarms, message)
        log.info("alarm stream attached (prefix %r)", message.alarm_filter_prefix)
        try:
            while (item := await feed.next()) is not None:
                yield item
        finally:
            self.runtime.alarms.close_feed(feed)
            log.info("alarm stream detached")
