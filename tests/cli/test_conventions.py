"""The conventions a Python CLI user expects: `mxgw --version`, defaults shown in `--help`,
and `--timeout` as the deadline of each call, with a streaming command's run time in
`--duration-seconds` (`--timeout` standing in for it, as the upstream CLIs spell it)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import MISSING, fields
from typing import Any

import pytest

from mxgw import __version__
from mxgw.cli.commands import load_all
from mxgw.cli.main import flags_class

from .conftest import Cli, Opened, run_cli_inprocess


async def test_version_flag_prints_the_version() -> None:
    run = await run_cli_inprocess("--version")
    assert (run.code, run.out, run.err) == (0, f"mxgw {__version__}\n", "")


def shown(default: Any) -> str:
    if isinstance(default, list):
        return ",".join(map(str, default))
    if isinstance(default, float):
        return f"{default:g}"
    return str(default) or "''"


def words(text: str) -> str:
    """The text without white space: argparse wraps help lines, also at hyphens."""
    return "".join(text.split())


@pytest.mark.parametrize("name", sorted(load_all()))
async def test_help_shows_every_default(name: str) -> None:
    run = await run_cli_inprocess(name, "--help")
    assert run.code == 0
    page = words(run.out)
    for nothing in ("(default:None)", "(default:False)", "MISSING"):
        assert nothing not in page
    for f in fields(flags_class(load_all()[name])):
        help_text = f.metadata.get("help", "")
        if f.default is MISSING or f.default is None or f.default is False or (
                "default" in help_text):
            continue
        assert words(f"{help_text} (default: {shown(f.default)})") in page, f.name


async def run_for(cli: Cli, *argv: str) -> tuple[float, Any]:
    began = time.monotonic()
    run = await asyncio.wait_for(cli(*argv, json=False), 60)
    return time.monotonic() - began, run


async def test_duration_seconds_ends_a_stream_and_timeout_stays_per_call(
        cli: Cli, opened: Opened) -> None:
    s = ["--session-id", opened.session_id, "--server-handle", str(opened.server_handle)]
    await cli("subscribe-bulk", *s, "--items", "TestMachine_001.TestChangingInt")
    # a 60 s deadline for each call does not keep the stream open for 60 s
    took, run = await run_for(cli, "stream-events", "--session-id", opened.session_id,
                              "--duration-seconds", "1", "--timeout", "60")
    assert run.code == 0 and "TestChangingInt" not in run.err
    assert run.out.strip() and took < 30  # events printed; ended by the run time


async def test_timeout_sets_a_stream_run_time_as_upstream_spells_it(
        cli: Cli, opened: Opened) -> None:
    took, run = await run_for(cli, "stream-alarms", "--timeout", "1")
    assert run.code == 0 and took < 30
    took, run = await run_for(cli, "galaxy-watch", "--duration", "1")
    assert run.code == 0 and run.out.strip() and took < 30  # the current deploy, then the end


@pytest.mark.parametrize("command", [["stream-alarms"], ["galaxy-watch"],
                                     ["stream-events", "--session-id", "s"]])
async def test_a_run_time_must_be_positive(cli: Cli, command: list[str]) -> None:
    run = await cli(*command, "--duration-seconds", "0")
    assert run.code == 2 and run.json["error"] == "--duration-seconds must be > 0"
    run = await cli(*command, "--timeout", "-1")
    assert run.code == 2 and run.json["error"] == "--timeout must be > 0"


async def test_a_deadline_must_be_positive() -> None:
    run = await run_cli_inprocess("open-session", "--endpoint", "h:1", "--timeout", "0")
    assert (run.code, run.err) == (2, "mxgw: error: --timeout must be > 0\n")

