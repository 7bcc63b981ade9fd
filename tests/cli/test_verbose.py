"""`-v`/`-vv`/`--log-level`: the library's log records on stderr, stdout still one JSON
document, nothing logged without them, and the logging set-up undone afterwards."""

from __future__ import annotations

import logging

import pytest

from mxgw.cli.main import build_parser, parse_line

from .conftest import Cli

LINE = "mxgw.connection INFO connected to"


@pytest.mark.parametrize("flags", [["-v"], ["--verbose"], ["--log-level", "info"],
                                   ["--log-level=INFO"]])
async def test_info_logs_go_to_stderr_and_stdout_stays_json(cli: Cli, flags: list[str]) -> None:
    run = await cli(*flags, "open-session", "--client-name", "verbose")
    assert run.code == 0, run.err
    assert run.json["sessionId"].startswith("session-")
    assert LINE in run.err and "mxgw.session INFO session session-" in run.err
    assert " DEBUG " not in run.err
    assert not logging.getLogger("mxgw").handlers[1:]  # only the library's NullHandler
    assert logging.getLogger("mxgw").propagate


async def test_vv_is_debug(cli: Cli) -> None:
    run = await cli("-vv", "stream-events", "--session-id", "session-" + "0" * 32,
                    "--max-events", "1", "--timeout", "5")
    assert run.code == 4  # NOT_FOUND
    assert "mxgw.events DEBUG session session-" in run.err
    assert "hpack" not in run.err  # other libraries' debug records stay off


async def test_nothing_is_logged_without_the_flags(cli: Cli) -> None:
    run = await cli("open-session", "--client-name", "quiet")
    assert run.code == 0 and run.err == ""


@pytest.mark.parametrize(("argv", "level"), [
    (["version"], None), (["-v", "version"], logging.INFO),
    (["-v", "-v", "version"], logging.DEBUG), (["--log-level", "WARNING", "version"],
                                               logging.WARNING),
    (["-vv", "--log-level", "error", "version"], logging.ERROR),
])
def test_the_global_flags_give_a_level(argv: list[str], level: int | None) -> None:
    cmd, _, _, log_level = parse_line(build_parser(), argv)
    assert cmd.name == "version" and log_level == level


async def test_a_bad_level_is_a_usage_error(cli: Cli) -> None:
    run = await cli("--log-level", "LOUD", "version", connect=False)
    assert run.code == 2 and "LOUD" in run.json["error"]
