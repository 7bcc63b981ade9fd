"""The session-less alarm RPCs over the runtime's alarm monitor: AcknowledgeAlarm's reply,
QueryActiveAlarms' snapshots, StreamAlarms' feed (GatewayService serves them)."""

from __future__ import annotations

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._proto.mxaccess_gateway import v1 as pb
from ..contract.checks import ALARM_COMMENT_MAX
from .alarm_catalog import MalformedReference
from .alarm_feed import AlarmFeed
from .alarms import AlarmError, AlarmMonitor
from .session import E_INVALIDARG

ALARM_CAPABILITIES = ("unary-acknowledge-alarm", "server-stream-active-alarms")
"""What OpenSessionReply.capabilities adds while the alarm monitor is on."""

PS = pb.ProtocolStatusCode


def monitor_of(alarms: AlarmMonitor) -> AlarmMonitor:
    """The monitor, or UNAVAILABLE when the gateway runs without one (`--no-alarms`)."""
    if not alarms.enabled:
        raise GRPCError(Status.UNAVAILABLE, "the alarm monitor is off on this gateway")
    return alarms


def acknowledge(alarms: AlarmMonitor,
                request: pb.AcknowledgeAlarmRequest) -> pb.AcknowledgeAlarmReply:
    """AcknowledgeAlarm: hresult 0 when done (or acknowledged already).

    Refused before the provider sees it (INVALID_REQUEST, E_INVALIDARG): a reference that
    is not `Provider!Group.Tag`, a comment over ALARM_COMMENT_MAX. Refused by the provider
    (MXACCESS_FAILURE, its native status): an unknown alarm (E_INVALIDARG) or one that is
    not active (E_FAIL).
    """
    monitor = monitor_of(alarms)

    def reply(code: pb.ProtocolStatusCode, message: str, hresult: int) -> pb.AcknowledgeAlarmReply:
        return pb.AcknowledgeAlarmReply(
            session_id="", correlation_id=request.client_correlation_id,
            protocol_status=pb.ProtocolStatus(code=code, message=message), hresult=hresult)

    if len(request.comment) > ALARM_COMMENT_MAX:
        return reply(PS.INVALID_REQUEST, f"the comment is over {ALARM_COMMENT_MAX} characters",
                     E_INVALIDARG)
    try:
        event = monitor.acknowledge(
            request.alarm_full_reference, request.comment, user=request.operator_user,
            node=request.operator_node, domain=request.operator_domain,
            full_name=request.operator_full_name)
    except MalformedReference as exc:
        return reply(PS.INVALID_REQUEST, str(exc), E_INVALIDARG)
    except AlarmError as exc:
        return reply(PS.MXACCESS_FAILURE, str(exc), exc.hresult)
    return reply(PS.OK, "acknowledged" if event else "acknowledged already", 0)


def query(alarms: AlarmMonitor,
          request: pb.QueryActiveAlarmsRequest) -> list[pb.ActiveAlarmSnapshot]:
    """QueryActiveAlarms: the matching active alarms, most urgent first."""
    return monitor_of(alarms).snapshots(request.alarm_filter_prefix)


def open_feed(alarms: AlarmMonitor, request: pb.StreamAlarmsRequest) -> AlarmFeed:
    """StreamAlarms: a subscriber holding the snapshot, the marker and the status."""
    return monitor_of(alarms).open_feed(request.alarm_filter_prefix)
