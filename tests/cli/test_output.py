"""What a person or a script sees: help with examples, readable text, error envelopes and
exit codes, upstream flag spellings, and never the API key."""

from __future__ import annotations

import re

import pytest

from mxgw import ClientOptions, ConfigurationError
from mxgw.cli.commands import load_all
from mxgw.cli.output import option_flag
from mxgw.sim import SimServer

from ..conftest import TEST_KEY
from .conftest import Cli, Opened, run_cli_inprocess


@pytest.mark.parametrize("name", sorted(load_all()))
async def test_every_subcommand_has_help_with_an_example(name: str) -> None:
    run = await run_cli_inprocess(name, "--help")
    assert run.code == 0
    assert run.out.startswith(f"usage: mxgw {name}")
    example = run.out.split("example:\n", 1)[1].strip()
    assert example.startswith(f"mxgw {name}") or f"mxgw {name}" in example
    if load_all()[name].connects:
        assert "--endpoint" in run.out and "--api-key-env" in run.out and "--sim" in run.out


async def test_top_level_help_lists_every_subcommand() -> None:
    run = await run_cli_inprocess("--help")
    assert run.code == 0
    for name in load_all():
        assert re.search(rf"^\s+{re.escape(name)}\b", run.out, re.M), name


async def test_smoke_text_is_short_lines(sim: SimServer) -> None:
    run = await run_cli_inprocess("smoke", "--endpoint", sim.endpoint, "--plaintext",
                                  "--api-key", TEST_KEY)
    assert run.code == 0
    lines = run.out.splitlines()
    assert [line.split()[0] for line in lines[:4]] == ["session", "register", "add-item",
                                                      "advise"]
    assert re.match(r"event +#\d+ ON_DATA_CHANGE +server \d+ item \d+ += -?\d+ +quality "
                    r"192 good", lines[4])
    assert lines[-1].split() == ["closed", "CLOSED"]
    assert all(len(line) < 120 for line in lines)


async def test_stream_events_text_and_jsonl(cli: Cli, opened: Opened) -> None:
    s, h = ["--session-id", opened.session_id], ["--server-handle", str(opened.server_handle)]
    item = (await cli("add-item", *s, *h, "--item", "TestMachine_004.TestChangingInt")
            ).json["addItem"]["itemHandle"]
    await cli("advise", *s, *h, "--item-handle", str(item))
    text = await cli("stream-events", *s, "--max-events", "1", "--timeout", "10", json=False)
    assert re.fullmatch(rf"#1 ON_DATA_CHANGE  server {opened.server_handle} item {item}  = "
                        r"-?\d+  quality 192 good  at \S+Z\n", text.out)
    # After #1, not "what is queued": a change made while the first stream was still
    # attached went to it and is no longer queued (the replay ring still has it).
    jsonl = await cli("stream-events", *s, "--after-sequence", "1", "--max-events", "1",
                      "--timeout", "10", "--jsonl", json=False)
    (event,) = jsonl.lines
    assert event["workerSequence"] == "2" and event["itemHandle"] == item
    timed_out = await cli("stream-events", *s, "--family", "OPERATION_COMPLETE",
                          "--max-events", "1", "--timeout", "0.3", json=False)
    assert timed_out.code == 0 and timed_out.out == ""
    assert timed_out.err == "(only 0 of 1 event(s) within 0.3 s)\n"


async def test_readable_replies(cli: Cli, opened: Opened) -> None:
    s = ["--session-id", opened.session_id]
    run = await cli("register", *s, "--client-name", "again", json=False)
    assert re.fullmatch(r"register  OK  server handle \d+\n", run.out)
    opened_text = await cli("open-session", json=False)
    assert re.fullmatch(r"session-[0-9a-f]{32}  mxaccess-worker  gateway protocol 3, worker "
                        r"protocol 1\n", opened_text.out)


async def test_unknown_event_family_is_a_usage_error(cli: Cli, opened: Opened) -> None:
    run = await cli("stream-events", "--session-id", opened.session_id, "--family", "NOPE")
    assert run.code == 2 and "ON_WRITE_COMPLETE" in run.json["error"]


async def test_a_wrong_key_exits_4_and_is_never_printed(sim: SimServer) -> None:
    wrong = "mxgw_wrong_THISisNOTtheKEY"
    for json_flag in (["--json"], []):
        run = await run_cli_inprocess("open-session", "--endpoint", sim.endpoint,
                                      "--plaintext", "--api-key", wrong, *json_flag)
        assert run.code == 4
        assert wrong not in run.out + run.err
    envelope = (await run_cli_inprocess("open-session", "--endpoint", sim.endpoint,
                                        "--plaintext", "--api-key", wrong, "--json")).json
    assert envelope["category"] == "grpc" and envelope["code"] == "UNAUTHENTICATED"


