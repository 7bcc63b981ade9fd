"""The offline wheelhouse: only pure wheels, and `pip install --no-index` works from it."""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import OLDEST, assert_smoke_report, bare_env, check_loaded, find_python, run, tool

RUNTIME = {"mxgw", "grpclib", "betterproto2", "argparse-dataclass", "h2", "hpack",
           "hyperframe", "multidict", "python-dateutil", "typing-extensions"}


def _project(wheel: Path) -> str:
    return wheel.name.split("-")[0].lower().replace("_", "-")


def _pins(text: str) -> set[str]:
    return {line.strip().lower().replace("_", "-") for line in text.splitlines()
            if line.strip() and not line.startswith("#")}


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def test_wheelhouse_holds_the_runtime_closure_as_pure_wheels_only(wheelhouse: Path) -> None:
    files = sorted(f for f in wheelhouse.iterdir() if f.suffix == ".whl")
    assert RUNTIME <= {_project(f) for f in files}
    others = {f.name for f in wheelhouse.iterdir() if f.suffix != ".whl"}
    assert others == {f"requirements-py{v}.txt" for v in ("3.10", "3.11", "3.12", "3.13",
                                                         "3.14", "3.15")}
    for wheel in files:
        python_tags, abi, platform = wheel.name[:-len(".whl")].split("-")[-3:]
        assert wheel.suffix == ".whl" and abi == "none" and platform == "any", wheel.name
        assert "py3" in python_tags.split("."), wheel.name
        with zipfile.ZipFile(wheel) as zf:
            assert not [n for n in zf.namelist() if n.endswith((".so", ".pyd", ".dylib"))]


@pytest.mark.parametrize("version", ["host", OLDEST])
def test_offline_install_into_a_fresh_venv_runs_smoke(
        version: str, wheelhouse: Path, tmp_path: Path, bare_cwd: Path) -> None:
    python = sys.executable if version == "host" else find_python(version)
    if python is None:
        pytest.skip(f"no Python {version} interpreter on this machine")
    venv = tmp_path / "venv"
    made = run([python, "-m", "venv", str(venv)], bare_cwd)
    assert made.returncode == 0, made.stderr
    # No config file: the machine's find-links and extra indexes must play no part.
    pip_env = bare_env(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    installed = run([str(_bin(venv, "python")), "-m", "pip", "install", "--no-index",
                     "--find-links", str(wheelhouse), "mxgw"], bare_cwd, pip_env, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # The lock for this Python (for pip < 20.3) pins exactly what pip picked.
    frozen = run([str(_bin(venv, "python")), "-m", "pip", "freeze"], bare_cwd, pip_env)
    minor = run([str(_bin(venv, "python")), "-c",
                 "import sys; print('%d.%d' % sys.version_info[:2])"], bare_cwd).stdout.strip()
    lock = (wheelhouse / f"requirements-py{minor}.txt").read_text(encoding="utf-8")
    assert _pins(frozen.stdout) == _pins(lock)

    smoke = run([str(_bin(venv, "mxgw")), "smoke", "--sim", "--json"], bare_cwd)
    assert smoke.returncode == 0, smoke.stderr
    assert_smoke_report(smoke.stdout)
    # Pure wheels only: no C extension even without MULTIDICT_NO_EXTENSIONS.
    report = check_loaded(str(_bin(venv, "python")), ["--module", "mxgw.cli"], bare_cwd)
    assert report["compiled"] == []


def _fake_wheel(folder: Path, filename: str, requires: tuple[str, ...] = (),
                extra_files: tuple[str, ...] = ()) -> Path:
    name, version = filename.split("-")[:2]
    tag = "-".join(filename[:-len(".whl")].split("-")[-3:])
    path = folder / filename
    with zipfile.ZipFile(path, "w") as zf:
        info = f"{name}-{version}.dist-info"
        zf.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\n"
                    f"Name: {name}\nVersion: {version}\n"
                    + "".join(f"Requires-Dist: {r}\n" for r in requires))
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: "
                    f"{'true' if tag.endswith('none-any') else 'false'}\nTag: {tag}\n")
        zf.writestr(f"{name}/__init__.py", "")
        for extra in extra_files:
            zf.writestr(extra, b"\x7fELF")
    return path


def test_check_fails_loudly_on_a_platform_wheel_or_a_hidden_extension(
        wheelhouse: Path, tmp_path: Path) -> None:
    folder = tmp_path / "wh"
    shutil.copytree(wheelhouse, folder)
    _fake_wheel(folder, "fastdict-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    _fake_wheel(folder, "sneaky-1.0-py3-none-any.whl",
                extra_files=("sneaky/_speed.cpython-311-x86_64-linux-gnu.so",))
    assert tool("wheelhouse.py", "--check", str(wheelhouse)).returncode == 0
    proc = tool("wheelhouse.py", "--check", str(folder))
    assert proc.returncode == 1
    assert "fastdict-1.0-cp311-cp311-manylinux_2_17_x86_64.whl" in proc.stderr
    assert "sneaky/_speed.cpython-311-x86_64-linux-gnu.so" in proc.stderr


def test_check_fails_on_a_stray_file_or_a_lock_that_does_not_match(
        wheelhouse: Path, tmp_path: Path) -> None:
    stray = tmp_path / "stray"
    shutil.copytree(wheelhouse, stray)
    (stray / "notes.zip").write_bytes(b"PK")
    proc = tool("wheelhouse.py", "--check", str(stray))
    assert proc.returncode == 1 and "notes.zip" in proc.stderr
    stale = tmp_path / "stale"
    shutil.copytree(wheelhouse, stale)
    lock = stale / "requirements-py3.12.txt"
    lock.write_text(lock.read_text().replace("grpclib==", "grpclib==0.0.1\n# "))
    proc = tool("wheelhouse.py", "--check", str(stale))
    assert proc.returncode == 1 and "requirements-py3.12.txt" in proc.stderr


def test_check_walks_markers_for_the_target_python_not_the_running_one(tmp_path: Path) -> None:
    # pip evaluates markers against the interpreter running it; the wheelhouse must not.
    _fake_wheel(tmp_path, "mxgw-9.0-py3-none-any.whl",
                requires=('backport>=1; python_version < "3.11"', 'winonly; os_name == "nt"'))
    _fake_wheel(tmp_path, "winonly-1.0-py3-none-any.whl")
    old = tool("wheelhouse.py", "--check", str(tmp_path), "--python-version", "3.10")
    assert old.returncode == 1 and "Python 3.10: nothing satisfies backport>=1" in old.stderr
    new = tool("wheelhouse.py", "--check", str(tmp_path), "--python-version", "3.12")
    assert new.returncode == 0, new.stderr
    (tmp_path / "winonly-1.0-py3-none-any.whl").unlink()
    linux_host = tool("wheelhouse.py", "--check", str(tmp_path), "--python-version", "3.12")
    assert linux_host.returncode == 1 and "winonly" in linux_host.stderr

