"""bench-* subcommands print the upstream JSON shape; galaxy-discover shows its progress
(count of the gateway's total, rate, elapsed) where a user looks at it, or when asked."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import sys
from collections.abc import AsyncIterator

import pytest

from mxgw.cli.context import Context
from mxgw.cli.main import amain
from mxgw.sim import SimConfig, SimServer
from mxgw.sim.galaxy import GalaxyModel

from ..conftest import ROOT, TEST_KEY
from .conftest import Cli

LATENCY_KEYS = {"p50", "p95", "p99", "max", "mean"}


async def test_bench_read_bulk_prints_the_upstream_object(cli: Cli) -> None:
    run = await cli("bench-read-bulk", "--bulk-size", "3", "--duration-seconds", "0.4",
                    "--warmup-seconds", "0.1", "--subscribe", "--items",
                    "TestMachine_001.TestInt,TestMachine_002.TestInt")
    assert run.code == 0, run.out + run.err
    result = run.json
    assert set(result) == {"language", "durationMs", "totalCalls", "successfulCalls",
                           "failedCalls", "totalReadResults", "cachedReadResults",
                           "callsPerSecond", "latencyMs"}
    assert result["language"] == "python" and result["durationMs"] >= 400
    assert result["totalCalls"] == result["successfulCalls"] > 0
    assert result["failedCalls"] == 0
    assert result["totalReadResults"] == 3 * result["totalCalls"]
    assert 0 < result["cachedReadResults"] <= result["totalReadResults"]
    latency = result["latencyMs"]
    assert set(latency) == LATENCY_KEYS
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]


async def test_bench_stream_events_counts_events(cli: Cli) -> None:
    run = await cli("bench-stream-events", "--duration-seconds", "1.2", "--warmup-seconds",
                    "0.1", "--items", "TestMachine_001.TestDouble,TestMachine_002.TestDouble")
    assert run.code == 0, run.out + run.err
    result = run.json
    assert result["language"] == "python" and result["totalEvents"] >= 2
    assert result["eventsPerSecond"] > 0 and set(result["latencyMs"]) == LATENCY_KEYS
    text = await cli("bench-read-bulk", "--duration-seconds", "0.2", "--warmup-seconds", "0",
                     json=False)
    assert "calls/s" in text.out and "p99" in text.out


async def test_bench_flags_are_checked(cli: Cli) -> None:
    run = await cli("bench-read-bulk", "--duration-seconds", "0")
    assert run.code == 2


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
async def big_sim() -> AsyncIterator[SimServer]:
    async with SimServer(SimConfig(api_keys=[TEST_KEY]), GalaxyModel.default(1200)) as sim:
        yield sim


PROGRESS = re.compile(r"1,200 of 1,200 objects  100%  [\d,]+/s  \d+\.\d s\n")
"""The last progress line: count of the gateway's total, percent, rate, elapsed."""


@pytest.mark.parametrize(("out_type", "err_type", "flag", "shown"), [
    (io.StringIO, Terminal, [], "redrawn"),           # --json > file, on a terminal
    (io.StringIO, io.StringIO, [], None),             # stderr not a terminal
    (io.StringIO, io.StringIO, ["--progress"], "lines"),
    (io.StringIO, Terminal, ["--no-progress"], None),
    (Terminal, Terminal, [], None),                   # the objects scroll by on it already
])
async def test_discover_progress_shows_count_of_total_rate_and_elapsed(
        big_sim: SimServer, out_type: type[io.StringIO], err_type: type[io.StringIO],
        flag: list[str], shown: str | None) -> None:
    out, err = out_type(), err_type()
    code = await amain(["galaxy-discover", "--no-attributes", "--jsonl", *flag, "--endpoint",
                        big_sim.endpoint, "--plaintext", "--api-key", TEST_KEY],
                       Context(out, err))
    assert code == 0
    assert len(out.getvalue().splitlines()) == 1200
    progress = err.getvalue()
    if shown is None:
        assert progress == ""
    elif shown == "redrawn":  # in place: each update back to column 0, cleared
        assert progress.startswith("\r\x1b[K1 of 1,200 objects  0%  ")
        assert PROGRESS.fullmatch(progress.rsplit("\r\x1b[K", 1)[1]), progress
    else:  # a line per update, no control characters
        assert "\r" not in progress and "\x1b" not in progress
        assert PROGRESS.fullmatch(progress.splitlines(keepends=True)[-1]), progress


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
async def test_discover_progress_on_a_real_terminal(big_sim: SimServer) -> None:
    """`mxgw galaxy-discover --json > file` in a terminal: stderr is a pty, the progress is
    redrawn in place on it and ends with the total."""
    import pty  # POSIX only (termios)

    master, slave = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mxgw.cli", "galaxy-discover", "--no-attributes", "--json",
            "--endpoint", big_sim.endpoint, "--plaintext", "--api-key", TEST_KEY,
            stdout=asyncio.subprocess.PIPE, stderr=slave, cwd=ROOT)
        os.close(slave)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0
        assert len(json.loads(out)) == 1200
        os.set_blocking(master, False)
        shown = os.read(master, 65536).decode()  # a few hundred bytes: the pty holds them
    finally:
        os.close(master)
    assert shown.startswith("\r\x1b[K1 of 1,200 objects  0%  "), shown
    # The terminal turns the final "\n" into "\r\n".
    assert PROGRESS.fullmatch(shown.rsplit("\r\x1b[K", 1)[1].replace("\r\n", "\n")), shown