async def test_a_missing_key_variable_is_a_usage_error(sim: SimServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MXGW_NOT_SET_ANYWHERE", raising=False)
    run = await run_cli_inprocess("open-session", "--endpoint", sim.endpoint, "--plaintext",
                                  "--api-key-env", "MXGW_NOT_SET_ANYWHERE", "--json")
    assert run.code == 2 and "MXGW_NOT_SET_ANYWHERE" in run.json["error"]


async def test_the_key_from_an_environment_variable_works(
        sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MXGW_CLI_TEST_KEY", TEST_KEY)
    monkeypatch.setenv("MXGATEWAY_ENDPOINT", sim.endpoint)
    run = await run_cli_inprocess("open-session", "--plaintext", "--api-key-env",
                                  "MXGW_CLI_TEST_KEY", "--json")
    assert run.code == 0 and run.json["sessionId"]


async def test_the_upstream_key_variable_is_read_without_a_key_flag(
        sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the README exports it: MXGATEWAY_ENDPOINT and MXGATEWAY_API_KEY, no key flag."""
    monkeypatch.setenv("MXGATEWAY_API_KEY", TEST_KEY)
    monkeypatch.setenv("MXGATEWAY_ENDPOINT", sim.endpoint)
    run = await run_cli_inprocess("open-session", "--plaintext", "--json")
    assert run.code == 0 and run.json["sessionId"]
    monkeypatch.delenv("MXGATEWAY_API_KEY")
    refused = await run_cli_inprocess("open-session", "--plaintext", "--json")
    assert refused.code == 4 and refused.json["code"] == "UNAUTHENTICATED"
    assert "--api-key-env" in refused.json["error"]
    assert "MXGATEWAY_API_KEY" in refused.json["error"]


async def test_the_upstream_tls_variables_are_honoured(
        sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MXGATEWAY_API_KEY", TEST_KEY)
    monkeypatch.setenv("MXGATEWAY_ENDPOINT", sim.endpoint)
    monkeypatch.setenv("MXGATEWAY_PLAINTEXT", "1")
    run = await run_cli_inprocess("open-session", "--json")  # plaintext from the variable
    assert run.code == 0 and run.json["sessionId"]
    forced = await run_cli_inprocess("open-session", "--tls", "--json")  # a flag wins
    assert forced.code == 3, forced.out


@pytest.mark.parametrize("value", [TEST_KEY + "\n", TEST_KEY + "\r\n", f"  {TEST_KEY}\t"])
async def test_a_key_variable_is_read_as_the_library_reads_it(
        sim: SimServer, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """A key file's trailing newline: the library accepts it, and so does the CLI."""
    monkeypatch.setenv("MXGW_CLI_TEST_KEY", value)
    options = ClientOptions(sim.endpoint, api_key_env="MXGW_CLI_TEST_KEY")
    assert options.key is not None and options.key.reveal() == TEST_KEY
    run = await run_cli_inprocess("open-session", "--endpoint", sim.endpoint, "--plaintext",
                                  "--api-key-env", "MXGW_CLI_TEST_KEY", "--json")
    assert run.code == 0, run.out + run.err
    assert run.json["sessionId"]


@pytest.mark.parametrize("value", ["", "\n", "two words"])
async def test_a_key_variable_the_library_refuses_the_cli_refuses(
        sim: SimServer, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MXGW_CLI_TEST_KEY", value)
    with pytest.raises(ConfigurationError) as refused:
        ClientOptions(sim.endpoint, api_key_env="MXGW_CLI_TEST_KEY")
    run = await run_cli_inprocess("open-session", "--endpoint", sim.endpoint, "--plaintext",
                                  "--api-key-env", "MXGW_CLI_TEST_KEY", "--json")
    # the library's message, with its option spelled as the flag
    assert run.code == 2 and run.json["error"] == refused.value.spelled(option_flag)


async def test_exit_codes_name_the_failing_layer(sim: SimServer) -> None:
    refused = await run_cli_inprocess("open-session", "--endpoint", "127.0.0.1:1",
                                      "--plaintext", "--json")
    assert refused.code == 3 and refused.json["category"] in ("connect", "transport")
    assert refused.json["code"] == refused.json["category"].upper()  # codes read as status names
    both = await run_cli_inprocess("open-session", "--sim", "--plaintext", "--tls")
    assert both.code == 2 and "contradict" in both.err and both.out == ""
    missing = await run_cli_inprocess("register", "--sim", "--json")
    assert missing.code == 2 and "--session-id" in missing.json["error"]
    no_endpoint = await run_cli_inprocess("version", "--bogus")
    assert no_endpoint.code == 2 and "--bogus" in no_endpoint.err


async def test_without_json_errors_go_to_stderr(sim: SimServer) -> None:
    run = await run_cli_inprocess("register", "--endpoint", sim.endpoint, "--plaintext",
                                  "--api-key", TEST_KEY, "--session-id", "session-nope")
    assert run.code == 5 and run.out == ""
    assert run.err.startswith("mxgw: error: ") and "SESSION_NOT_FOUND" in run.err


async def test_bulk_results_read_as_one_line_each(cli: Cli, opened: Opened) -> None:
    s, h = ["--session-id", opened.session_id], ["--server-handle", str(opened.server_handle)]
    added = await cli("add-item-bulk", *s, *h, "--items", "TestMachine_001.TestInt,Nope.X",
                      json=False)
    lines = added.out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("ok") and "TestMachine_001.TestInt" in lines[0]
    reads = await cli("read-bulk", *s, *h, "--items", "TestChildObject.TestInt,No_Such.Tag",
                      "--timeout-ms", "2000", json=False)
    good, bad = reads.out.splitlines()
    assert re.match(r"ok +fresh +TestChildObject\.TestInt = -?\d+ +quality 192 good", good)
    assert bad.startswith("FAIL  No_Such.Tag")


async def test_a_key_in_a_mistyped_command_line_is_not_echoed() -> None:
    key = "mxgw_ops_K3yTHATmustNOTleak"
    for argv in (["register", "--api-kye", key], ["regster", "--api-key", key],
                 ["register", f"--api-key={key}", "--bogus"], ["register", key]):
        run = await run_cli_inprocess(*argv)
        assert run.code == 2
        assert key not in run.out + run.err and re.match(r"mxgw( register)?: error: ", run.err)


async def test_a_deadline_exits_7(cli: Cli, sim: SimServer) -> None:
    sim.faults.latency_ms = 2000
    run = await cli("open-session", "--timeout", "0.2")
    assert run.code == 7
    assert run.json["category"] == "deadline" and run.json["code"] == "DEADLINE_EXCEEDED"


async def test_a_replay_gap_exits_8() -> None:
    from mxgw.sim import RuntimeConfig, SimConfig
    from mxgw.sim.event_log import EventLimits

    config = SimConfig(api_keys=[TEST_KEY], runtime=RuntimeConfig(
        first_value_delay=0.01, event_rate=50.0, events=EventLimits(replay_capacity=2)))
    async with SimServer(config) as sim:
        conn = ["--endpoint", sim.endpoint, "--plaintext", "--api-key", TEST_KEY, "--json"]
        sid = (await run_cli_inprocess("open-session", *conn)).json["sessionId"]
        server = (await run_cli_inprocess("register", "--session-id", sid, *conn)
                  ).json["register"]["serverHandle"]
        await run_cli_inprocess("subscribe-bulk", "--session-id", sid, "--server-handle",
                                str(server), "--items", "TestMachine_001.TestDouble", *conn)
        seen = (await run_cli_inprocess("stream-events", "--session-id", sid, "--max-events",
                                        "6", "--timeout", "10", *conn)).json
        assert [int(e["workerSequence"]) for e in seen] == [1, 2, 3, 4, 5, 6]
        run = await run_cli_inprocess("stream-events", "--session-id", sid, "--after-sequence",
                                      "1", "--timeout", "10", *conn)
        assert run.code == 8
        assert run.json["category"] == "replay_gap" and "sequence 1" in run.json["error"]


async def test_every_failure_envelope_says_type_error_as_upstream_does(sim: SimServer) -> None:
    """Upstream automation tests `"type": "error"`; the failing layer is in `category`."""
    runs = [
        await run_cli_inprocess("no-such-command", "--json"),
        await run_cli_inprocess("open-session", "--endpoint", "127.0.0.1:1", "--plaintext",
                                "--json"),
        await run_cli_inprocess("open-session", "--endpoint", sim.endpoint, "--plaintext",
                                "--api-key", "mxgw_wrong_NOTtheRIGHTsecret42", "--json"),
        await run_cli_inprocess("register", "--session-id", "session-" + "0" * 32,
                                "--endpoint", sim.endpoint, "--plaintext", "--api-key",
                                TEST_KEY, "--json"),
    ]
    categories = []
    for run in runs:
        assert run.code != 0
        assert run.json["type"] == "error", run.json
        categories.append(run.json["category"])
    assert categories[0] == "usage" and categories[2] == "grpc" and categories[3] == "protocol"
    assert categories[1] in ("connect", "transport")
