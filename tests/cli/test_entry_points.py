"""Process entry points (`python -m mxgw`, `python -m mxgw.cli`) and what a plain command line
imports: the simulator only for the commands that run one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mxgw import __version__

from ..conftest import ROOT

WRITE = ["write", "--session-id", "s", "--server-handle", "1", "--item-handle", "2",
         "--value", "3"]

IMPORTS = f"""
import sys
from mxgw.cli.main import build_parser, main, parse

def sim_modules():
    return sorted(m for m in sys.modules if m == "mxgw.sim" or m.startswith("mxgw.sim."))

assert main(["version"]) == 0
parse(build_parser(), {WRITE!r})
# A plain write runs (and fails to connect: nothing listens on port 1) without the simulator.
assert main({WRITE!r} + ["--endpoint", "127.0.0.1:1", "--plaintext", "--json"]) == 3
assert sim_modules() == [], sim_modules()
assert main(["open-session", "--sim", "--json"]) == 0
assert "mxgw.sim" in sys.modules
print("ok")
"""


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MXGATEWAY_ENDPOINT"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env=env)


def test_only_the_commands_that_run_a_simulator_import_it() -> None:
    proc = _python("-c", IMPORTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "ok"


@pytest.mark.parametrize("module", ["mxgw", "mxgw.cli"])
def test_python_dash_m(module: str) -> None:
    proc = _python("-m", module, "version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"mxgw {__version__} (python ")
    flag = _python("-m", module, "--version")
    assert (flag.returncode, flag.stdout) == (0, f"mxgw {__version__}\n")
    usage = _python("-m", module, "nosuch")
    assert (usage.returncode, usage.stderr) == (
        2, "mxgw: error: unknown command 'nosuch': see mxgw --help\n")
