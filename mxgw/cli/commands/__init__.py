"""The subcommand registry: each topic module adds its commands with `command(...)`, and
`COMMANDS` says which module that is, so `mxgw NAME` imports NAME's module only.

A command is a flags dataclass plus a coroutine `action(ctx, conn, flags)` returning the
result to print (JSON with --json, else `text(result)` or a generic rendering). Streaming
commands (`streams=True`) print as they go and return nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..context import Context
    from ..flags import ConnectionFlags

Action = Callable[["Context", "ConnectionFlags", Any], Awaitable[Any]]
TextRenderer = Callable[[Any], str]


@dataclass(frozen=True)
class Command:
    """One subcommand: its flags dataclass and the coroutine that runs it."""

    name: str
    summary: str
    example: str
    flags: type[Any]
    action: Action
    connects: bool = True
    """Whether it takes the shared connection flags."""
    streams: bool = False
    """Whether it prints as it goes (the action writes its own output)."""
    text: TextRenderer | None = None
    """Readable rendering of the result (default: a generic key/value rendering)."""
    needs_loop: bool = True
    """Whether the action waits on the event loop. False: the action never suspends, so
    `mxgw NAME` runs without starting (or importing) asyncio (see `main.main`)."""


REGISTRY: dict[str, Command] = {}


def command(name: str, summary: str, example: str, flags: type[Any], *, connects: bool = True,
            streams: bool = False, text: TextRenderer | None = None, needs_loop: bool = True
            ) -> Callable[[Action], Action]:
    """Register the decorated coroutine as subcommand `name`."""
    def register(action: Action) -> Action:
        REGISTRY[name] = Command(name, summary, example, flags, action, connects, streams, text,
                                 needs_loop)
        return action
    return register


TOPICS: dict[str, tuple[str, ...]] = {
    "general": ("version",),
    "sessions": ("open-session", "close-session"),
    "items": ("register", "unregister", "add-item", "add-item2", "add-buffered-item",
              "remove-item", "advise", "advise-supervisory", "unadvise", "suspend", "activate",
              "set-buffered-update-interval", "authenticate-user", "archestra-user-to-id"),
    "writes": ("write", "write2", "write-secured", "write-secured2"),
    "bulk": ("add-item-bulk", "subscribe-bulk", "advise-item-bulk", "unadvise-item-bulk",
             "remove-item-bulk", "unsubscribe-bulk", "write-bulk", "write2-bulk",
             "write-secured-bulk", "write-secured2-bulk", "read-bulk"),
    "invoke": ("invoke",),
    "events": ("stream-events",),
    "watch": ("watch",),
    "alarms": ("stream-alarms", "query-active-alarms", "acknowledge-alarm"),
    "smoke": ("smoke",),
    "galaxy": ("galaxy-test-connection", "galaxy-last-deploy", "galaxy-discover",
               "galaxy-browse", "galaxy-watch"),
    "contract": ("contract-check",),
    "bench": ("bench-read-bulk", "bench-stream-events"),
    "batch": ("batch",),
    "sim": ("sim",),
}
"""Each topic module -> the subcommands it registers, in `mxgw --help` order.

The names are stated here so that running a command imports its module only (the others
load the client, the generated code or the simulator); tests/cli/test_registry.py checks
them against what the modules register."""

COMMANDS = {name: topic for topic, names in TOPICS.items() for name in names}
"""Subcommand name -> its topic module."""


def load(name: str) -> Command | None:
    """Subcommand `name`, its topic module imported; None when there is no such command."""
    topic = COMMANDS.get(name)
    if topic is None:
        return None
    importlib.import_module(f"{__name__}.{topic}")
    return REGISTRY[name]


def load_all() -> dict[str, Command]:
    """Every subcommand, in `mxgw --help` order (imports every topic module)."""
    for topic in TOPICS:
        importlib.import_module(f"{__name__}.{topic}")
    return {name: REGISTRY[name] for name in COMMANDS}
