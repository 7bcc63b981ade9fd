"""Assemble an offline wheelhouse: mxgw and its whole runtime closure as `py3-none-any` wheels.

    python tools/wheelhouse.py                  # writes dist/wheelhouse/
    pip install --no-index --find-links wheelhouse mxgw       # later, on the offline host
    python tools/wheelhouse.py --check DIR      # verify an existing folder, offline

It also writes requirements-pyX.Y.txt, the exact pins of each Python's closure: a pip older
than 20.3 does not skip a wheel whose Requires-Python refuses its interpreter, so on Python 3.10
it needs `-r DIR/requirements-py3.10.txt`.

One folder serves every supported Python on every platform. pip resolves the closure once per
supported Python (`pip download --only-binary=:all: --platform any --implementation py
--abi none --python-version X.Y`). pip evaluates environment markers against the interpreter
that runs it, not the target, so each closure is then walked again here with the target's
markers (on Linux, Windows and macOS, x86 and ARM) and anything pip left out is fetched too.
The build fails loudly if a wheel in the result is not a pure `py3-none-any` wheel or if a
closure is incomplete for any supported Python.
"""

from __future__ import annotations

import argparse
import email.parser
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name, parse_wheel_filename
    from packaging.version import Version
except ImportError:  # no `packaging` here: pip (which we need anyway) vendors it
    from pip._vendor.packaging.markers import default_environment  # type: ignore[no-redef]
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.specifiers import SpecifierSet  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import (  # type: ignore[no-redef]
        canonicalize_name,
        parse_wheel_filename,
    )
    from pip._vendor.packaging.version import Version  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "dist" / "wheelhouse"
CONSTRAINTS = ROOT / "constraints.txt"
"""The exact versions shipped (pyproject.toml declares ranges)."""
# Every CPython minor release that `requires-python = ">=3.10"` admits today. Resolving for a
# release changes nothing unless a dependency treats it differently, and costs one pip call.
SUPPORTED = ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15")
# (sys_platform, os_name, platform_system, platform_machine) of the hosts we must serve.
PLATFORMS = (
    ("linux", "posix", "Linux", "x86_64"),
    ("linux", "posix", "Linux", "aarch64"),
    ("win32", "nt", "Windows", "AMD64"),
    ("win32", "nt", "Windows", "ARM64"),
    ("darwin", "posix", "Darwin", "arm64"),
    ("darwin", "posix", "Darwin", "x86_64"),
)
COMPILED_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")
MAX_ROUNDS = 5


class WheelhouseError(Exception):
    """The wheelhouse cannot be built or is not what we promise."""


# ---------------------------------------------------------------- wheels and their metadata


@dataclass(frozen=True)
class Wheel:
    """One wheel file and the metadata the closure needs."""

    path: Path
    name: str
    version: Version
    requires_python: SpecifierSet
    requires: tuple[Requirement, ...]


