"""The repository's own files: the MIT LICENSE (shipped in the sdist and the wheel) and the
offline pre-commit hooks (ruff, mypy --strict, tools/gen.py --check)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import mxgw

ROOT = Path(__file__).resolve().parent.parent


def _hooks(text: str) -> dict[str, dict[str, str]]:
    """`id -> {key: value}` of the hooks in a pre-commit config, read as text (PyYAML is
    not a dev dependency); enough for the flat `- id: ...` blocks this repository uses."""
    hooks: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        line = line.split(" #", 1)[0].rstrip()
        match = re.match(r"^\s*(-\s+)?(\w+):\s*(.*)$", line)
        if match is None:
            continue
        dash, key, value = match.groups()
        if dash and key == "id":
            current = hooks.setdefault(value, {})
        elif dash or key in ("repo", "repos", "hooks"):
            current = None
        elif current is not None:
            current[key] = value
    return hooks


def test_pre_commit_runs_ruff_mypy_and_the_codegen_check_locally() -> None:
    text = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert re.findall(r"^\s*-\s+repo:\s*(\S+)", text, re.M) == ["local"]
    assert "rev:" not in text
    hooks = _hooks(text)
    assert set(hooks) == {"ruff", "mypy", "gen-check"}
    assert hooks["ruff"]["entry"] == ".venv/bin/python -m ruff check ."
    assert hooks["mypy"]["entry"] == ".venv/bin/python -m mypy --strict mxgw tests examples"
    assert hooks["gen-check"]["entry"] == ".venv/bin/python tools/gen.py --check"
    for hook in hooks.values():
        assert hook["language"] == "system" and hook["pass_filenames"] == "false"


def test_the_license_is_mit() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the mxgw authors" in text
    assert "Permission is hereby granted, free of charge" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


def test_pyproject_declares_the_same_license() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    license_ = project["license"]
    assert (license_["text"] if isinstance(license_, dict) else license_) == "MIT"


def test_the_sdist_and_the_wheel_ship_the_license(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "mxgw", src / "mxgw",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    dist = tmp_path / "dist"
    build = ("import sys\nfrom setuptools import build_meta as b\n"
             "out = sys.argv[1]\nb.build_sdist(out)\nb.build_wheel(out)\n")  # b rewrites argv
    proc = subprocess.run([sys.executable, "-c", build, str(dist)], cwd=src,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [sdist] = dist.glob("mxgw-*.tar.gz")
    with tarfile.open(sdist) as tar:
        assert any(n.endswith("/LICENSE") and n.count("/") == 1 for n in tar.getnames())
    [wheel] = dist.glob("mxgw-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        licenses = [n for n in whl.namelist() if ".dist-info/" in n and n.endswith("LICENSE")]
        assert licenses and "MIT License" in whl.read(licenses[0]).decode()
        [metadata] = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        # the version is stated once (mxgw.__version__); the metadata carries it
        assert f"\nVersion: {mxgw.__version__}\n" in whl.read(metadata).decode()
    assert wheel.name.startswith(f"mxgw-{mxgw.__version__}-")


def test_the_version_is_stated_once() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r"^dynamic = \[\"version\"\]$", pyproject, re.M)
    assert not re.search(r"^version = \"", pyproject, re.M)
    stated = [path for path in (ROOT / "mxgw").rglob("*.py")
              if re.search(r"^__version__ = ", path.read_text(encoding="utf-8"), re.M)]
    assert stated == [ROOT / "mxgw" / "__init__.py"]
