"""The CLI end to end over TLS: `mxgw sim --self-signed` in one process, `mxgw smoke` in others."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ROOT, TEST_KEY, run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="stops the simulator by SIGTERM")

KEY_ENV = "MXGW_TLS_TEST_KEY"


@asynccontextmanager
async def sim_process(*flags: str) -> AsyncIterator[dict[str, Any]]:
    """`mxgw sim ... --json` in a child process: its announcement; SIGTERM at the end."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "sim", "--port", "0", "--json",
        "--api-key", TEST_KEY, *flags, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line, "the simulator exited before announcing its endpoint"
        yield json.loads(line)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def smoke(*flags: str) -> tuple[int, dict[str, Any], str]:
    result = await asyncio.to_thread(
        run_cli, "smoke", "--api-key-env", KEY_ENV, "--json", *flags, env={KEY_ENV: TEST_KEY})
    output = result.stdout + result.stderr
    assert TEST_KEY not in output
    return result.returncode, json.loads(result.stdout), output


async def test_smoke_over_tls_against_a_self_signed_simulator(tmp_path: Path) -> None:
    ca = str(tmp_path / "ca.pem")
    async with sim_process("--self-signed", ca) as announced:
        assert announced["tls"] is True and announced["caFile"] == ca
        endpoint = announced["endpoint"]
        code, reply, output = await smoke("--endpoint", endpoint, "--ca-file", ca)
        assert code == 0, output
        assert reply["sessionId"] and reply["serverHandle"] > 0
        assert reply["finalState"] == "SESSION_STATE_CLOSED"
        # without the CA: a TLS error, exit 3 (transport)
        code, reply, output = await smoke("--endpoint", endpoint)
        assert (code, reply["category"]) == (3, "tls"), output
        # in plaintext: told the gateway may serve TLS, exit 3
        code, reply, output = await smoke("--endpoint", endpoint, "--plaintext")
        assert (code, reply["category"]) == (3, "connect"), output
        assert "TLS" in reply["error"]


async def test_mutual_tls_from_the_command_line(tmp_path: Path) -> None:
    from mxgw.sim.pki import write_test_pki

    pki = write_test_pki(tmp_path, client=True)
    assert pki.client_cert and pki.client_key
    async with sim_process("--tls-cert", pki.server_cert, "--tls-key", pki.server_key,
                           "--client-ca", pki.ca_cert) as announced:
        assert announced["tls"] is True and announced["mutualTls"] is True
        endpoint = announced["endpoint"]
        code, _, output = await smoke("--endpoint", endpoint, "--ca-file", pki.ca_cert,
                                      "--client-cert", pki.client_cert,
                                      "--client-key", pki.client_key)
        assert code == 0, output
        code, reply, output = await smoke("--endpoint", endpoint, "--ca-file", pki.ca_cert)
        assert (code, reply["category"]) == (3, "tls"), output
        assert "--client-cert" in reply["error"]


def test_sim_without_tls_material_is_a_usage_error() -> None:
    result = run_cli("sim", "--port", "0", timeout=60)
    assert result.returncode == 2
    assert "--self-signed" in result.stderr and "--plaintext" in result.stderr


async def test_the_text_announcement_says_whether_tls_is_on(tmp_path: Path) -> None:
    ca = str(tmp_path / "ca.pem")
    for flags, expected in ((["--plaintext"], "tls: off"),
                            (["--self-signed", ca], f"tls: on (self-signed; clients use "
                                                    f"--ca-file {ca})")):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mxgw.cli", "sim", "--port", "0", *flags, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        try:
            assert proc.stdout is not None
            endpoint = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert endpoint.decode().startswith("127.0.0.1:")
            tls_line = await asyncio.wait_for(proc.stdout.readline(), 10)
            assert tls_line.decode().startswith(expected)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
