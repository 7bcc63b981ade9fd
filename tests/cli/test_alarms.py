"""`stream-alarms`, `query-active-alarms`, `acknowledge-alarm` against a simulated gateway
whose alarms change only by hand: the upstream JSON shapes, readable text, exit codes, bad
input before sending, and the three through one `mxgw batch` process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mxgw.contract.checks import ALARM_COMMENT_MAX
from mxgw.sim import RuntimeConfig, SimServer
from mxgw.sim.alarms import AlarmMonitor

from ..conftest import eventually, sim_config
from .conftest import Cli, run_cli_inprocess
from .test_batch import EOR, KEY_ENV, Batch, batch  # noqa: F401  (the batch fixture)

ACTIVE_REF = "Galaxy!Plant.TestMachine_001.TestAlarm001"
IDLE_REF = "Galaxy!Plant.TestMachine_003.TestAlarm001"
UNKNOWN_REF = "Galaxy!NoSuchArea.NoSuchTag.NoAlarm"
NOWHERE = ["--endpoint", "127.0.0.1:1", "--plaintext", "--json"]
"""Nothing listens there: a command that got as far as connecting would exit 3."""


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    """This module's gateway: alarms change only when a test drives them."""
    async with SimServer(sim_config(RuntimeConfig(alarm_rate=0))) as server:
        yield server


def monitor(sim: SimServer) -> AlarmMonitor:
    return sim.runtime.alarms


def arm(message: dict[str, Any]) -> str:
    (name,) = message  # exactly one payload arm per feed message
    return name


async def test_query_lists_the_active_alarms_as_protobuf_json(cli: Cli) -> None:
    run = await cli("query-active-alarms")
    assert run.code == 0, run.out + run.err
    alarms = run.json
    assert isinstance(alarms, list) and len(alarms) >= 1
    machine = next(a for a in alarms if a["alarmFullReference"] == ACTIVE_REF)
    assert machine["currentState"] == "ALARM_CONDITION_STATE_ACTIVE"
    assert machine["alarmTypeName"] == "DSC" and machine["category"] == "Plant"
    assert machine["sourceObjectReference"] == "TestMachine_001"
    assert machine["lastTransitionTimestamp"].endswith("Z")
    assert {"severity", "operatorComment", "degraded"} <= machine.keys()
    narrowed = (await cli("query-active-alarms", "--filter-prefix", "Galaxy!Plant.")).json
    assert narrowed and all(a["alarmFullReference"].startswith("Galaxy!Plant.")
                            for a in narrowed)


async def test_query_text_is_a_table_most_urgent_first(cli: Cli) -> None:
    run = await cli("query-active-alarms", json=False)
    assert run.code == 0
    header, *rows = run.out.splitlines()
    assert header.split()[:5] == ["SEVERITY", "STATE", "TYPE", "SINCE", "REFERENCE"]
    severities = [int(row.split()[0]) for row in rows]
    assert len(rows) >= 2 and severities == sorted(severities)
    assert any(ACTIVE_REF in row and " ACTIVE " in row for row in rows)
    none = await cli("query-active-alarms", "--filter-prefix", "Galaxy!Nowhere", json=False)
    assert none.out.strip() == "(no active alarms)"


async def stream_with_one_live_transition(cli: Cli, sim: SimServer, *flags: str,
                                          json: bool = True) -> Any:
    """stream-alarms for the snapshot, the marker, the status and one transition, raised
    by hand once the stream is open."""
    count = len(monitor(sim).snapshots()) + 3
    task = asyncio.ensure_future(cli(
        "stream-alarms", "--max-messages", str(count), "--timeout", "45", *flags, json=json))
    await eventually(lambda: monitor(sim).feed_count == 1 or task.done())
    monitor(sim).raise_alarm(IDLE_REF)
    run = await asyncio.wait_for(task, 45)
    assert run.code == 0, run.out + run.err
    return run


