"""Command builders: kind and arm derived from the generated MxCommand, input checked
before anything is sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mxgw import BulkEntryError, ConfigurationError, ValueConversionError, pb
from mxgw.contract import codec, commands
from mxgw.contract.commands import Operator

K = pb.MxCommandKind


def test_every_command_arm_of_the_contract_has_its_kind() -> None:
    arms = codec.oneof_arms(pb.MxCommand, "payload")
    assert {spec.name for spec in arms} == {arm.name for arm in commands.ARMS.values()}
    assert set(commands.ARMS) == set(K) - {K.UNSPECIFIED}
    for kind, arm in commands.ARMS.items():
        assert arm.name == kind.name.lower() + "_command"
        built = commands.command(arm.payload_type())
        assert built.kind == kind and getattr(built, arm.name) is not None


def test_bulk_kinds_know_their_entries_and_results() -> None:
    assert commands.arm(K.SUBSCRIBE_BULK).entries == "tag_addresses"
    assert commands.arm(K.UNSUBSCRIBE_BULK).entries == "item_handles"
    assert commands.arm(K.WRITE_SECURED2_BULK).entries == "entries"
    assert commands.arm(K.READ_BULK).result == "bulk_read"
    assert commands.arm(K.REGISTER).result == "register"
    assert commands.arm(K.WRITE).result is None and commands.arm(K.WRITE).entries is None
    assert commands.arm(K.SUBSCRIBE_ALARMS).entries is None  # a watch list is not a bulk
    assert commands.arm(K.QUERY_ACTIVE_ALARMS).result == "query_active_alarms"


def test_builders_put_the_checked_input_in_the_right_arm() -> None:
    cmd = commands.write(1, 2, 2**40)
    assert cmd.kind == K.WRITE and cmd.write_command is not None
    assert cmd.write_command.value is not None and cmd.write_command.value.int64_value == 2**40
    when = dt.datetime(2026, 1, 2, 4, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    timed = commands.write2(1, 2, 1.5, when, type_name="float").write2_command
    assert timed is not None and timed.timestamp_value == when
    assert timed.timestamp_value.utcoffset() == dt.timedelta(0)  # sent as UTC
    read = commands.read_bulk(3, ["A.X", "B.Y"], timeout_ms=250).read_bulk_command
    assert read == pb.ReadBulkCommand(server_handle=3, tag_addresses=["A.X", "B.Y"],
                                      timeout_ms=250)


@pytest.mark.parametrize(("build", "error", "message"), [
    (lambda: commands.register(""), ConfigurationError, "client_name"),
    (lambda: commands.advise(0, 1), ConfigurationError, "server_handle must be a positive"),
    (lambda: commands.advise(1, True), ConfigurationError, "item_handle"),
    (lambda: commands.write(1, 1, float("nan")), ValueConversionError, "no MXAccess"),
    (lambda: commands.write(1, 1, 5, user_id=-1), ConfigurationError, "user_id"),
    (lambda: commands.write2(1, 1, 5, dt.datetime(2026, 1, 1)), ConfigurationError, "naive"),
    (lambda: commands.read_bulk(1, ["A.X"], timeout_ms=2**31), ConfigurationError,
     "timeout_ms"),
    (lambda: commands.set_buffered_update_interval(1, 0), ConfigurationError, "interval_ms"),
])
def test_bad_input_is_a_typed_error(build: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        build()


def test_a_bad_bulk_entry_is_named_by_its_index() -> None:
    with pytest.raises(BulkEntryError) as caught:
        commands.write_bulk(1, [(1, 1), (2, "x"), (3, float("inf"))])
    assert caught.value.index == 2
    with pytest.raises(BulkEntryError) as missing:
        commands.write2_bulk(1, [(1, 1)])
    assert missing.value.index == 0 and "timestamp" in str(missing.value)


def test_alarm_builders_split_references_as_the_gateway_does() -> None:
    who = Operator("operator", node="HMI01", domain="PLANT", full_name="Op Erator")
    cmd = commands.acknowledge_alarm_by_name(
        "Galaxy!TestArea.TestMachine_001.TestAlarm001", "seen", who)
    payload = cmd.acknowledge_alarm_by_name_command
    assert cmd.kind == K.ACKNOWLEDGE_ALARM_BY_NAME and payload is not None
    assert (payload.provider_name, payload.group_name, payload.alarm_name) == (
        "Galaxy", "TestArea", "TestMachine_001.TestAlarm001")
    assert (payload.operator_user, payload.operator_node, payload.operator_domain,
            payload.operator_full_name) == ("operator", "HMI01", "PLANT", "Op Erator")
    query = commands.query_active_alarms("Galaxy!TestArea").query_active_alarms_command
    assert query == pb.QueryActiveAlarmsCommand(alarm_filter_prefix="Galaxy!TestArea")
    assert commands.unsubscribe_alarms().kind == K.UNSUBSCRIBE_ALARMS
    sub = commands.subscribe_alarms("Galaxy!", forced_mode=pb.AlarmProviderMode.SUBTAG)
    assert sub.subscribe_alarms_command is not None
    assert sub.subscribe_alarms_command.forced_mode == pb.AlarmProviderMode.SUBTAG


@pytest.mark.parametrize("reference", ["", "NoBang.Tag", "Galaxy!", "Galaxy!Area", "!A.B",
                                       "Galaxy!.Tag"])
def test_a_malformed_alarm_reference_is_refused(reference: str) -> None:
    with pytest.raises(ConfigurationError, match="reference"):
        commands.acknowledge_alarm_by_name(reference, "c", Operator("op"))


def test_alarm_comments_and_operators_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="over the 1024"):
        commands.acknowledge_alarm("guid", "x" * 1025, Operator("op"))
    with pytest.raises(ConfigurationError, match="operator user"):
        commands.acknowledge_alarm("guid", "ok", Operator(""))
