"""What the CLI says when something fails: one prefix, the closest command for a typo, each
MXAccess diagnostic once, what to do next; library options spelled as flags."""

from __future__ import annotations

import pytest

from mxgw.sim import SimServer

from ..conftest import TEST_KEY
from .conftest import Cli, Opened, run_cli_inprocess


@pytest.mark.parametrize(("typed", "meant"), [
    ("open-sesion", "open-session"), ("stream-event", "stream-events"),
    ("galaxy-discovr", "galaxy-discover"), ("wirte", "write"),
])
async def test_a_mistyped_command_suggests_the_closest(typed: str, meant: str) -> None:
    run = await run_cli_inprocess(typed, "--sim")
    assert run.code == 2 and run.out == ""
    assert run.err.startswith(f"mxgw: error: unknown command {typed!r}: did you mean {meant}")
    assert run.err.count("\n") == 1 and "batch" not in run.err  # not the list of every command


async def test_an_unknown_command_with_nothing_close_points_at_help() -> None:
    run = await run_cli_inprocess("frobnicate", "--json")
    assert run.code == 2 and run.json["error"] == "unknown command 'frobnicate': see mxgw --help"


@pytest.mark.parametrize(("argv", "first_line"), [
    (["write", "--session-id", "s", "--server-handle", "x", "--item-handle", "1", "--value",
      "1"], "mxgw write: error: argument --server-handle: invalid int value: 'x'"),
    (["version", "--bogus"], "mxgw: error: unrecognized arguments: --bogus"),
    (["open-session", "--endpoint", "h:1", "--plaintext", "--tls"],
     "mxgw: error: --plaintext and --tls contradict each other"),
])
async def test_an_error_has_one_prefix(argv: list[str], first_line: str) -> None:
    run = await run_cli_inprocess(*argv)
    assert run.code == 2 and run.err.splitlines() == [first_line]


async def test_writing_an_item_never_advised_says_advise_it_first_once(
        cli: Cli, opened: Opened) -> None:
    s = ["--session-id", opened.session_id, "--server-handle", str(opened.server_handle)]
    added = await cli("add-item", *s, "--item", "TestMachine_001.TestInt")
    handle = str(added.json["addItem"]["itemHandle"])
    run = await cli("write", *s, "--item-handle", handle, "--value", "5", json=False)
    assert run.code == 6 and "advise it first" in run.err
    # the status's diagnostic and the reply's (the same text) are printed once
    assert run.err.count("type is not resolved yet") == 1, run.err


async def test_an_unknown_session_says_how_sessions_end(cli: Cli) -> None:
    run = await cli("register", "--session-id", "session-gone", "--client-name", "x")
    assert run.code == 5 and run.json["code"] == "PROTOCOL_STATUS_CODE_SESSION_NOT_FOUND"
    assert "lease expired" in run.json["error"] and "detach grace" in run.json["error"]


async def test_a_missing_key_names_the_key_flags(sim: SimServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MXGATEWAY_API_KEY", raising=False)
    run = await run_cli_inprocess("open-session", "--endpoint", sim.endpoint, "--plaintext")
    assert run.code == 4 and "pass --api-key-env or --api-key" in run.err
    assert "api_key" not in run.err and TEST_KEY not in run.err


async def test_a_key_variable_that_is_not_set_names_its_flag(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MXGW_NO_SUCH_KEY", raising=False)
    run = await run_cli_inprocess("open-session", "--endpoint", "h:1",
                                  "--api-key-env", "MXGW_NO_SUCH_KEY")
    assert (run.code, run.err) == (2, "mxgw: error: environment variable MXGW_NO_SUCH_KEY is "
                                      "not set or empty (named by --api-key-env)\n")
