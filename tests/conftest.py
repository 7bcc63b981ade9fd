"""Shared fixtures: a simulated gateway on a real loopback socket, and clients of it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from mxgw import GatewayClient
from mxgw.sim import RuntimeConfig, SimConfig, SimServer

ROOT = Path(__file__).resolve().parent.parent
TEST_KEY = "mxgw_test_s3cr3tTESTKEYvalue"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    config = SimConfig(api_keys=[TEST_KEY], runtime=RuntimeConfig(first_value_delay=0.02))
    async with SimServer(config) as server:
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
