"""`mxgw.pyz`: one file that runs with nothing but a Python 3.10+ interpreter."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import zipfile
import zipimport
from pathlib import Path

import pytest

import mxgw

from .conftest import (
    OTHER_PYTHONS,
    assert_smoke_report,
    bare_env,
    check_loaded,
    find_python,
    run,
    tool,
)


def _python(version: str) -> str:
    python = sys.executable if version == "host" else find_python(version)
    if python is None:
        pytest.skip(f"no Python {version} interpreter on this machine")
    return python


@pytest.mark.parametrize("version", ["host", *OTHER_PYTHONS])
def test_zipapp_runs_smoke_isolated_from_an_empty_directory(
        version: str, zipapp: Path, bare_cwd: Path) -> None:
    python = _python(version)
    env = bare_env(XDG_CACHE_HOME=str(bare_cwd.parent / "cache"))
    shown = run([python, "-I", str(zipapp), "version", "--json"], bare_cwd, env)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["version"] == mxgw.__version__
    if version != "host":
        assert info["python"].startswith(version + ".")
    smoke = run([python, "-I", str(zipapp), "smoke", "--sim", "--json"], bare_cwd, env)
    assert smoke.returncode == 0, smoke.stderr
    assert_smoke_report(smoke.stdout)


def test_zipapp_loads_no_compiled_module_outside_the_stdlib(
        zipapp: Path, bare_cwd: Path) -> None:
    env = bare_env(XDG_CACHE_HOME=str(bare_cwd.parent / "cache"))
    report = check_loaded(sys.executable, ["--run-path", str(zipapp)], bare_cwd, env)
    assert report["compiled"] == []


def test_zipapp_serves_and_checks_the_contract_from_its_own_descriptors(
        zipapp: Path, bare_cwd: Path) -> None:
    """descriptors.bin is package data: the zipapp's simulator serves it by reflection and
    its contract check compares with it."""
    env = bare_env(XDG_CACHE_HOME=str(bare_cwd.parent / "cache"))
    check = run([sys.executable, "-I", str(zipapp), "contract-check", "--sim", "--max-events",
                 "1", "--json"], bare_cwd, env)
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert report["reflection"]["served"] == "v1" and not report["differs"]


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


def _run_with_cache(zipapp: Path, cwd: Path, prefix: Path) -> None:
    # `--help` imports every command module, and with them the generated code.
    proc = run([sys.executable, "-I", "-X", f"pycache_prefix={prefix}", str(zipapp),
                "--help"], cwd)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: mxgw")


def test_zipapp_keeps_its_bytecode_outside_the_archive_and_reuses_it(
        zipapp: Path, bare_cwd: Path) -> None:
    prefix = bare_cwd.parent / "pycache"
    _run_with_cache(zipapp, bare_cwd, prefix)
    cached = {p: p.stat().st_mtime_ns for p in prefix.rglob("*.pyc")}
    assert any(p.name == "mxgw.cli.commands.sim.pyc" for p in cached)
    _run_with_cache(zipapp, bare_cwd, prefix)
    # A warm run reads the cache and writes nothing new.
    assert {p: p.stat().st_mtime_ns for p in prefix.rglob("*.pyc")} == cached


def test_zipapp_runs_with_a_corrupt_or_unwritable_bytecode_cache(
        zipapp: Path, bare_cwd: Path) -> None:
    prefix = bare_cwd.parent / "pycache"
    _run_with_cache(zipapp, bare_cwd, prefix)
    for pyc in prefix.rglob("*.pyc"):
        pyc.write_bytes(b"garbage")
    _run_with_cache(zipapp, bare_cwd, prefix)
    not_a_folder = bare_cwd.parent / "file"
    not_a_folder.write_text("x")
    _run_with_cache(zipapp, bare_cwd, not_a_folder)


def test_zipapp_ignores_what_the_host_has_installed(zipapp: Path, bare_cwd: Path) -> None:
    # betterproto2 imports pydantic when it can find it: a host copy must stay out of reach.
    shadow = bare_cwd.parent / "shadow" / "pydantic"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise RuntimeError('the host pydantic was imported')\n")
    env = bare_env(PYTHONPATH=str(shadow.parent),
                   XDG_CACHE_HOME=str(bare_cwd.parent / "cache"))
    proc = run([sys.executable, str(zipapp), "smoke", "--sim", "--json"], bare_cwd, env)
    assert proc.returncode == 0, proc.stderr
    assert_smoke_report(proc.stdout)


def test_cached_importer_names_files_as_zipimport_does(zipapp: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "zipapp_boot", Path(__file__).parents[2] / "tools" / "zipapp_boot.py")
    assert spec is not None and spec.loader is not None
    boot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(boot)
    with zipfile.ZipFile(zipapp) as zf:
        sources = [n for n in zf.namelist() if n.endswith(".py") and "/" in n]
    assert sources
    for name in sources:
        parts = name[:-len(".py")].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        folder = os.path.join(str(zipapp), *parts[:-1])
        plain = zipimport.zipimporter(folder)
        cached = boot.CachingZipImporter(folder, os.devnull)
        assert cached.get_filename(parts[-1]) == plain.get_filename(parts[-1]), name
