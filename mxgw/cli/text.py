"""Readable one-line renderings of replies, events, bulk results and Galaxy objects."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import betterproto2

from .._proto.galaxy_repository import v1 as gr
from .._proto.mxaccess_gateway import v1 as pb
from ..contract.alarms import by_urgency
from ..contract.events import is_replay_gap
from ..failures import is_error_status
from ..values import from_mx_value


def name(value: Any) -> str:
    """An enum value's short name (`ON_DATA_CHANGE`), or its number."""
    return str(getattr(value, "name", None) or int(value))


def when(value: dt.datetime | None) -> str:
    """A UTC time as `2026-01-02T03:04:05.123Z` (or `-`)."""
    if value is None:
        return "-"
    text = value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def value_text(value: pb.MxValue | None) -> str:
    """An MxValue as its Python value, readably (`42`, `"text"`, `[1, 2]`, `null`)."""
    python = from_mx_value(value)
    if python is None:
        return "null"
    if isinstance(python, bool):
        return "true" if python else "false"
    if isinstance(python, dt.datetime):
        return when(python)
    if isinstance(python, dt.timedelta):
        return f"{python.total_seconds():g}s"
    if isinstance(python, bytes):
        return f"0x{python.hex()}"
    if isinstance(python, str):
        return json.dumps(python, ensure_ascii=False)
    if isinstance(python, list):
        return "[" + ", ".join(
            json.dumps(v, ensure_ascii=False) if isinstance(v, str) else str(v) for v in python
        ) + "]"
    return str(python)


def quality_kind(quality: int) -> str:
    """OPC DA quality's status bits (0xC0) as `good`, `uncertain` or `bad`."""
    bits = quality & 0xC0
    return "good" if bits == 0xC0 else "uncertain" if bits == 0x40 else "bad"


def quality_text(quality: int) -> str:
    """OPC DA quality as `192 good`, `64 uncertain`, `0 bad`."""
    return f"{quality} {quality_kind(quality)}"


def status_text(status: pb.MxStatusProxy) -> str:
    """`OK` or `SECURITY_ERROR by RESPONDING_LMX detail 321 (text)`."""
    text = name(status.category)
    if status.detail or is_error_status(status):
        text += f" by {name(status.detected_by)} detail {status.detail}"
    return f"{text} ({status.diagnostic_text})" if status.diagnostic_text else text


def statuses_text(statuses: list[pb.MxStatusProxy]) -> str:
    """Statuses, comma-separated (`no status` for none)."""
    return ", ".join(status_text(s) for s in statuses) if statuses else "no status"


def reply_text(reply: pb.MxCommandReply) -> str:
    """One line for a command reply: kind, status, and the typed result."""
    status = reply.protocol_status
    parts = [name(reply.kind).lower(), name(status.code) if status is not None else "NO_STATUS"]
    arm, result = betterproto2.which_one_of(reply, "result")
    if result is not None and arm.startswith("bulk_"):
        parts.append(f"{len(getattr(result, 'results', []))} result(s)")
    elif result is not None:
        for field in ("server_handle", "item_handle", "user_id"):
            if hasattr(result, field):
                parts.append(f"{field.replace('_', ' ')} {getattr(result, field)}")
    elif reply.return_value is not None and not reply.return_value.is_null:
        parts.append(f"returned {value_text(reply.return_value)}")
    if reply.hresult:
        parts.append(f"hresult 0x{reply.hresult & 0xFFFFFFFF:08X}")
    failing = [s for s in reply.statuses if is_error_status(s)]
    if failing:
        parts.append(statuses_text(failing))
    if reply.diagnostic_message:
        parts.append(reply.diagnostic_message)
    return "  ".join(parts)


