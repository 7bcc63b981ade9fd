"""The blocking facade's tests are plain functions (no event loop of pytest's may run
while they block), against a simulator in a child process: `mxgw sim` over a loopback
socket, alarms changing only when a test acknowledges one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import mxgw.sync

from ..conftest import ROOT, TEST_KEY


@dataclass(frozen=True)
class Gateway:
    endpoint: str
    env: dict[str, str]
    """The environment pointing the upstream variables at this simulator."""


def start_sim() -> tuple[subprocess.Popen[str], Gateway]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MXGATEWAY_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "mxgw.cli", "sim", "--port", "0", "--plaintext", "--json",
         "--api-key", TEST_KEY, "--first-value-delay", "0.02", "--alarm-rate", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    announced = json.loads(process.stdout.readline())
    endpoint = announced["endpoint"]
    return process, Gateway(endpoint, {**env, "MXGATEWAY_ENDPOINT": endpoint,
                                       "MXGATEWAY_API_KEY": TEST_KEY,
                                       "MXGATEWAY_PLAINTEXT": "1", "PYTHONUNBUFFERED": "1"})


def stop_sim(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """A simulator of this module's own, in a child process."""
    process, gateway = start_sim()
    try:
        yield gateway
    finally:
        stop_sim(process)


@pytest.fixture
def client(gateway: Gateway) -> Iterator[mxgw.sync.Client]:
    with mxgw.sync.connect(gateway.endpoint, api_key=TEST_KEY, plaintext=True) as c:
        yield c


@pytest.fixture
def session(client: mxgw.sync.Client) -> Iterator[mxgw.sync.Session]:
    with client.open_session("sync-test") as s:
        yield s
