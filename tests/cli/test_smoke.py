"""The main job a new user runs first: `mxgw smoke --sim`, and its failure envelope."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from mxgw.sim import SimServer

from ..conftest import TEST_KEY, run_cli


def test_smoke_sim_json_reports_session_handles_and_a_good_data_change() -> None:
    result = run_cli("smoke", "--sim", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["sessionId"].startswith("session-") and len(report["sessionId"]) == 40
    assert report["serverHandle"] > 0 and report["itemHandle"] > 0
    changes = [e for e in report["events"] if e["family"] == "MX_EVENT_FAMILY_ON_DATA_CHANGE"]
    assert changes and changes[0]["onDataChange"]["quality"] == 192
    assert changes[0]["itemHandle"] == report["itemHandle"]
    assert report["finalState"] == "SESSION_STATE_CLOSED"


async def _wrong_key_run(sim: SimServer, *extra: str) -> tuple[int, str, str]:
    wrong = "mxgw_wrong_NOTtheRIGHTsecret42"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "smoke", "--endpoint", sim.endpoint, "--plaintext",
        "--api-key", wrong, *extra, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parents[2],
        env=os.environ.copy(),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert wrong not in out.decode() and wrong not in err.decode()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_smoke_with_a_wrong_key_prints_a_redacted_error_envelope(sim: SimServer) -> None:
    code, out, _ = await _wrong_key_run(sim, "--json")
    assert code == 4
    envelope = json.loads(out)
    assert envelope["category"] == "grpc" and envelope["code"] == "UNAUTHENTICATED"
    assert "error" in envelope and TEST_KEY not in out


async def test_smoke_with_a_wrong_key_without_json_writes_stderr(sim: SimServer) -> None:
    code, out, err = await _wrong_key_run(sim)
    assert code == 4 and out == ""
    assert "UNAUTHENTICATED" in err


def test_console_scripts_are_installed() -> None:
    bin_dir = Path(sys.executable).parent
    for name in ("mxgw", "mxgw-py"):
        assert any((bin_dir / f"{name}{ext}").exists() for ext in ("", ".exe")), name


async def test_smoke_fails_when_the_item_does_not_exist(sim: SimServer) -> None:
    """Upstream's integration check: a Bad first value (quality 0, CONFIGURATION_ERROR)
    must not pass; the session is closed all the same."""
    from .conftest import run_cli_inprocess

    run = await run_cli_inprocess("smoke", "--endpoint", sim.endpoint, "--plaintext",
                                  "--api-key", TEST_KEY, "--item", "Object.Attribute", "--json")
    assert run.code == 6, run.out + run.err
    assert run.json["category"] == "quality" and run.json["code"] == "BAD_QUALITY"
    assert "Object.Attribute" in run.json["error"] and "quality 0" in run.json["error"]
    assert not sim.runtime.sessions  # closed, not left to expire
