"""bench-* subcommands print the upstream JSON shape; galaxy-discover shows progress on a
terminal only."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest

from mxgw.cli.context import Context
from mxgw.cli.main import amain
from mxgw.sim import SimConfig, SimServer
from mxgw.sim.galaxy import GalaxyModel

from ..conftest import TEST_KEY
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


@pytest.mark.parametrize("err_type", [Terminal, io.StringIO])
async def test_discover_progress_only_on_a_terminal(big_sim: SimServer,
                                                    err_type: type[io.StringIO]) -> None:
    out, err = io.StringIO(), err_type()
    code = await amain(["galaxy-discover", "--no-attributes", "--jsonl", "--endpoint",
                        big_sim.endpoint, "--plaintext", "--api-key", TEST_KEY],
                       Context(out, err))
    assert code == 0
    count = len(out.getvalue().splitlines())
    assert count >= 1200
    if err_type is Terminal:
        assert f"\r{count} objects" in err.getvalue()
    else:
        assert err.getvalue() == ""
