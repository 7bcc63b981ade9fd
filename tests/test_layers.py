"""The arrows between layers: cli -> client library -> contract layer -> generated code;
sim -> contract layer -> generated code. Checked on every import statement of the package
(lazy imports inside functions included), and on what `import mxgw.sim` loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mxgw"

NEUTRAL = ("mxgw._proto", "mxgw.errors", "mxgw.contract", "mxgw.hpack_logging",
           "mxgw.datapath", "mxgw.log")
"""What the contract layer and the simulator may import of ours (hpack_logging: the filter
that keeps keys out of hpack's DEBUG records; datapath: the lean HTTP/2 data path under
grpclib; log: the library's loggers; the client and the simulator share them)."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module of ours that `path` imports (absolute names)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "mxgw" or name.startswith("mxgw.")}


def _modules(under: str) -> list[Path]:
    return sorted((PACKAGE / under).rglob("*.py")) if under else sorted(PACKAGE.rglob("*.py"))


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _real(names: set[str]) -> set[str]:
    """Drop `from pkg import name` entries that name an attribute, not a module."""
    return {n for n in names
            if (ROOT / Path(*n.split("."))).with_suffix(".py").exists()
            or (ROOT / Path(*n.split(".")) / "__init__.py").exists()}


@pytest.mark.parametrize("path", _modules("_proto"), ids=str)
def test_generated_code_imports_nothing_of_ours(path: Path) -> None:
    assert all(_within(n, ("mxgw._proto",)) for n in _real(_imports(path))), path


@pytest.mark.parametrize("path", _modules("contract"), ids=str)
def test_the_contract_layer_imports_only_generated_code_and_the_errors(path: Path) -> None:
    wrong = {n for n in _real(_imports(path)) if not _within(n, NEUTRAL)}
    assert not wrong, f"{path} imports {wrong}"


@pytest.mark.parametrize("path", _modules("sim"), ids=str)
def test_the_simulator_imports_no_client_module(path: Path) -> None:
    wrong = {n for n in _real(_imports(path)) if not _within(n, (*NEUTRAL, "mxgw.sim"))}
    assert not wrong, f"{path} imports {wrong}"


def test_nothing_outside_the_cli_imports_it() -> None:
    for path in _modules(""):
        if _within(_module_name(path), ("mxgw.cli",)) or path.name == "__main__.py":
            continue
        assert not any(_within(n, ("mxgw.cli",)) for n in _imports(path)), path


def test_only_the_simulator_imports_the_generated_services() -> None:
    # The stubs and server bases (tools/gen.py's `services` modules) load grpclib.server.
    for path in _modules(""):
        if _within(_module_name(path), ("mxgw.sim", "mxgw._proto")):
            continue
        services = {n for n in _real(_imports(path))
                    if _within(n, ("mxgw._proto",)) and n.endswith(".services")}
        assert not services, f"{path} imports {services}"


def test_the_client_library_and_every_command_load_no_server_code() -> None:
    code = ("import sys, mxgw.client, mxgw.galaxy, mxgw.durable, mxgw.contract_check; "
            "from mxgw.cli.commands import load_all; load_all(); "
            "print(sorted(m for m in sys.modules if m.startswith(('mxgw.sim', 'grpclib.server', "
            "'betterproto2.grpclib'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_every_module_that_logs_gets_its_logger_from_mxgw_log() -> None:
    """mxgw.log gives `mxgw` its NullHandler (silent until the application configures
    logging); a module taking its logger from `logging` directly could log before it."""
    for path in _modules(""):
        if path.relative_to(PACKAGE).as_posix() in ("log.py", "cli/logs.py",
                                                     "hpack_logging.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "getLogger":
                raise AssertionError(f"{path}: logging.getLogger; use mxgw.log.logger")


def test_a_script_making_one_call_loads_no_reconnecting_machinery() -> None:
    """`from mxgw import GatewayClient` loads what a call needs; durable sessions and the
    alarm view (with their reconnecting streams) load when first used."""
    code = ("import sys; from mxgw import GatewayClient; "
            "print(sorted(m for m in sys.modules if m.startswith('mxgw')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    loaded = set(eval(out))  # a list literal printed just above
    assert "mxgw.client" in loaded
    assert not {m for m in loaded if _within(m, ("mxgw.durable", "mxgw.alarms",
                                                 "mxgw.reconnecting", "mxgw.galaxy"))}


def test_importing_the_simulator_loads_no_client_module() -> None:
    code = ("import sys, mxgw.sim; "
            "print(sorted(m for m in sys.modules if m.startswith('mxgw')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    loaded = set(eval(out))  # a list literal printed just above
    client = {"mxgw.client", "mxgw.session", "mxgw.events", "mxgw.galaxy", "mxgw.calls",
              "mxgw.transport", "mxgw.options", "mxgw.bulk", "mxgw.failures",
              "mxgw.connection", "mxgw.values", "mxgw.durable", "mxgw.reflection",
              "mxgw.contract_check", "mxgw.cli"}
    assert not loaded & client, loaded & client