def read_wheel(path: Path) -> Wheel:
    """Parse a wheel's name, version, Requires-Python and Requires-Dist."""
    name, version, _, _ = parse_wheel_filename(path.name)
    with zipfile.ZipFile(path) as zf:
        meta_name = next((n for n in zf.namelist()
                          if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
        if meta_name is None:
            raise WheelhouseError(f"{path.name}: no .dist-info/METADATA")
        meta = email.parser.BytesParser().parsebytes(zf.read(meta_name), headersonly=True)
    return Wheel(path, canonicalize_name(name), version,
                 SpecifierSet(meta.get("Requires-Python") or ""),
                 tuple(Requirement(r) for r in meta.get_all("Requires-Dist") or ()))


def purity_problems(path: Path) -> list[str]:
    """Why `path` is not a pure `py3-none-any` wheel (empty when it is)."""
    if path.suffix != ".whl":
        return [f"{path.name}: not a wheel"]
    try:
        _, _, _, tags = parse_wheel_filename(path.name)
    except Exception as exc:
        return [f"{path.name}: bad wheel file name ({exc})"]
    problems = [f"{path.name}: tag {t} is not pure" for t in sorted(tags, key=str)
                if t.abi != "none" or t.platform != "any" or not t.interpreter.startswith("py")]
    if not any(t.interpreter == "py3" for t in tags):
        problems.append(f"{path.name}: has no py3 tag")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        problems += [f"{path.name}: contains compiled file {n}" for n in names
                     if n.lower().endswith(COMPILED_SUFFIXES)]
        wheel_meta = next((n for n in names
                           if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")), None)
        if wheel_meta is None:
            problems.append(f"{path.name}: no .dist-info/WHEEL")
        else:
            info = email.parser.BytesParser().parsebytes(zf.read(wheel_meta))
            if (info.get("Root-Is-Purelib") or "").strip().lower() != "true":
                problems.append(f"{path.name}: Root-Is-Purelib is not true")
            problems += [f"{path.name}: WHEEL declares tag {t}"
                         for t in info.get_all("Tag") or ()
                         if not t.strip().endswith("-none-any")]
    return problems


def check_pure(paths: Iterable[Path]) -> None:
    """Raise WheelhouseError naming every file that is not a pure py3-none-any wheel."""
    problems = [p for path in sorted(paths) for p in purity_problems(path)]
    if problems:
        raise WheelhouseError("not pure py3-none-any:\n  " + "\n  ".join(problems))


# ----------------------------------------------------------------------- closure per Python


def marker_environments(python: str) -> list[dict[str, str]]:
    """Marker environments of CPython `python` (X.Y) on every platform we serve."""
    base = dict(default_environment())
    base.update(python_version=python, python_full_version=f"{python}.0",
                implementation_name="cpython", platform_python_implementation="CPython")
    return [{**base, "sys_platform": sp, "os_name": os_name, "platform_system": system,
             "platform_machine": machine} for sp, os_name, system, machine in PLATFORMS]


def _applies(req: Requirement, envs: list[dict[str, str]], extras: frozenset[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**env, "extra": extra})
               for env in envs for extra in (extras or {""}))


@dataclass
class Closure:
    """The wheels one Python needs, and the requirements no wheel in the folder satisfies."""

    wheels: dict[str, Wheel] = field(default_factory=dict)
    missing: list[Requirement] = field(default_factory=list)


def closure(wheels: Sequence[Wheel], root: Requirement, python: str) -> Closure:
    """Walk `root`'s requirements for Python `python` over the wheels of one folder."""
    envs = marker_environments(python)
    target = Version(python)
    by_name: dict[str, list[Wheel]] = {}
    for wheel in wheels:
        by_name.setdefault(wheel.name, []).append(wheel)
    result = Closure()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo: list[Requirement] = [root]
    while todo:
        req = todo.pop()
        name, extras = canonicalize_name(req.name), frozenset(req.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        candidates = [w for w in by_name.get(name, ())
                      if req.specifier.contains(w.version, prereleases=True)
                      and w.requires_python.contains(target, prereleases=True)]
        if not candidates:
            result.missing.append(req)
            continue
        chosen = result.wheels.get(name) or max(candidates, key=lambda w: w.version)
        result.wheels[name] = chosen
        todo += [r for r in chosen.requires if _applies(r, envs, extras)]
    return result


def check_closures(folder: Path, pythons: Sequence[str], root_name: str = "mxgw") -> None:
    """Raise WheelhouseError unless `folder` installs `root_name` offline on every Python."""
    wheels = [read_wheel(p) for p in sorted(folder.glob("*.whl"))]
    problems = []
    for python in pythons:
        found = closure(wheels, Requirement(root_name), python)
        problems += [f"Python {python}: nothing satisfies {r}" for r in found.missing]
        lock = folder / lock_name(python)
        if lock.exists() and lock.read_text(encoding="utf-8") != lock_text(found, python):
            problems.append(f"{lock.name} does not pin this folder's closure for {python}")
    if problems:
        raise WheelhouseError("incomplete closure:\n  " + "\n  ".join(problems))


def lock_name(python: str) -> str:
    return f"requirements-py{python}.txt"


def lock_text(found: Closure, python: str) -> str:
    """Exact pins of one Python's closure, for a pip too old to pick by Requires-Python."""
    pins = sorted(f"{w.name}=={w.version}" for w in found.wheels.values())
    return (f"# mxgw's runtime closure on Python {python}: every pin is a wheel in this folder.\n"
            "# pip 20.3+ needs none of this: pip install --no-index --find-links DIR mxgw\n"
            f"# older pip: pip install --no-index --find-links DIR -r DIR/{lock_name(python)}\n"
            + "".join(f"{pin}\n" for pin in pins))


def write_locks(folder: Path, pythons: Sequence[str], root_name: str = "mxgw") -> None:
    wheels = [read_wheel(p) for p in sorted(folder.glob("*.whl"))]
    for python in pythons:
        found = closure(wheels, Requirement(root_name), python)
        (folder / lock_name(python)).write_text(lock_text(found, python), encoding="utf-8")


def check_folder(folder: Path, pythons: Sequence[str]) -> None:
    """Raise WheelhouseError unless `folder` holds pure wheels (and their locks) only, and
    they install mxgw offline on every Python in `pythons`."""
    files = sorted(folder.iterdir())
    strays = [f.name for f in files if f.suffix != ".whl"
              and not (f.name.startswith("requirements-py") and f.suffix == ".txt")]
    if strays:
        raise WheelhouseError(f"not wheels: {strays}")
    check_pure(f for f in files if f.suffix == ".whl")
    check_closures(folder, pythons)


# ------------------------------------------------------------------------------- pip calls


def pip(*args: str, env: dict[str, str] | None = None) -> None:
    """Run this interpreter's pip; raise WheelhouseError with its output if it fails."""
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise WheelhouseError(f"pip failed ({proc.returncode}): {' '.join(cmd)}\n"
                              f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")


def index_args(find_links: Sequence[Path], no_index: bool) -> list[str]:
    args = ["--no-index"] if no_index else []
    for link in find_links:
        args += ["--find-links", str(link)]
    return args


def build_mxgw_wheel(dest: Path, find_links: Sequence[Path] = (),
                     no_index: bool = False) -> Path:
    """Build the mxgw wheel from a clean copy of the sources (no stale build/ in the tree)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mxgw-src-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE", "setup.cfg", "MANIFEST.in"):
            if (ROOT / name).exists():
                shutil.copy2(ROOT / name, src / name)
        shutil.copytree(ROOT / "mxgw", src / "mxgw",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        pip("wheel", "--no-deps", "--wheel-dir", tmp, *index_args(find_links, no_index),
            str(src))
        built = sorted(Path(tmp).glob("mxgw-*.whl"))
        if len(built) != 1:
            raise WheelhouseError(f"expected one mxgw wheel, got {built}")
        check_pure(built)
        target = dest / built[0].name
        shutil.copy2(built[0], target)
    return target


def download_closure(dest: Path, root_wheel: Path, python: str,
                     find_links: Sequence[Path] = (), no_index: bool = False) -> Closure:
    """Fetch into `dest` every pure wheel `root_wheel` needs on Python `python`."""
    root = read_wheel(root_wheel)
    extra: list[str] = []
    for _ in range(MAX_ROUNDS):
        pip("download", "--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--abi", "none", "--python-version", python, "--dest", str(dest),
            "--constraint", str(CONSTRAINTS), *index_args(find_links, no_index),
            str(root_wheel), *extra)
        wheels = [read_wheel(p) for p in sorted(dest.glob("*.whl"))]
        found = closure(wheels, Requirement(root.name), python)
        if not found.missing:
            return found
        # pip judged these markers for this interpreter, not for the target: ask for them.
        extra += [str(Requirement(f"{r.name}{r.specifier}")) for r in found.missing]
    raise WheelhouseError(f"Python {python}: closure still incomplete after {MAX_ROUNDS} "
                          f"rounds: {[str(r) for r in found.missing]}")


def build(out: Path, pythons: Sequence[str], find_links: Sequence[Path] = (),
          no_index: bool = False) -> list[Path]:
    """Write the wheelhouse to `out` (replacing a previous one) and return its files."""
    if out.exists():
        try:
            check_folder(out, ())
        except WheelhouseError as exc:
            raise WheelhouseError(f"{out} is not a wheelhouse; not replacing it ({exc})") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".wheelhouse-", dir=out.parent) as tmp:
        staging = Path(tmp) / "wheelhouse"
        root_wheel = build_mxgw_wheel(staging, find_links, no_index)
        for python in pythons:
            download_closure(staging, root_wheel, python, find_links, no_index)
        write_locks(staging, pythons)
        check_folder(staging, pythons)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    return sorted(out.iterdir())


# ------------------------------------------------------------------------------------ CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder to write (default {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--python-version", dest="pythons", action="append", metavar="X.Y",
                        help=f"Python to serve (repeatable; default {', '.join(SUPPORTED)})")
    parser.add_argument("--find-links", action="append", type=Path, default=[],
                        help="extra folder of wheels for pip to look in")
    parser.add_argument("--no-index", action="store_true",
                        help="use only --find-links folders (an offline rebuild)")
    parser.add_argument("--check", type=Path, metavar="DIR",
                        help="only verify an existing wheelhouse (no network)")
    args = parser.parse_args(argv)
    pythons = tuple(args.pythons or SUPPORTED)
    try:
        if args.check is not None:
            check_folder(args.check, pythons)
            files = sorted(args.check.iterdir())
        else:
            files = build(args.out, pythons, args.find_links, args.no_index)
    except WheelhouseError as exc:
        print(f"wheelhouse: FAILED: {exc}", file=sys.stderr)
        return 1
    total = sum(f.stat().st_size for f in files)
    for f in files:
        print(f"{f.stat().st_size:>10,}  {f.name}")
    folder = files[0].parent if files else args.out
    wheels = [f for f in files if f.suffix == ".whl"]
    print(f"{total:>10,}  total, {len(wheels)} pure py3-none-any wheels for Python "
          f"{', '.join(pythons)}")
    print(f"install offline: pip install --no-index --find-links {folder} mxgw")
    print(f"  pip < 20.3: also -r {folder / lock_name('X.Y')} (X.Y: the host's Python)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
