"""No C extension is loaded at run time: a full client + simulator smoke run stays pure Python."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from pathlib import Path

from .conftest import bare_env, check_loaded
from .loaded_extensions import compiled_outside_stdlib, site_folders, stdlib_folders


def test_smoke_sim_loads_no_compiled_module_outside_the_stdlib(bare_cwd: Path) -> None:
    # The dev environment holds multidict's binary wheel: MULTIDICT_NO_EXTENSIONS=1 must keep
    # its C extension out, and nothing else in the client or the simulator may bring one.
    report = check_loaded(sys.executable, ["--module", "mxgw.cli"], bare_cwd,
                          bare_env(MULTIDICT_NO_EXTENSIONS="1"))
    assert report["compiled"] == []


def test_the_check_reports_a_third_party_extension_and_spares_the_stdlib() -> None:
    import grpc  # dev dependency with a compiled core: a real positive

    assert grpc is not None
    reported = {name for name, _ in compiled_outside_stdlib()}
    assert "grpc._cython.cygrpc" in reported
    stdlib_compiled = {name: m for name, m in sys.modules.items()
                       if str(getattr(m, "__file__", "")).endswith((".so", ".pyd"))
                       and name.split(".")[0] in sys.stdlib_module_names}
    assert not reported & set(stdlib_compiled)


def test_site_packages_inside_the_stdlib_folder_still_counts_as_third_party() -> None:
    # A non-venv CPython keeps site-packages under lib/pythonX.Y: that is not the stdlib.
    ext = importlib.machinery.EXTENSION_SUFFIXES[0]
    stdlib = Path(stdlib_folders()[0])
    files = {
        "fastlib._speed": stdlib / "site-packages" / "fastlib" / f"_speed{ext}",
        "_json": stdlib / "lib-dynload" / f"_json{ext}",
        "pkg._ext": Path(site_folders()[0]) / "pkg" / f"_ext{ext}",
        "pkg.pure": Path(site_folders()[0]) / "pkg" / "pure.py",
    }
    modules = {}
    for name, path in files.items():
        modules[name] = types.ModuleType(name)
        modules[name].__file__ = str(path)
    modules["builtin"] = types.ModuleType("builtin")  # no __file__, like sys or _io
    reported = {name for name, _ in compiled_outside_stdlib(modules)}
    assert reported == {"fastlib._speed", "pkg._ext"}
