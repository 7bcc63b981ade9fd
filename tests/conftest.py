"""Shared fixtures (a simulated gateway on a real loopback socket, and a client of it) and
helpers for every test package."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from hypothesis import settings

from mxgw import GatewayClient, pb
from mxgw.sim import RuntimeConfig, SimConfig, SimServer

# No property test may fail for being slow: Hypothesis's default 200 ms deadline per
# example is a timing threshold, and on a loaded 2-core machine it failed a correct
# round trip (test_values.py). Loaded here, before any test module builds its settings.
settings.register_profile("mxgw", deadline=None)
settings.load_profile("mxgw")

ROOT = Path(__file__).resolve().parent.parent
TEST_KEY = "mxgw_test_s3cr3tTESTKEYvalue"


def sim_config(runtime: RuntimeConfig | None = None) -> SimConfig:
    """The tests' simulated gateway: TEST_KEY, and by default first values after 20 ms and
    no alarm changing on its own (tests drive alarms by hand: `sim.runtime.alarms`)."""
    return SimConfig(api_keys=[TEST_KEY],
                     runtime=runtime or RuntimeConfig(first_value_delay=0.02, alarm_rate=0))


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(sim_config()) as server:
        yield server


@pytest.fixture
async def client(sim: SimServer) -> AsyncIterator[GatewayClient]:
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as c:
        yield c


def run_cli(*args: str, stdin: str | None = None, timeout: float = 60,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "mxgw.cli", *args], input=stdin, capture_output=True,
        text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=ROOT,
    )


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until `predicate()` holds, or fail after `timeout` seconds.

    For simulator state that has no event to await: it polls the event loop every 10 ms.
    """
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout)


async def first_data_change(events: AsyncIterator[pb.MxEvent], *item_handles: int,
                            timeout: float = 10.0) -> pb.MxEvent:
    """Read `events` until each of `item_handles` (any item, if none are given) has sent
    its first OnDataChange, and return the last of those; the events before it are
    consumed. Fails if the stream ends first or after `timeout` seconds.
    """
    waiting = set(item_handles)

    async def read() -> pb.MxEvent:
        async for event in events:
            if event.on_data_change is not None:
                waiting.discard(event.item_handle)
                if not waiting:
                    return event
        raise AssertionError(f"the stream ended before the first data change of "
                             f"{sorted(waiting) or 'any item'}")

    return await asyncio.wait_for(read(), timeout)
