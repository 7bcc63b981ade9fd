"""The integration mode as a user runs it: `pytest -m integration` with the upstream
variables against a separately started `mxgw sim`, and skipped, with the reason, when
integration is asked for without them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import pytest

from .conftest import ROOT
from .integration.conftest import Target, live_target

VARIABLES = ("MXGATEWAY_INTEGRATION", "MXGATEWAY_ENDPOINT", "MXGATEWAY_API_KEY",
             "MXGATEWAY_TEST_ITEM", "MXGATEWAY_PLAINTEXT", "MXGATEWAY_CA_FILE",
             "MXGATEWAY_SERVER_NAME_OVERRIDE", "MXGATEWAY_TEST_WRITE")


def _env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    return {**env, **variables, "PYTHONUNBUFFERED": "1"}


async def _pytest(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pytest", "-m", "integration", "-p", "no:cacheprovider",
        "tests/integration", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_against_a_separately_started_simulator() -> None:
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "sim", "--port", "0", "--plaintext", "--json",
        "--first-value-delay", "0.02", cwd=ROOT, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert sim.stdout is not None
    try:
        announced = json.loads(await asyncio.wait_for(sim.stdout.readline(), 30))
        live = _env(MXGATEWAY_INTEGRATION="1", MXGATEWAY_ENDPOINT=announced["endpoint"],
                    MXGATEWAY_API_KEY=announced["apiKey"], MXGATEWAY_PLAINTEXT="1",
                    MXGATEWAY_TEST_ITEM="TestMachine_002.TestChangingInt")
        code, out = await _pytest(live)
        assert code == 0, out
        assert "6 passed, 1 skipped" in out, out
        assert "writing MXGATEWAY_TEST_ITEM needs MXGATEWAY_TEST_WRITE=1" in out
        code, out = await _pytest({**live, "MXGATEWAY_TEST_WRITE": "1"}, "-k", "write")
        assert code == 0 and "1 passed" in out, out
    finally:
        sim.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(sim.communicate(), 30)
    # the tests' sessions were on that simulator (it logs each one it opens)
    assert "opened (mxgw-integration)" in stderr.decode()


async def test_asked_for_without_the_variables_every_test_is_skipped_with_the_reason() -> None:
    code, out = await _pytest(_env(MXGATEWAY_INTEGRATION="1"))
    assert code == 0, out
    assert "7 skipped" in out, out
    assert ("MXGATEWAY_INTEGRATION=1 but MXGATEWAY_ENDPOINT, MXGATEWAY_API_KEY, "
            "MXGATEWAY_TEST_ITEM are not set") in out


def test_tls_settings_come_from_the_variables(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MXGATEWAY_ENDPOINT", "gateway.plant:5001")
    monkeypatch.setenv("MXGATEWAY_API_KEY", "mxgw_live_k3y")
    assert live_target() == "MXGATEWAY_INTEGRATION=1 but MXGATEWAY_TEST_ITEM is not set"
    monkeypatch.setenv("MXGATEWAY_TEST_ITEM", "Pump_001.Speed")
    system_roots = live_target()
    assert isinstance(system_roots, Target)
    assert not system_roots.options.plaintext and system_roots.options.ca_file is None
    assert system_roots.item == "Pump_001.Speed" and not system_roots.may_write
    monkeypatch.setenv("MXGATEWAY_CA_FILE", "plant-ca.pem")
    monkeypatch.setenv("MXGATEWAY_SERVER_NAME_OVERRIDE", "gateway.plant")
    monkeypatch.setenv("MXGATEWAY_TEST_WRITE", "1")
    tls = live_target()
    assert isinstance(tls, Target) and tls.may_write
    assert (tls.options.ca_file, tls.options.server_name_override) == (
        "plant-ca.pem", "gateway.plant")
    monkeypatch.setenv("MXGATEWAY_PLAINTEXT", "1")  # the variables' choice: plaintext
    plain = live_target()
    assert isinstance(plain, Target) and plain.options.plaintext
    assert plain.options.key is not None
