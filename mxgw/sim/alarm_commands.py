"""The alarm commands inside Invoke (the worker-facing forms): SubscribeAlarms,
UnsubscribeAlarms, AcknowledgeAlarm (by GUID), QueryActiveAlarms, AcknowledgeAlarmByName.

They use the gateway's one alarm monitor; a subscribed session gets every matching
transition on its own event stream as ON_ALARM_TRANSITION (through its event log, so
replay and resume work). The provider's refusals are MXAccess failures with its hresult.
"""

from __future__ import annotations

from .._proto.mxaccess_gateway import v1 as pb
from ..contract.checks import ALARM_COMMENT_MAX
from .alarm_catalog import MalformedReference
from .alarms import AlarmError, AlarmMonitor, UnknownAlarm
from .galaxy import MX_INTEGER
from .mx_values import to_mx
from .registry import HandlerTable, InvalidRequest, Result
from .session import E_FAIL, CommandFailure, SimSession

K = pb.MxCommandKind

HANDLERS = HandlerTable()
"""The handlers of this module, by command kind."""
handles = HANDLERS.handles

Acknowledge = pb.AcknowledgeAlarmCommand | pb.AcknowledgeAlarmByNameCommand


def _monitor(session: SimSession) -> AlarmMonitor:
    alarms = session.runtime.alarms
    if not alarms.enabled:
        raise CommandFailure(E_FAIL, "the alarm monitor is off on this gateway")
    return alarms


def _acknowledge(session: SimSession, reference: str, cmd: Acknowledge) -> Result:
    if len(cmd.comment) > ALARM_COMMENT_MAX:
        raise InvalidRequest(f"the comment is over {ALARM_COMMENT_MAX} characters")
    try:
        _monitor(session).acknowledge(
            reference, cmd.comment, user=cmd.operator_user, node=cmd.operator_node,
            domain=cmd.operator_domain, full_name=cmd.operator_full_name)
    except MalformedReference as exc:
        raise InvalidRequest(str(exc)) from None
    except AlarmError as exc:
        raise CommandFailure(exc.hresult, str(exc)) from None
    # The native status is the return value too: the by-name kind has no typed reply arm.
    return to_mx(0, MX_INTEGER), pb.AcknowledgeAlarmReplyPayload(native_status=0)


@handles(K.SUBSCRIBE_ALARMS)
async def _subscribe(session: SimSession, cmd: pb.SubscribeAlarmsCommand) -> Result:
    # The expression is taken as a reference prefix (empty: every alarm); forced_mode,
    # watch_list and failover steer the real worker's provider and change nothing here.
    _monitor(session).subscribe_session(session, cmd.subscription_expression)
    return None


@handles(K.UNSUBSCRIBE_ALARMS)
async def _unsubscribe(session: SimSession, cmd: pb.UnsubscribeAlarmsCommand) -> Result:
    _monitor(session).unsubscribe_session(session)  # not subscribed: harmless
    return None


@handles(K.ACKNOWLEDGE_ALARM)
async def _acknowledge_by_guid(session: SimSession, cmd: pb.AcknowledgeAlarmCommand) -> Result:
    if not cmd.alarm_guid.strip():
        raise InvalidRequest("alarm_guid is empty")
    alarm = _monitor(session).by_guid(cmd.alarm_guid)
    if alarm is None:
        raise CommandFailure(UnknownAlarm.hresult, f"no alarm with GUID {cmd.alarm_guid}")
    return _acknowledge(session, alarm.reference, cmd)


@handles(K.QUERY_ACTIVE_ALARMS)
async def _query(session: SimSession, cmd: pb.QueryActiveAlarmsCommand) -> Result:
    snapshots = _monitor(session).snapshots(cmd.alarm_filter_prefix)
    return None, pb.QueryActiveAlarmsReplyPayload(snapshots=snapshots)


@handles(K.ACKNOWLEDGE_ALARM_BY_NAME)
async def _acknowledge_by_name(session: SimSession,
                               cmd: pb.AcknowledgeAlarmByNameCommand) -> Result:
    if not (cmd.provider_name and cmd.group_name and cmd.alarm_name):
        raise InvalidRequest("provider_name, group_name and alarm_name are all needed")
    return _acknowledge(session, f"{cmd.provider_name}!{cmd.group_name}.{cmd.alarm_name}", cmd)
