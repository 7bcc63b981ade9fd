"""The alarm contract: RPC request builders, transitions applied to the active set, the
order of urgency."""

from __future__ import annotations

import datetime as dt

import pytest

from mxgw import ConfigurationError, Operator, pb
from mxgw.contract import alarms, checks

K = pb.AlarmTransitionKind
S = pb.AlarmConditionState
REF = "Galaxy!Plant.TestMachine_001.TestAlarm001"
T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def snap(ref: str = REF, state: pb.AlarmConditionState = S.ACTIVE, when: float = 0,
         severity: int = 500, comment: str = "") -> pb.ActiveAlarmSnapshot:
    return pb.ActiveAlarmSnapshot(alarm_full_reference=ref, alarm_type_name="DSC",
                                  severity=severity, current_state=state, category="TestArea",
                                  last_transition_timestamp=at(when), operator_comment=comment)


def transition(kind: pb.AlarmTransitionKind, when: float, ref: str = REF,
               comment: str = "") -> pb.OnAlarmTransitionEvent:
    return pb.OnAlarmTransitionEvent(alarm_full_reference=ref, alarm_type_name="DSC",
                                     transition_kind=kind, severity=500, category="TestArea",
                                     transition_timestamp=at(when), operator_comment=comment)


def test_request_builders_check_their_input_before_anything_is_sent() -> None:
    request = alarms.acknowledge_alarm_request(REF, "on it", Operator("op", "node1", "PLANT"))
    assert (request.alarm_full_reference, request.comment, request.operator_user,
            request.operator_node, request.operator_domain) == (REF, "on it", "op", "node1",
                                                                "PLANT")
    assert request.client_correlation_id
    for reference in ("", "Galaxy.TestArea.X", "Galaxy!", "!Area.Tag", "Galaxy!TestArea"):
        with pytest.raises(ConfigurationError, match="reference"):
            alarms.acknowledge_alarm_request(reference, "c", Operator("op"))
    with pytest.raises(ConfigurationError, match="comment"):
        alarms.acknowledge_alarm_request(REF, "x" * (checks.ALARM_COMMENT_MAX + 1),
                                         Operator("op"))
    with pytest.raises(ConfigurationError, match="operator"):
        alarms.acknowledge_alarm_request(REF, "c", Operator(" "))
    with pytest.raises(ConfigurationError, match="not both"):
        alarms.operator_of(Operator("op"), node="n")
    assert alarms.stream_alarms_request("Galaxy!T").alarm_filter_prefix == "Galaxy!T"
    assert alarms.query_active_alarms_request("Galaxy!T").alarm_filter_prefix == "Galaxy!T"
    with pytest.raises(ConfigurationError):
        alarms.stream_alarms_request(3)  # type: ignore[arg-type]


def test_transitions_change_an_alarm_as_the_gateway_caches_it() -> None:
    raised = alarms.apply_transition(None, transition(K.RAISE, 1))
    assert raised is not None and raised.current_state == S.ACTIVE
    assert raised.last_transition_timestamp == at(1)
    acked = alarms.apply_transition(raised, transition(K.ACKNOWLEDGE, 2, comment="seen"))
    assert acked is not None and acked.current_state == S.ACTIVE_ACKED
    assert (acked.operator_comment, acked.last_transition_timestamp) == ("seen", at(2))
    assert raised.current_state == S.ACTIVE  # the alarm before is left as it was
    again = alarms.apply_transition(acked, transition(K.RETRIGGER, 3))
    assert again is not None and again.current_state == S.ACTIVE and again.operator_comment == ""
    assert alarms.apply_transition(again, transition(K.CLEAR, 4)) is None
    assert alarms.apply_transition(again, transition(K.UNSPECIFIED, 5)) is again


def test_most_urgent_first_is_lowest_severity_then_unacknowledged_then_latest() -> None:
    order = alarms.by_urgency([
        snap("Galaxy!A.x.3", severity=500), snap("Galaxy!A.x.1", severity=100),
        snap("Galaxy!A.x.2", S.ACTIVE_ACKED, when=9, severity=100),
        snap("Galaxy!A.x.4", when=5, severity=500),
    ])
    assert [s.alarm_full_reference for s in order] == [
        "Galaxy!A.x.1", "Galaxy!A.x.2", "Galaxy!A.x.4", "Galaxy!A.x.3"]