async def test_stream_alarms_prints_snapshot_marker_status_then_a_live_transition(
        cli: Cli, sim: SimServer) -> None:
    active = len(monitor(sim).snapshots())
    messages = (await stream_with_one_live_transition(cli, sim)).json
    assert [arm(m) for m in messages] == (
        ["activeAlarm"] * active + ["snapshotComplete", "providerStatus", "transition"])
    assert messages[active] == {"snapshotComplete": {}}
    assert ACTIVE_REF in {m["activeAlarm"]["alarmFullReference"] for m in messages[:active]}
    status = messages[active + 1]["providerStatus"]
    assert (status["mode"], status["degraded"]) == ("ALARM_PROVIDER_MODE_ALARMMGR", False)
    live = messages[-1]["transition"]
    assert live["alarmFullReference"] == IDLE_REF
    assert live["transitionKind"] == "ALARM_TRANSITION_KIND_RAISE"
    assert live["sourceProvider"] == "ALARM_PROVIDER_MODE_ALARMMGR"
    assert {"severity", "transitionTimestamp", "category", "alarmTypeName"} <= live.keys()
    await eventually(lambda: monitor(sim).feed_count == 0)  # the stream was closed


async def test_stream_alarms_jsonl_and_text(cli: Cli, sim: SimServer) -> None:
    lines = (await stream_with_one_live_transition(cli, sim, "--jsonl", json=False)).lines
    assert [arm(m) for m in lines[-3:]] == ["snapshotComplete", "providerStatus", "transition"]
    monitor(sim).clear_alarm(IDLE_REF)
    text = (await stream_with_one_live_transition(cli, sim, json=False)).out.splitlines()
    assert any(line.startswith("ACTIVE") and ACTIVE_REF in line for line in text)
    assert "-- snapshot complete; live transitions follow" in text
    assert text[-2].startswith("provider ALARMMGR")
    assert text[-1].startswith("RAISE") and IDLE_REF in text[-1]


async def test_stream_alarms_without_enough_messages_stops_at_the_timeout(cli: Cli) -> None:
    run = await cli("stream-alarms", "--filter-prefix", "Galaxy!Nowhere", "--max-messages", "5",
                    "--timeout", "2")
    assert run.code == 0
    assert [arm(m) for m in run.json] == ["snapshotComplete", "providerStatus"]
    text = await cli("stream-alarms", "--filter-prefix", "Galaxy!Nowhere", "--max-messages",
                     "5", "--timeout", "2", json=False)
    assert text.code == 0 and len(text.out.splitlines()) == 2
    assert text.err == "(only 2 of 5 message(s) within 2 s)\n"


async def test_acknowledging_makes_the_alarm_active_acked_in_the_next_query(cli: Cli) -> None:
    run = await cli("acknowledge-alarm", "--reference", ACTIVE_REF, "--comment", "on it",
                    "--operator", "Operator1", "--node", "HMI01", "--domain", "PLANT",
                    "--full-name", "Olga Operator")
    assert run.code == 0, run.out + run.err
    assert run.json["protocolStatus"]["code"] == "PROTOCOL_STATUS_CODE_OK"
    assert run.json["hresult"] == 0
    alarms = (await cli("query-active-alarms")).json
    acked = next(a for a in alarms if a["alarmFullReference"] == ACTIVE_REF)
    assert acked["currentState"] == "ALARM_CONDITION_STATE_ACTIVE_ACKED"
    assert acked["operatorComment"] == "on it"
    again = await cli("acknowledge-alarm", "--reference", ACTIVE_REF, "--comment", "again",
                      "--operator", "Operator1", json=False)
    assert again.code == 0 and again.out.startswith("OK")


async def test_a_refused_acknowledge_is_an_envelope_with_the_native_status(cli: Cli) -> None:
    run = await cli("acknowledge-alarm", "--reference", UNKNOWN_REF, "--comment", "x",
                    "--operator", "Operator1")
    assert run.code == 6
    envelope = run.json
    assert envelope["category"] == "alarm_acknowledge"
    assert envelope["code"].startswith("PROTOCOL_STATUS_CODE_")
    assert envelope["hresult"] != 0 and envelope["reply"]["hresult"] == envelope["hresult"]
    assert UNKNOWN_REF in envelope["error"]
    text = await cli("acknowledge-alarm", "--reference", UNKNOWN_REF, "--operator", "op",
                     json=False)
    assert text.code == 6 and text.out == "" and "refused" in text.err


