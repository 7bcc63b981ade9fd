"""`mxgw invoke`: any command kind of the contract, its payload as protobuf-JSON."""

from __future__ import annotations

import json

import pytest

from .conftest import Cli, Opened
from .test_commands import TAG, add, events, ok


async def test_any_kind_is_invoked_from_its_json_payload(cli: Cli, opened: Opened) -> None:
    run = await cli("invoke", "--session-id", opened.session_id, "--kind", "REGISTER",
                    "--payload", '{"clientName": "raw"}')
    ok(run.json, "REGISTER")
    assert run.json["register"]["serverHandle"] > 0
    item = await add(cli, opened, TAG)
    handles = {"serverHandle": opened.server_handle, "itemHandle": item}
    payload = json.dumps({**handles, "value": {"dataType": "MX_DATA_TYPE_INTEGER",
                                               "variantType": "VT_I4", "int32Value": 77}})
    run = await cli("invoke", "--session-id", opened.session_id, "--kind",
                    "MX_COMMAND_KIND_ADVISE", "--payload",
                    json.dumps(handles))
    ok(run.json, "ADVISE")
    await events(cli, opened, "ON_DATA_CHANGE", item)
    run = await cli("invoke", "--session-id", opened.session_id, "--kind", "write",
                    "--payload", payload)
    ok(run.json, "WRITE")
    [done] = await events(cli, opened, "ON_WRITE_COMPLETE", item)
    assert done["itemHandle"] == item


async def test_an_alarm_kind_is_invoked_from_its_json_payload(cli: Cli, opened: Opened) -> None:
    """Alarm commands are in the contract: the CLI builds and sends them, and the
    simulator answers with the typed result."""
    run = await cli("invoke", "--session-id", opened.session_id, "--kind",
                    "QUERY_ACTIVE_ALARMS", "--payload", '{"alarmFilterPrefix": "Galaxy!"}')
    ok(run.json, "QUERY_ACTIVE_ALARMS")
    references = [s["alarmFullReference"] for s in run.json["queryActiveAlarms"]["snapshots"]]
    assert references and all(r.startswith("Galaxy!") for r in references)  # never none


@pytest.mark.parametrize(("kind", "payload", "message"), [
    ("NO_SUCH_KIND", "{}", "unknown --kind"),
    ("REGISTER", "{not json", "not JSON"),
    ("REGISTER", "[1]", "JSON object"),
    ("REGISTER", '{"noSuchField": 1}', "not a RegisterCommand"),
])
async def test_bad_kinds_and_payloads_exit_2_before_sending(
    cli: Cli, opened: Opened, kind: str, payload: str, message: str
) -> None:
    run = await cli("invoke", "--session-id", opened.session_id, "--kind", kind,
                    "--payload", payload)
    assert run.code == 2, run.out
    assert message in run.json["error"]
