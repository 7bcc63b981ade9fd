"""GatewayClient: one connection to a gateway, the raw calls, and sessions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ._proto.mxaccess_gateway import v1 as pb
from .connection import Connecting, Connection
from .contract import alarms
from .contract.bulk_replies import BulkReply
from .contract.commands import Operator
from .errors import ConfigurationError, MxGatewayError, protocol_error
from .events import OurStreams
from .failures import check_acknowledge, check_protocol
from .log import logger
from .session import Session

if TYPE_CHECKING:
    from grpclib.client import Channel

    from .alarms import AlarmView
    from .durable import DurableSession
    from .galaxy import GalaxyRepositoryClient
    from .options import ClientOptions

__all__ = ["Connecting", "GatewayClient"]

log = logger("mxgw.session")


class GatewayClient(Connection):
    """A connection to an MXAccess Gateway.

        async with GatewayClient.connect("host:5001", api_key=key, ca_file="ca.pem") as client:
            async with await client.open_session("my-app") as session:
                ...

    `connect(...)` may also be awaited (`client = await GatewayClient.connect(...)`); then
    call `await client.close()` when done. Many clients may share one event loop.
    """

    SERVICE = "/mxaccess_gateway.v1.MxAccessGateway/"

    def __init__(self, options: ClientOptions, channel: Channel, *,
                 shares: Connection | None = None) -> None:
        super().__init__(options, channel, shares=shares)
        self.event_streams: OurStreams = (
            shares.event_streams if isinstance(shares, GatewayClient) else OurStreams())
        """The event streams opened on this connection, by session (see OurStreams)."""

    def galaxy(self) -> GalaxyRepositoryClient:
        """A Galaxy Repository client on this client's connection (scope `metadata:read`)."""
        from .galaxy import GalaxyRepositoryClient

        return self._sharing(GalaxyRepositoryClient, self.options)

    # ------------------------------------------------------------------ raw calls

    async def open_session_raw(self, client_session_name: str = "mxgw") -> pb.OpenSessionReply:
        """OpenSession, reply untouched (gRPC failures still raise)."""
        reply: pb.OpenSessionReply = await self._unary(
            "OpenSession", pb.OpenSessionRequest(client_session_name=client_session_name),
            pb.OpenSessionReply,
        )
        return reply

    async def close_session_raw(self, session_id: str) -> pb.CloseSessionReply:
        """CloseSession, reply untouched (gRPC failures still raise). Idempotent."""
        reply: pb.CloseSessionReply = await self._unary(
            "CloseSession", pb.CloseSessionRequest(session_id=session_id), pb.CloseSessionReply
        )
        return reply

    async def invoke_raw(
        self,
        session_id: str,
        command: pb.MxCommand,
        *,
        correlation_id: str | None = None,
        timeout: float | None = None,
    ) -> pb.MxCommandReply:
        """Invoke one command. Raises for gRPC and protocol-status failures only; an
        MXAccess failure (hresult, statuses, MXACCESS_FAILURE) is left in the reply."""
        request = _invoke_request(session_id, command, correlation_id)
        reply: pb.MxCommandReply = await self._unary(
            "Invoke", request, pb.MxCommandReply, timeout
        )
        check_protocol(reply)
        return reply

    async def invoke_bulk_raw(
        self, session_id: str, command: pb.MxCommand, *, timeout: float | None = None
    ) -> BulkReply:
        """`invoke_raw` for a bulk command: the reply's results are read lazily
        (`BulkReply`); the reply goes out whole with a protocol failure."""
        request = _invoke_request(session_id, command)
        reply: BulkReply = await self._unary("Invoke", request, BulkReply, timeout)
        try:
            check_protocol(reply.reply)
        except MxGatewayError:
            reply.complete()
            raise
        return reply

    def stream_events_raw(
        self, session_id: str, after_worker_sequence: int = 0, *, timeout: float | None = None
    ) -> AsyncIterator[pb.MxEvent]:
        """One StreamEvents call as an async generator; no resume, events untouched.
        Break, aclose() or cancel closes the HTTP/2 stream at once."""
        return self._server_stream(
            "StreamEvents",
            pb.StreamEventsRequest(session_id=session_id,
                                   after_worker_sequence=after_worker_sequence),
            pb.MxEvent, timeout=timeout)

    # ------------------------------------------------------------------ sessions

    async def open_session(self, client_session_name: str = "mxgw") -> Session:
        """Open a session; raises unless the gateway answers OK."""
        reply = await self.open_session_raw(client_session_name)
        if reply.protocol_status is None or reply.protocol_status.code != pb.ProtocolStatusCode.OK:
            raise protocol_error(reply.protocol_status, reply)
        log.info("session %s opened (%s)", reply.session_id, client_session_name)
        return Session(self, reply.session_id, reply)

    async def durable_session(
        self, client_session_name: str = "mxgw", *, max_attempts: int | None = None,
        backoff: float = 0.2, max_backoff: float = 10.0, close_timeout: float = 2.0,
    ) -> DurableSession:
        """Open a session that outlives connection losses and gateway restarts: it
        remembers what it was asked to register, add and advise, and its `events()`
        resume the stream, or open a new session, replay all that and yield a
        `SessionReplaced` marker. See `mxgw.durable.DurableSession`.

        Failed attempts are retried after `backoff` seconds, doubling up to `max_backoff`
        (with jitter; the first retry at once), forever unless `max_attempts` (failures in
        a row) is given. The first session is opened the same way.
        """
        from .durable import DurableSession

        return await DurableSession.open(
            self, client_session_name, max_attempts=max_attempts, backoff=backoff,
            max_backoff=max_backoff, close_timeout=close_timeout)

    def session(self, session_id: str) -> Session:
        """A Session object for a session opened elsewhere (another process, say)."""
        if not session_id:
            raise ConfigurationError("a session id is required")
        return Session(self, session_id, None)

    # ------------------------------------------------------------------ alarms

    def stream_alarms(self, filter_prefix: str = "") -> AsyncIterator[pb.AlarmFeedMessage]:
        """One StreamAlarms call as an async generator (scope `events:read`): an
        `active_alarm` per active alarm, `snapshot_complete`, `provider_status`, then live
        `transition`s (and `provider_status` again on failover and failback). No reconnect:
        see `alarm_view`. Break, aclose() or cancel closes the HTTP/2 stream at once."""
        return self._server_stream("StreamAlarms", alarms.stream_alarms_request(filter_prefix),
                                   pb.AlarmFeedMessage)

    async def query_active_alarms(self, filter_prefix: str = "", *,
                                  timeout: float | None = None) -> list[pb.ActiveAlarmSnapshot]:
        """The active alarms whose reference starts with `filter_prefix` (empty: all), as
        the gateway's monitor holds them now (scope `events:read`)."""
        request = alarms.query_active_alarms_request(filter_prefix)
        deadline = self.options.timeout if timeout is None else timeout
        return [snapshot async for snapshot in self._server_stream(
            "QueryActiveAlarms", request, pb.ActiveAlarmSnapshot, timeout=deadline)]

    async def acknowledge_alarm(
        self, reference: str, comment: str, *, operator: Operator | str, node: str = "",
        domain: str = "", full_name: str = "", timeout: float | None = None,
    ) -> pb.AcknowledgeAlarmReply:
        """Acknowledge the alarm `reference` (`Galaxy!Area.Object.Alarm`) as `operator` (a
        user name, with `node`, `domain`, `full_name`; or an Operator), scope `invoke:write`.

        Acknowledging an acknowledged alarm is harmless. Raises AlarmAcknowledgeError (with
        the reply and its native `hresult`) when the gateway refuses: the alarm is not
        active, or unknown. A malformed reference, a comment over the limit or no operator
        is a ConfigurationError, raised before anything is sent."""
        who = alarms.operator_of(operator, node, domain, full_name)
        request = alarms.acknowledge_alarm_request(reference, comment, who)
        reply: pb.AcknowledgeAlarmReply = await self._unary(
            "AcknowledgeAlarm", request, pb.AcknowledgeAlarmReply, timeout)
        return check_acknowledge(reply, reference)

    def alarm_view(self, filter_prefix: str = "", *, max_reconnect_attempts: int | None = 10,
                   reconnect_backoff: float = 0.2, max_reconnect_delay: float = 5.0
                   ) -> AlarmView:
        """The active alarms kept current, reconnecting after a lost connection; see
        AlarmView."""
        from .alarms import AlarmView  # with the reconnecting machinery it needs: on first use

        return AlarmView(self, filter_prefix, max_reconnect_attempts=max_reconnect_attempts,
                         reconnect_backoff=reconnect_backoff,
                         max_reconnect_delay=max_reconnect_delay)


def _invoke_request(session_id: str, command: pb.MxCommand,
                    correlation_id: str | None = None) -> pb.MxCommandRequest:
    """An Invoke request; without a correlation id of the caller's, a fresh one (the
    gateway echoes it, and the logs of both sides can be matched by it)."""
    return pb.MxCommandRequest(session_id=session_id, command=command,
                               client_correlation_id=correlation_id or uuid.uuid4().hex)
