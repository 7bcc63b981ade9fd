"""`mxgw.pyz`: one file that runs with nothing but a Python 3.10+ interpreter."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest

import mxgw

from .conftest import OTHER_PYTHONS, assert_smoke_report, check_loaded, find_python, run, tool


def _python(version: str) -> str:
    python = sys.executable if version == "host" else find_python(version)
    if python is None:
        pytest.skip(f"no Python {version} interpreter on this machine")
    return python


@pytest.mark.parametrize("version", ["host", *OTHER_PYTHONS])
def test_zipapp_runs_smoke_isolated_from_an_empty_directory(
        version: str, zipapp: Path, bare_cwd: Path) -> None:
    python = _python(version)
    shown = run([python, "-I", str(zipapp), "version", "--json"], bare_cwd)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["version"] == mxgw.__version__
    if version != "host":
        assert info["python"].startswith(version + ".")
    smoke = run([python, "-I", str(zipapp), "smoke", "--sim", "--json"], bare_cwd)
    assert smoke.returncode == 0, smoke.stderr
    assert_smoke_report(smoke.stdout)


def test_zipapp_loads_no_compiled_module_outside_the_stdlib(
        zipapp: Path, bare_cwd: Path) -> None:
    report = check_loaded(sys.executable, ["--run-path", str(zipapp)], bare_cwd)
    assert report["compiled"] == []


def test_zipapp_holds_no_tests_caches_or_native_and_build_only_packages(zipapp: Path) -> None:
    with zipfile.ZipFile(zipapp) as zf:
        names = zf.namelist()
    tops = {n.split("/")[0] for n in names}
    assert {"mxgw", "grpclib", "betterproto2", "multidict", "__main__.py"} <= tops
    assert not tops & {"grpc", "google", "ruff", "betterproto2_compiler", "pytest", "pip"}
    assert not [n for n in names if "__pycache__" in n or "/tests/" in n
                or n.endswith((".pyc", ".so", ".pyd"))]
    # betterproto2 reads its own version through importlib.metadata, from inside the zip.
    assert any(n.startswith("betterproto2-") and n.endswith(".dist-info/METADATA")
               for n in names)


def test_the_same_wheels_build_the_same_archive(
        zipapp: Path, wheelhouse: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.pyz"
    proc = tool("build_zipapp.py", "--wheelhouse", str(wheelhouse), "--out", str(again))
    assert proc.returncode == 0, proc.stderr
    assert again.read_bytes() == zipapp.read_bytes()
