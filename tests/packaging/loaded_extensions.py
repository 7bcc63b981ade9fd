"""Run an mxgw command in this process, then list compiled modules loaded from outside the stdlib.

    python loaded_extensions.py --module mxgw.cli smoke --sim --json
    python -I loaded_extensions.py --run-path dist/mxgw.pyz smoke --sim --json

Prints one JSON object: the command's exit code and output, and `compiled`, the
[module, file] pairs whose file is a C extension (.so/.pyd, any EXTENSION_SUFFIXES) outside the
standard library. Standard library: sysconfig's 'stdlib' and 'platstdlib' of the base
installation, lib-dynload (DESTSHARED) and Windows' DLLs, minus every site-packages folder
and any path through a site-packages or dist-packages folder (a non-venv install keeps
site-packages inside the stdlib folder). Standard library only, so
it runs under any interpreter and any sys.path.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.machinery
import io
import json
import os
import runpy
import site
import sys
import sysconfig
from collections.abc import Mapping
from types import ModuleType


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _under(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def stdlib_folders() -> list[str]:
    """Folders of the running interpreter's standard library (compiled parts included)."""
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix,
            "installed_base": sys.base_prefix, "installed_platbase": sys.base_exec_prefix}
    paths = sysconfig.get_paths(vars=base)
    found = [paths["stdlib"], paths["platstdlib"],
             sysconfig.get_config_var("DESTSHARED") or "",
             os.path.join(sys.base_exec_prefix, "DLLs")]
    return sorted({_real(p) for p in found if p})


def site_folders() -> list[str]:
    """Every folder third-party packages can be installed in."""
    found = [sysconfig.get_paths()[k] for k in ("purelib", "platlib")]
    found += getattr(site, "getsitepackages", list)()
    found += [p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages")]
    if site.ENABLE_USER_SITE and site.USER_SITE:
        found.append(site.USER_SITE)
    return sorted({_real(p) for p in found if p})


def compiled_outside_stdlib(modules: Mapping[str, ModuleType] | None = None,
                            ) -> list[tuple[str, str]]:
    """(module, file) of every loaded C extension that is not part of the standard library."""
    suffixes = tuple(s.lower() for s in importlib.machinery.EXTENSION_SUFFIXES)
    stdlib, sites = stdlib_folders(), site_folders()
    found = []
    for name, module in sorted((modules if modules is not None else dict(sys.modules)).items()):
        origin = getattr(module, "__file__", None)
        if not isinstance(origin, str) or not origin.lower().endswith(suffixes):
            continue
        path = _real(origin)
        third_party = _under(path, sites) or bool(
            {"site-packages", "dist-packages"}.intersection(path.split(os.sep)))
        if _under(path, stdlib) and not third_party:
            continue
        found.append((name, origin))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--module", help="run this module as __main__ (python -m)")
    target.add_argument("--run-path", help="run this zipapp or script as __main__")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the command's arguments")
    ns = parser.parse_args()
    out = io.StringIO()
    sys.argv = [ns.run_path or ns.module, *ns.args]
    code: object = 0
    with contextlib.redirect_stdout(out):
        try:
            if ns.module:
                runpy.run_module(ns.module, run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(ns.run_path, run_name="__main__")
        except SystemExit as exc:
            code = exc.code
    print(json.dumps({"exit_code": code, "output": out.getvalue(),
                      "compiled": compiled_outside_stdlib()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
