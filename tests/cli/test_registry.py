"""The subcommand index: it names every command under the module that registers it, and
running a command imports that module only (`mxgw version` loads no client, no generated
code, no simulator)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import pytest

from mxgw.cli import commands
from mxgw.cli.commands import COMMANDS, REGISTRY

from .conftest import run_cli_inprocess

CLIENT = ("mxgw.client", "mxgw.session", "mxgw.connection", "mxgw.transport", "mxgw.calls",
          "mxgw.galaxy", "mxgw.events")
HEAVY = ("mxgw._proto", "mxgw.sim", *CLIENT, "grpclib", "betterproto2", "h2")
"""What a command that opens no connection has no use for."""
NO_LOOP = ("asyncio", "importlib.metadata", "logging")
"""What a command line that never waits (`mxgw version`, a usage error) has no use for: it
runs without an event loop (importing asyncio alone is a third of `mxgw version`), and
without `logging` when it asks for no logs and loads no module that logs."""


def test_the_index_names_every_registered_command_under_its_module() -> None:
    for module in pkgutil.iter_modules(commands.__path__):  # every topic, listed or not
        importlib.import_module(f"{commands.__name__}.{module.name}")
    registered = {name: cmd.action.__module__ for name, cmd in REGISTRY.items()}
    assert registered == {name: f"{commands.__name__}.{topic}"
                          for name, topic in COMMANDS.items()}


def _modules_loaded_by(*argv: str) -> set[str]:
    """The modules a fresh interpreter holds after running `mxgw ARGV`."""
    code = ("import sys; from mxgw.cli.main import main; code = main(sys.argv[1:]); "
            "print(); print(sorted(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return set(json.loads(out.splitlines()[-1].replace("'", '"')))


async def test_help_before_the_name_still_lists_every_command() -> None:
    run = await run_cli_inprocess("-h", "version")
    assert run.code == 0
    listed = {line.split()[0] for line in run.out.split("COMMAND\n", 1)[1].splitlines()
              if line.startswith("    ") and not line.startswith("     ")}
    assert listed == set(COMMANDS)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize(("argv", "topic"), [
    (("version",), "general"),
    (("version", "--json"), "general"),
    (("open-session", "--help"), "sessions"),
    (("no-such-command",), None),  # argparse lists every name: no module needed for that
])
def test_a_command_imports_its_own_module_only(argv: tuple[str, ...],
                                               topic: str | None) -> None:
    loaded = _modules_loaded_by(*argv)
    assert {m for m in loaded if m.startswith(f"{commands.__name__}.")} == (
        {f"{commands.__name__}.{topic}"} if topic else set())
    if topic != "sessions":
        assert not {m for m in loaded if _within(m, HEAVY)}
    assert not {m for m in loaded if _within(m, ("mxgw.sim", "grpclib.server"))}


@pytest.mark.parametrize("argv", [("version",), ("version", "--json"), ("--version",),
                                  ("no-such-command",), ("version", "--no-such-flag")])
def test_a_command_line_that_never_waits_starts_no_event_loop(argv: tuple[str, ...]) -> None:
    loaded = _modules_loaded_by(*argv)
    assert not {m for m in loaded if _within(m, NO_LOOP)}
    assert not {m for m in loaded if _within(m, HEAVY)}