def event_text(event: pb.MxEvent) -> str:
    """`#12 ON_DATA_CHANGE  server 1 item 2  = 42  quality 192 good  at ...`."""
    if is_replay_gap(event):
        gap = event.replay_gap
        assert gap is not None
        return (f"#- REPLAY_GAP  events after {gap.requested_after_sequence} are gone; oldest "
                f"available {gap.oldest_available_sequence}: take a fresh snapshot")
    head = f"#{event.worker_sequence} {name(event.family)}  server {event.server_handle} " \
           f"item {event.item_handle}"
    if event.on_data_change is not None:
        body = event.on_data_change
        tail = f"= {value_text(body.value)}  quality {quality_text(body.quality)}  at " \
               f"{when(body.source_timestamp)}"
        bad = [s for s in body.statuses if is_error_status(s)]
        return f"{head}  {tail}" + (f"  {statuses_text(bad)}" if bad else "")
    if event.on_write_complete is not None:
        return f"{head}  {statuses_text(event.on_write_complete.statuses)}"
    if event.operation_complete is not None:
        return f"{head}  {statuses_text(event.operation_complete.statuses)}"
    if event.on_alarm_transition is not None:
        return f"#{event.worker_sequence} {name(event.family)}  " + \
            alarm_transition_text(event.on_alarm_transition)
    if event.on_buffered_data_change is not None:
        samples = event.on_buffered_data_change.samples
        values = ", ".join(value_text(s.value) for s in samples[:5])
        more = f" (+{len(samples) - 5})" if len(samples) > 5 else ""
        return f"{head}  {len(samples)} sample(s): {values}{more}"
    return head


def subscribe_result_text(result: pb.SubscribeResult) -> str:
    """`ok    item 3      Tag.Attr` or `FAIL  -  Tag.Attr  why`."""
    ok = "ok  " if result.was_successful else "FAIL"
    handle = f"item {result.item_handle}" if result.item_handle else "-"
    error = f"  {result.error_message}" if result.error_message else ""
    return f"{ok}  {handle:<10}  {result.tag_address or '-'}{error}"


def write_result_text(result: pb.BulkWriteResult) -> str:
    """`ok    item 3` or `FAIL  item 3  why  hresult ...`."""
    ok = "ok  " if result.was_successful else "FAIL"
    tail = f"  {result.error_message}" if result.error_message else ""
    if result.hresult:
        tail += f"  hresult 0x{result.hresult & 0xFFFFFFFF:08X}"
    bad = [s for s in result.statuses if is_error_status(s)]
    if bad:
        tail += f"  {statuses_text(bad)}"
    return f"{ok}  item {result.item_handle}{tail}"


def read_result_text(result: pb.BulkReadResult) -> str:
    """`ok    cached  Tag.Attr = 42  quality 192 good  at ...` or `FAIL  Tag.Attr  why`."""
    if not result.was_successful:
        why = result.error_message or statuses_text(result.statuses)
        return f"FAIL  {result.tag_address}  {why}"
    cached = "cached" if result.was_cached else "fresh "
    return (f"ok    {cached}  {result.tag_address} = {value_text(result.value)}  quality "
            f"{quality_text(result.quality)}  at {when(result.source_timestamp)}")


def galaxy_object_text(obj: gr.GalaxyObject, depth: int = 0) -> list[str]:
    """A Galaxy object's line (indented by `depth`), then one line per attribute."""
    kind = "area" if obj.is_area else f"category {obj.category_id}"
    template = f"  {obj.template_chain[0]}" if obj.template_chain else ""
    where = obj.hierarchical_name or obj.contained_name
    pad = "  " * depth
    lines = [f"{pad}{obj.tag_name}  ({kind}{template})" + (f"  {where}" if where != obj.tag_name
                                                            else "")]
    for attr in obj.attributes:
        flags = "".join((" array" if attr.is_array else "", " historized" if attr.is_historized
                         else "", " alarm" if attr.is_alarm else ""))
        data_type = attr.data_type_name or attr.mx_data_type
        lines.append(f"{pad}    {attr.full_tag_reference}  {data_type}{flags}")
    return lines


