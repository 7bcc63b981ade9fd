"""Build the wheelhouse and the zipapp once per session, with the real tools, into temp dirs."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKER = Path(__file__).with_name("loaded_extensions.py")
# The oldest supported Python resolves a different closure (older multidict and dateutil,
# plus six): install the wheelhouse there too when this machine has one.
OLDEST = "3.10"
OTHER_PYTHONS = ("3.10", "3.12", "3.13")


def tool(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run tools/SCRIPT with this interpreter (its pip resolves from the package index)."""
    return subprocess.run([sys.executable, str(ROOT / "tools" / script), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def bare_env(**extra: str) -> dict[str, str]:
    """This environment without PYTHON*, PIP_*, VIRTUAL_ENV and MULTIDICT_* variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV", "MULTIDICT_"))}
    env.update(extra)
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env if env is not None else bare_env())


def find_python(version: str) -> str | None:
    """A working CPython `version` (X.Y) interpreter on this machine, or None."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [f"python{version}", *sorted(
        glob.glob(os.path.join(pyenv, "versions", f"{version}.*", "bin", f"python{version}")))]
    for candidate in candidates:
        try:
            proc = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if proc.returncode == 0 and proc.stdout.strip() == version:
            return candidate
    return None


def assert_smoke_report(stdout: str) -> None:
    """`mxgw smoke --json` printed one report with a good-quality data change of its item."""
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    report = json.loads(lines[0])
    changes = [e for e in report["events"] if e["family"] == "MX_EVENT_FAMILY_ON_DATA_CHANGE"]
    assert changes and changes[0]["onDataChange"]["quality"] == 192, report
    assert changes[0]["itemHandle"] == report["itemHandle"]
    assert report["finalState"] == "SESSION_STATE_CLOSED"


def check_loaded(python: str, target: list[str], cwd: Path,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `mxgw smoke --sim --json` under loaded_extensions.py; return its report."""
    proc = run([python, "-I", str(CHECKER), *target, "smoke", "--sim", "--json"], cwd, env)
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    assert report["exit_code"] == 0, report
    assert_smoke_report(report["output"])
    return report


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python tools/wheelhouse.py`, from the package index (pip's cache keeps it quick)."""
    out = tmp_path_factory.mktemp("wh") / "wheelhouse"
    proc = tool("wheelhouse.py", "--out", str(out))
    assert proc.returncode == 0, (
        "building the wheelhouse failed; it needs the package index (pip download):\n"
        + proc.stdout + proc.stderr)
    return out


@pytest.fixture(scope="session")
def zipapp(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python tools/build_zipapp.py --wheelhouse DIR`: offline, from the wheelhouse."""
    out = tmp_path_factory.mktemp("pyz") / "mxgw.pyz"
    proc = tool("build_zipapp.py", "--wheelhouse", str(wheelhouse), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture
def bare_cwd(tmp_path: Path) -> Path:
    """An empty working directory: nothing importable from the source tree."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return cwd
