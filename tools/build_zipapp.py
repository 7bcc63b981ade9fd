"""Build `dist/mxgw.pyz`: mxgw and its pure dependencies in one file that any Python 3.10+ runs.

    python tools/build_zipapp.py                          # resolves from the package index
    python tools/build_zipapp.py --wheelhouse dist/wheelhouse   # offline, from a wheelhouse
    python dist/mxgw.pyz smoke --sim                      # on a host with nothing installed

One set of wheels must serve every Python, so the closure is resolved for the oldest supported
Python and every wheel's Requires-Python is checked against all the others. The archive keeps
each dependency's .dist-info/METADATA (betterproto2 reads its own version through
importlib.metadata, which finds it inside the zip) and drops tests, caches, stubs and C
sources. Its start-up (tools/zipapp_boot.py) sets MULTIDICT_NO_EXTENSIONS=1 so multidict goes
straight to its pure implementation, leaves only the archive and the standard library on
sys.path (a host's site-packages cannot change it), and keeps a bytecode cache outside the
archive (Python writes none for modules imported from a zip).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import zipapp
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wheelhouse
from wheelhouse import ROOT, SUPPORTED, WheelhouseError

DEFAULT_OUT = ROOT / "dist" / "mxgw.pyz"
# Never bundled: native or build-time only (the closure should not hold them; this proves it).
FORBIDDEN_TOP_LEVEL = frozenset({
    "grpc", "grpc_tools", "google", "ruff", "betterproto2_compiler", "pytest", "mypy",
    "setuptools", "pip", "_pytest", "hypothesis",
})
SKIP_DIRS = frozenset({"__pycache__", "tests", "test", "testing"})
SKIP_SUFFIXES = (".pyc", ".pyo", ".pyi", ".c", ".h", ".pyx", ".pxd", ".so", ".pyd")
SKIP_NAMES = frozenset({"py.typed", "RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
# Fixed file times: the same inputs give the same archive, byte for byte.
EPOCH = 315532800 + 86400  # 1980-01-02, inside the zip format's range everywhere
BOOT = Path(__file__).resolve().with_name("zipapp_boot.py")
# Plain enough for any Python to compile, so an old one gets a message, not a SyntaxError.
MAIN = """\
# mxgw single-file CLI, built by tools/build_zipapp.py. Runs on Python 3.10+.
import os
import sys

if sys.version_info < (3, 10):
    sys.stderr.write("mxgw needs Python 3.10 or newer, not " + sys.version.split()[0] + "\\n")
    sys.exit(2)

from _mxgw_boot import run

sys.exit(run(os.path.dirname(os.path.abspath(__file__))))
"""


def member_target(name: str) -> PurePosixPath | None:
    """Where wheel member `name` goes in the archive, or None to leave it out."""
    path = PurePosixPath(name)
    parts = path.parts
    if parts and parts[0].endswith(".data"):
        # Pure wheels may put modules under NAME.data/purelib; scripts/headers/data stay out.
        if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
            return None
        path = PurePosixPath(*parts[2:])
        parts = path.parts
    if name.endswith("/") or not parts:
        return None
    if SKIP_DIRS.intersection(parts[:-1]) or path.name in SKIP_NAMES:
        return None
    if path.suffix in SKIP_SUFFIXES or path.name.startswith(("test_", "conftest")):
        return None
    return path


def extract(wheels: Sequence[Path], staging: Path) -> None:
    """Unpack the kept members of each wheel into `staging`, refusing clashes."""
    owner: dict[PurePosixPath, str] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                target = member_target(info.filename)
                if target is None:
                    continue
                if target in owner:
                    raise WheelhouseError(f"{target} is in both {owner[target]} and "
                                          f"{wheel.name}")
                owner[target] = wheel.name
                dest = staging.joinpath(*target.parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(info))
    bad = sorted(FORBIDDEN_TOP_LEVEL.intersection(p.name for p in staging.iterdir()))
    if bad:
        raise WheelhouseError(f"refusing to bundle {bad}: not pure runtime dependencies")


def check_requires_python(wheels: Sequence[Path], pythons: Sequence[str]) -> None:
    """Every bundled wheel must accept every supported Python: one archive serves them all."""
    problems = []
    for path in wheels:
        wheel = wheelhouse.read_wheel(path)
        problems += [f"{path.name} (Requires-Python {wheel.requires_python}) refuses {py}"
                     for py in pythons
                     if not wheel.requires_python.contains(py, prereleases=True)]
    if problems:
        raise WheelhouseError("one archive cannot serve every Python:\n  "
                              + "\n  ".join(problems))


def build(out: Path, pythons: Sequence[str], source: Path | None = None,
          find_links: Sequence[Path] = ()) -> Path:
    """Write the zipapp to `out`; `source` is a wheelhouse to resolve from offline."""
    oldest = min(pythons, key=lambda v: tuple(int(x) for x in v.split(".")))
    links = [*find_links, *([source] if source else [])]
    with tempfile.TemporaryDirectory(prefix="mxgw-pyz-") as tmp:
        wheels_dir, staging = Path(tmp) / "wheels", Path(tmp) / "app"
        staging.mkdir()
        if source is not None:
            built = sorted(source.glob("mxgw-*.whl"))
            if len(built) != 1:
                raise WheelhouseError(f"{source}: expected one mxgw wheel, found {built}")
            wheels_dir.mkdir()
            root = Path(shutil.copy2(built[0], wheels_dir))
        else:
            root = wheelhouse.build_mxgw_wheel(wheels_dir, links)
        found = wheelhouse.download_closure(wheels_dir, root, oldest, links,
                                            no_index=source is not None)
        chosen = sorted(w.path for w in found.wheels.values())
        wheelhouse.check_pure(chosen)
        check_requires_python(chosen, pythons)
        extract(chosen, staging)
        (staging / "__main__.py").write_text(MAIN, encoding="utf-8")
        shutil.copyfile(BOOT, staging / "_mxgw_boot.py")
        for path in staging.rglob("*"):
            os.utime(path, (EPOCH, EPOCH))
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        zipapp.create_archive(staging, partial, interpreter="/usr/bin/env python3",
                              compressed=True)
        partial.replace(out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"archive to write (default {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--wheelhouse", type=Path, metavar="DIR",
                        help="take mxgw and its dependencies from this wheelhouse, offline")
    parser.add_argument("--find-links", action="append", type=Path, default=[],
                        help="extra folder of wheels for pip to look in")
    parser.add_argument("--python-version", dest="pythons", action="append", metavar="X.Y",
                        help=f"Python it must run on (repeatable; default {', '.join(SUPPORTED)})")
    args = parser.parse_args(argv)
    try:
        out = build(args.out, tuple(args.pythons or SUPPORTED), args.wheelhouse,
                    args.find_links)
    except WheelhouseError as exc:
        print(f"build_zipapp: FAILED: {exc}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(out) as zf:
        count = len(zf.infolist())
    print(f"{out}: {out.stat().st_size:,} bytes, {count} files")
    print(f"run: python {out} smoke --sim")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