def deploy_event_text(event: gr.DeployEvent) -> str:
    """`#2 deployed 2026-...Z  200 object(s), 1782 attribute(s)`."""
    deployed = when(event.time_of_last_deploy) if event.time_of_last_deploy_present else "never"
    return (f"#{event.sequence} deployed {deployed}  {event.object_count} object(s), "
            f"{event.attribute_count} attribute(s)")


# ---------------------------------------------------------------------- alarms

def _alarm_values(current: pb.MxValue | None, limit: pb.MxValue | None) -> str:
    """`  value 93.5 limit 90` for a limit alarm, `` otherwise."""
    if limit is None:
        return ""
    return f"  value {value_text(current)} limit {value_text(limit)}"


def _state(state: pb.AlarmConditionState) -> str:
    return name(state).replace("ALARM_CONDITION_STATE_", "")


def alarm_snapshot_text(alarm: pb.ActiveAlarmSnapshot) -> str:
    """`ACTIVE_ACKED  Galaxy!Area.Obj.Alarm  DSC  severity 500  since ...  "comment"`."""
    comment = f"  {json.dumps(alarm.operator_comment, ensure_ascii=False)}" \
        if alarm.operator_comment else ""
    degraded = "  degraded" if alarm.degraded else ""
    return (f"{_state(alarm.current_state):<12}  {alarm.alarm_full_reference}  "
            f"{alarm.alarm_type_name}  severity {alarm.severity}  since "
            f"{when(alarm.last_transition_timestamp)}"
            f"{_alarm_values(alarm.current_value, alarm.limit_value)}{comment}{degraded}")


def alarm_transition_text(event: pb.OnAlarmTransitionEvent) -> str:
    """`RAISE  Galaxy!Area.Obj.Alarm  HiHi  severity 100  at ...  value 97 limit 90`."""
    parts = [f"{name(event.transition_kind):<11}", event.alarm_full_reference,
             event.alarm_type_name, f"severity {event.severity}",
             f"at {when(event.transition_timestamp)}"]
    line = "  ".join(parts) + _alarm_values(event.current_value, event.limit_value)
    if event.operator_user:
        line += f"  by {event.operator_user}"
    if event.operator_comment:
        line += f"  {json.dumps(event.operator_comment, ensure_ascii=False)}"
    return line + ("  degraded" if event.degraded else "")


def provider_status_text(status: pb.AlarmProviderStatus) -> str:
    """`provider ALARMMGR  since ...  (reason)` (`DEGRADED` when it is)."""
    degraded = "  DEGRADED" if status.degraded else ""
    reason = f"  ({status.reason})" if status.reason else ""
    return f"provider {name(status.mode)}{degraded}  since {when(status.since)}{reason}"


def alarm_feed_text(message: pb.AlarmFeedMessage) -> str:
    """One line per StreamAlarms message."""
    if message.active_alarm is not None:
        return alarm_snapshot_text(message.active_alarm)
    if message.snapshot_complete is not None:
        return "-- snapshot complete; live transitions follow"
    if message.provider_status is not None:
        return provider_status_text(message.provider_status)
    if message.transition is not None:
        return alarm_transition_text(message.transition)
    return "(empty alarm feed message)"


def active_alarms_table(alarms: list[pb.ActiveAlarmSnapshot]) -> str:
    """The active alarms as a table, most urgent first."""
    if not alarms:
        return "(no active alarms)"
    rows = [("SEVERITY", "STATE", "TYPE", "SINCE", "REFERENCE", "")]
    for alarm in by_urgency(alarms):
        extra = _alarm_values(alarm.current_value, alarm.limit_value).strip()
        if alarm.operator_comment:
            extra += ("  " if extra else "") + json.dumps(alarm.operator_comment,
                                                          ensure_ascii=False)
        if alarm.degraded:
            extra += ("  " if extra else "") + "degraded"
        rows.append((str(alarm.severity), _state(alarm.current_state), alarm.alarm_type_name,
                     when(alarm.last_transition_timestamp), alarm.alarm_full_reference, extra))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(5)] + ([row[5]] if row[5] else [])
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
