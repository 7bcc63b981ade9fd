"""The declared dependency ranges hold: the shipped versions (constraints.txt) are inside
them, the wheelhouse ships exactly those, and the lowest versions allowed pass the client,
contract and CLI tests (the newest allowed are what the dev venv runs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from .conftest import ROOT, bare_env, run

if sys.version_info >= (3, 11):
    import tomllib

    def _dependencies() -> list[str]:
        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        return list(project["project"]["dependencies"])
else:
    def _dependencies() -> list[str]:
        pytest.skip("reading pyproject.toml needs tomllib (Python 3.11+)")


def _declared() -> dict[str, Requirement]:
    found = [Requirement(r) for r in _dependencies()]
    return {canonicalize_name(r.name): r for r in found}


def _shipped() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def _lowest(requirement: Requirement) -> Version:
    floors = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    assert len(floors) == 1, f"{requirement}: declare one >= floor"
    return floors[0]


def test_every_dependency_is_a_bounded_range_that_admits_what_is_shipped() -> None:
    declared, shipped = _declared(), _shipped()
    for name, requirement in declared.items():
        operators = {s.operator for s in requirement.specifier}
        assert operators == {">=", "<"}, f"{requirement}: a range, not a pin"
        assert name in shipped, f"constraints.txt does not pin {name}"
        assert requirement.specifier.contains(shipped[name]), (requirement, shipped[name])


def test_the_wheelhouse_ships_the_constrained_versions(wheelhouse: Path) -> None:
    shipped = _shipped()
    for wheel in wheelhouse.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        if name in shipped:
            assert version == shipped[name], wheel.name


def test_the_lowest_allowed_versions_pass_the_core_tests(tmp_path: Path) -> None:
    lowest = [f"{r.name}{'[' + ','.join(sorted(r.extras)) + ']' if r.extras else ''}"
              f"=={_lowest(r)}" for r in _declared().values()]
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    assert made.returncode == 0, made.stderr
    python = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
    pip_env = bare_env(PIP_DISABLE_PIP_VERSION_CHECK="1")
    tools = ["pytest==9.2.0", "pytest-asyncio==1.5.0", "hypothesis==6.170.17"]
    installed = run([python, "-m", "pip", "install", *lowest, *tools], tmp_path, pip_env,
                    timeout=600)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    frozen = run([python, "-m", "pip", "freeze"], tmp_path, pip_env).stdout.lower()
    for pin in lowest:
        name, _, version = pin.partition("==")
        assert f"{name.split('[')[0]}=={version}" in frozen, frozen
    # The sources of this checkout against those versions (the tests import mxgw from ROOT).
    tests = run([python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                 "tests/contract", "tests/client", "tests/cli/test_commands.py",
                 "tests/test_layers.py"], ROOT, bare_env(), timeout=900)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