async def test_a_subscribed_session_streams_alarm_transitions_readably(
        cli: Cli, sim: SimServer) -> None:
    sid = (await cli("open-session")).json["sessionId"]
    subscribed = await cli("invoke", "--session-id", sid, "--kind", "SUBSCRIBE_ALARMS",
                           "--payload", '{"subscriptionExpression": "Galaxy!Plant"}')
    assert subscribed.code == 0, subscribed.out
    monitor(sim).raise_alarm(IDLE_REF)
    run = await cli("stream-events", "--session-id", sid, "--family", "ON_ALARM_TRANSITION",
                    "--max-events", "1", "--timeout", "10", json=False)
    assert run.code == 0, run.err
    (line,) = run.out.splitlines()
    assert "ON_ALARM_TRANSITION  RAISE" in line and IDLE_REF in line


@pytest.mark.parametrize("argv", [
    ["stream-alarms", "--max-messages", "-1"],
    ["stream-alarms", "--max-messages", "0"],
    ["acknowledge-alarm", "--reference", "TestMachine_001.TestAlarm001", "--operator", "op"],
    ["acknowledge-alarm", "--reference", "", "--operator", "op"],
    ["acknowledge-alarm", "--reference", ACTIVE_REF, "--operator", "op",
     "--comment", "x" * (ALARM_COMMENT_MAX + 1)],
    ["acknowledge-alarm", "--reference", ACTIVE_REF, "--operator", " "],
    ["acknowledge-alarm", "--reference", ACTIVE_REF],
], ids=["negative", "zero", "no-bang", "empty", "long-comment", "no-operator", "missing"])
async def test_bad_input_exits_2_before_anything_is_sent(argv: list[str]) -> None:
    run = await run_cli_inprocess(*argv, *NOWHERE)
    assert run.code == 2, run.out
    assert run.json["category"] in ("usage", "configuration")


async def test_the_three_commands_through_one_batch_process(
        batch: Batch, sim: SimServer) -> None:  # noqa: F811  (the imported fixture)
    c = f"--endpoint {sim.endpoint} --plaintext --api-key-env {KEY_ENV}"
    alarms = await batch.json(f"query-active-alarms {c}")
    assert ACTIVE_REF in {a["alarmFullReference"] for a in alarms}
    acked = await batch.json(f"mxgw acknowledge-alarm --reference {ACTIVE_REF} "
                             f"--comment 'from batch' --operator Operator1 {c}")
    assert acked["protocolStatus"]["code"] == "PROTOCOL_STATUS_CODE_OK"
    states = {a["alarmFullReference"]: a["currentState"]
              for a in await batch.json(f"query-active-alarms {c}")}
    assert states[ACTIVE_REF] == "ALARM_CONDITION_STATE_ACTIVE_ACKED"
    refused = await batch.json(f"acknowledge-alarm --reference {UNKNOWN_REF} --comment x "
                               f"--operator Operator1 {c}")
    assert refused["category"] == "alarm_acknowledge" and refused["hresult"] != 0
    bad = await batch.json(f"stream-alarms --max-messages -3 {c}")
    assert bad["category"] == "usage"

    # stream-alarms: the record is the array of the snapshot, the marker, the status and a
    # transition raised once the stream is open.
    assert batch.proc.stdin is not None
    batch.proc.stdin.write(f"stream-alarms --max-messages {len(alarms) + 3} --timeout 45 "
                           f"{c}\n".encode())
    await batch.proc.stdin.drain()
    await eventually(lambda: monitor(sim).feed_count == 1, 30)
    monitor(sim).raise_alarm(IDLE_REF)
    messages = await read_record(batch)
    assert [arm(m) for m in messages[-3:]] == ["snapshotComplete", "providerStatus",
                                               "transition"]
    assert messages[-1]["transition"]["alarmFullReference"] == IDLE_REF
    assert sim.connection_count == 1  # one connection for the whole batch
    code, rest, _ = await batch.end()
    assert (code, rest) == (0, "")


async def read_record(process: Batch) -> Any:
    """The one JSON document of the next batch record."""
    assert process.proc.stdout is not None
    lines: list[str] = []
    while (line := (await asyncio.wait_for(process.proc.stdout.readline(), 45)).decode()
           .rstrip("\n")) != EOR:
        assert line or lines, "batch ended early"
        lines.append(line)
    assert len(lines) == 1, lines
    return json.loads(lines[0])

