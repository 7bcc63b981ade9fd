"""Alarms in the contract: request builders of the three session-less alarm RPCs, how a
transition changes the active set, and the order of urgency.

The active set is what the gateway's alarm monitor caches: Active and ActiveAcked alarms,
keyed by `alarm_full_reference`; a cleared alarm leaves it (there is no history). These
rules are the alarm model of System Platform as the gateway passes it through
(docs/mxaccess.md, "Alarms").
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from typing import Any

from .._proto.mxaccess_gateway import v1 as pb
from ..errors import ConfigurationError
from . import checks
from .commands import Operator

Kind = pb.AlarmTransitionKind
State = pb.AlarmConditionState

__all__ = [
    "Operator", "acknowledge_alarm_request", "apply_transition", "by_urgency", "operator_of",
    "query_active_alarms_request", "snapshot_of", "stream_alarms_request", "urgency",
]


def _prefix(value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"filter_prefix must be a string, got {type(value).__name__}")
    return value


def _correlation(value: str | None) -> str:
    return value or uuid.uuid4().hex


def stream_alarms_request(filter_prefix: str = "", *,
                          correlation_id: str | None = None) -> pb.StreamAlarmsRequest:
    """StreamAlarms: the alarms whose reference starts with `filter_prefix` (empty: all)."""
    return pb.StreamAlarmsRequest(alarm_filter_prefix=_prefix(filter_prefix),
                                  client_correlation_id=_correlation(correlation_id))


def query_active_alarms_request(filter_prefix: str = "", *, correlation_id: str | None = None
                                ) -> pb.QueryActiveAlarmsRequest:
    """QueryActiveAlarms: the active alarms whose reference starts with `filter_prefix`."""
    return pb.QueryActiveAlarmsRequest(alarm_filter_prefix=_prefix(filter_prefix),
                                       client_correlation_id=_correlation(correlation_id))


def operator_of(operator: Operator | str, node: str = "", domain: str = "",
                full_name: str = "") -> Operator:
    """An Operator from an Operator or from its user name and the other three fields."""
    if isinstance(operator, Operator):
        if node or domain or full_name:
            raise ConfigurationError("give the operator as an Operator or as user, node, "
                                     "domain and full name, not both")
        return operator
    return Operator(operator, node, domain, full_name)


def acknowledge_alarm_request(reference: str, comment: str, operator: Operator, *,
                              correlation_id: str | None = None) -> pb.AcknowledgeAlarmRequest:
    """AcknowledgeAlarm of `reference` (`Provider!Group.Tag`); ConfigurationError for a
    malformed reference, a comment over `checks.ALARM_COMMENT_MAX` or no operator user."""
    checks.alarm_reference("reference", reference)
    return pb.AcknowledgeAlarmRequest(
        alarm_full_reference=reference, comment=checks.alarm_comment(comment),
        client_correlation_id=_correlation(correlation_id), **operator.fields())


# ---------------------------------------------------------------------- the active set

def snapshot_of(transition: pb.OnAlarmTransitionEvent,
                state: pb.AlarmConditionState) -> pb.ActiveAlarmSnapshot:
    """The snapshot of an alarm as a transition leaves it, in `state`."""
    return pb.ActiveAlarmSnapshot(
        alarm_full_reference=transition.alarm_full_reference,
        source_object_reference=transition.source_object_reference,
        alarm_type_name=transition.alarm_type_name, severity=transition.severity,
        current_state=state, category=transition.category,
        last_transition_timestamp=transition.transition_timestamp,
        operator_comment=transition.operator_comment, degraded=transition.degraded,
        current_value=transition.current_value, limit_value=transition.limit_value)


def apply_transition(before: pb.ActiveAlarmSnapshot | None,
                     transition: pb.OnAlarmTransitionEvent) -> pb.ActiveAlarmSnapshot | None:
    """The alarm after `transition` (None: not active), from the alarm before it (None:
    not active). Never changes `before`.

    RAISE and RETRIGGER make it Active (unacknowledged, a new raise time); ACKNOWLEDGE
    makes it ActiveAcked with the operator's comment; CLEAR removes it. A kind this
    client does not know leaves it as it was.
    """
    kind = transition.transition_kind
    if kind == Kind.CLEAR:
        return None
    if kind in (Kind.RAISE, Kind.RETRIGGER):
        return snapshot_of(transition, State.ACTIVE)
    if kind == Kind.ACKNOWLEDGE:
        if before is None:  # acknowledged before this client saw it raised
            return snapshot_of(transition, State.ACTIVE_ACKED)
        return dataclasses.replace(
            before, current_state=State.ACTIVE_ACKED,
            last_transition_timestamp=transition.transition_timestamp or
            before.last_transition_timestamp,
            operator_comment=transition.operator_comment, degraded=transition.degraded,
            current_value=transition.current_value or before.current_value,
            limit_value=transition.limit_value or before.limit_value)
    return before


def urgency(snapshot: pb.ActiveAlarmSnapshot) -> tuple[Any, ...]:
    """A sort key, most urgent first: the lowest severity number (System Platform's
    priority 1-999, lower is more urgent), then unacknowledged before acknowledged, then
    the latest transition, then the reference."""
    when = snapshot.last_transition_timestamp
    newest_first = -when.timestamp() if when is not None else 0.0
    acked = snapshot.current_state == State.ACTIVE_ACKED
    return (snapshot.severity, acked, newest_first, snapshot.alarm_full_reference)


def by_urgency(snapshots: Iterable[pb.ActiveAlarmSnapshot]) -> list[pb.ActiveAlarmSnapshot]:
    """The snapshots, most urgent first (see `urgency`)."""
    return sorted(snapshots, key=urgency)
