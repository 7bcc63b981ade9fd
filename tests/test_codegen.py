"""The committed bindings are what tools/gen.py makes from protos/, and protos/ keeps the
contract's rules (see docs/contract.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_code_is_up_to_date() -> None:
    result = subprocess.run([sys.executable, "tools/gen.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_unconfirmed_number_is_marked() -> None:
    confirmed = {
        "mxaccess_gateway.proto": {
            "PROTOCOL_STATUS_CODE_MXACCESS_FAILURE", "MX_COMMAND_KIND_ACKNOWLEDGE_ALARM_BY_NAME",
            "sparse_array_value", "element_data_type", "total_length", "elements", "index",
            "value", "server_handle", "tag_addresses", "gateway_receive_timestamp", "hresult",
            "raw_status", "replay_gap", "on_data_change", "requested_after_sequence",
            "oldest_available_sequence", "MX_EVENT_FAMILY_UNSPECIFIED",
            "MX_EVENT_FAMILY_ON_DATA_CHANGE", "MX_EVENT_FAMILY_ON_WRITE_COMPLETE",
            "MX_EVENT_FAMILY_OPERATION_COMPLETE", "MX_EVENT_FAMILY_ON_BUFFERED_DATA_CHANGE",
            "MX_EVENT_FAMILY_ON_ALARM_TRANSITION", "acknowledge_alarm_by_name_command",
            "acknowledge_alarm", "query_active_alarms", "on_alarm_transition",
            "ALARM_PROVIDER_MODE_UNSPECIFIED", "ALARM_PROVIDER_MODE_ALARMMGR",
            "ALARM_PROVIDER_MODE_SUBTAG", "mode", "degraded", "reason", "since",
            "session_id", "client_correlation_id", "alarm_filter_prefix",
            "subscription_expression", "forced_mode", "watch_list", "failover",
            "alarm_full_reference", "source_object_reference", "active_subtag",
        },
        "galaxy_repository.proto": {
            "ok", "page_size", "page_token", "root_gobject_id", "root_tag_name",
            "root_contained_path", "max_depth", "category_ids", "template_chain_contains",
            "tag_name_glob", "include_attributes", "alarm_bearing_only", "historized_only",
            "is_historized", "is_alarm",
        },
    }
    numbered = re.compile(r"^\s*(?:(?:optional|repeated)\s+)?(?:[\w.]+\s+)?(\w+)\s*=\s*\d+;(.*)$")
    for name, allowed in confirmed.items():
        for line in (ROOT / "protos" / name).read_text().splitlines():
            match = numbered.match(line)
            if match and "number: reconstructed" not in match.group(2):
                assert match.group(1) in allowed, f"{name}: unmarked number: {line.strip()}"


def test_every_command_arm_is_its_kind_plus_9() -> None:
    """The one confirmed pair (kind 29, arm 38) gives the rule for every MxCommand arm."""
    from mxgw import pb
    from mxgw.contract import codec

    arms = codec.oneof_arms(pb.MxCommand, "payload")
    assert len(arms) >= 29
    for spec in arms:
        kind = pb.MxCommandKind[spec.name.removesuffix("_command").upper()]
        assert spec.number == kind.value + 9, f"{spec.name} = {spec.number}, {kind.proto_name}"
