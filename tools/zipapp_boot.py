"""Start-up of `mxgw.pyz` (copied in as `_mxgw_boot.py`; `__main__.py` checks the version).

Python never writes bytecode for modules imported from a zip, so every run of a zipapp would
compile every module it imports from source again. This keeps a bytecode cache outside the
archive, as Python does in `__pycache__` for installed packages: one folder per archive
content, path and interpreter, under sys.pycache_prefix when set, else the user's cache folder.
A folder that cannot be written just means no cache; `-B` reads the cache but writes nothing.

It also runs hermetically, as a PEX does by default: sys.path keeps the archive and the
standard library only, so what the host has installed (site-packages, PYTHONPATH, .pth
paths) cannot change it. That matters: betterproto2 imports pydantic, and with it
pydantic-core's C extension, whenever it can find them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import site
import sys
import sysconfig
import tempfile
import zipimport
from types import CodeType


def cache_root() -> str:
    """The user's cache folder (or sys.pycache_prefix when it is set)."""
    if sys.pycache_prefix:
        return sys.pycache_prefix
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "mxgw", "pyz")


def cache_dir(archive: str) -> str:
    """The cache folder of this archive's bytes, at this path, for this interpreter."""
    digest = hashlib.sha256(archive.encode("utf-8", "surrogateescape"))
    with open(archive, "rb") as f:
        digest.update(f.read())
    tag = sys.implementation.cache_tag or "nocache"
    return os.path.join(cache_root(), f"{digest.hexdigest()[:24]}-{tag}")


class CachingZipImporter(zipimport.zipimporter):
    """A zipimporter that keeps the code it compiles in `cache` and reuses it."""

    def __init__(self, path: str, cache: str) -> None:
        super().__init__(path)
        self._cache = cache

    def get_filename(self, fullname: str) -> str:
        # zipimport compiles the whole module just to name its file (import asks for it
        # in find_spec); the archive holds sources only, so the name follows from the path.
        suffix = os.sep + "__init__.py" if self.is_package(fullname) else ".py"
        return self.archive + os.sep + self.prefix + fullname.rpartition(".")[2] + suffix

    def get_code(self, fullname: str) -> CodeType:
        path = os.path.join(self._cache, fullname + ".pyc")
        try:
            with open(path, "rb") as f:
                data = f.read()
            if data[:16] == importlib.util.MAGIC_NUMBER.ljust(16, b"\0"):
                code = marshal.loads(data[16:])
                if isinstance(code, CodeType):
                    return code
        except (OSError, ValueError, EOFError, TypeError):
            pass
        code = super().get_code(fullname)
        if not sys.dont_write_bytecode:
            self._store(path, code)
        return code

    def _store(self, path: str, code: CodeType) -> None:
        try:
            os.makedirs(self._cache, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._cache, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(importlib.util.MAGIC_NUMBER.ljust(16, b"\0") + marshal.dumps(code))
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass  # read-only home, full disk, ...: run without a cache


def enable_bytecode_cache(archive: str) -> None:
    """Import this archive's modules through CachingZipImporter from now on."""
    archive = os.path.abspath(archive)
    try:
        cache = cache_dir(archive)
    except OSError:
        return

    def inside(path: str) -> bool:
        full = os.path.abspath(path)
        return full == archive or full.startswith(archive + os.sep)

    def hook(path: str) -> CachingZipImporter:
        if not inside(path):
            raise ImportError("not in " + archive)
        return CachingZipImporter(path, cache)

    sys.path_hooks.insert(0, hook)
    for path in [p for p in sys.path_importer_cache if isinstance(p, str) and inside(p)]:
        del sys.path_importer_cache[path]


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def stdlib_entries(paths: list[str]) -> list[str]:
    """The entries of `paths` that hold the standard library (never site-packages)."""
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix,
            "installed_base": sys.base_prefix, "installed_platbase": sys.base_exec_prefix}
    layout = sysconfig.get_paths(vars=base)
    roots = {_real(p) for p in (layout["stdlib"], layout["platstdlib"],
                                sysconfig.get_config_var("DESTSHARED") or layout["stdlib"],
                                os.path.join(sys.base_exec_prefix, "DLLs"))}
    exact = {_real(sys.base_prefix), _real(sys.base_exec_prefix),
             _real(os.path.dirname(os.__file__))}
    sites = {_real(p) for p in [*site.getsitepackages(), site.getusersitepackages()]}
    stdlib_zip = f"python{sys.version_info[0]}{sys.version_info[1]}.zip"
    kept = []
    for entry in paths:
        if os.path.basename(entry) == stdlib_zip:
            kept.append(entry)
            continue
        real = _real(entry or os.curdir)
        parts = set(real.split(os.sep))
        if real in sites or parts & {"site-packages", "dist-packages"}:
            continue
        if real in exact or any(real == r or real.startswith(r + os.sep) for r in roots):
            kept.append(entry)
    return kept


def isolate(archive: str) -> None:
    """Leave only the archive and the standard library on sys.path."""
    stdlib = stdlib_entries(sys.path)
    if any(_real(os.path.dirname(os.__file__)) == _real(p) for p in stdlib):
        sys.path[:] = [archive, *stdlib]


def run(archive: str) -> int:
    """Run the mxgw CLI from `archive`."""
    archive = os.path.abspath(archive)
    isolate(archive)
    # Only multidict's pure implementation is in the archive: skip the search for its C part.
    os.environ["MULTIDICT_NO_EXTENSIONS"] = "1"
    enable_bytecode_cache(archive)
    from mxgw.cli.main import main

    return main()
