"""The subcommand registry: each topic module adds its commands with `command(...)`.

A command is a flags dataclass plus a coroutine `action(ctx, conn, flags)` returning the
result to print (JSON with --json, else `text(result)` or a generic rendering). Streaming
commands (`streams=True`) print as they go and return nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..context import Context
from ..flags import ConnectionFlags

Action = Callable[[Context, ConnectionFlags, Any], Awaitable[Any]]
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


REGISTRY: dict[str, Command] = {}


def command(name: str, summary: str, example: str, flags: type[Any], *, connects: bool = True,
            streams: bool = False, text: TextRenderer | None = None
            ) -> Callable[[Action], Action]:
    """Register the decorated coroutine as subcommand `name`."""
    def register(action: Action) -> Action:
        REGISTRY[name] = Command(name, summary, example, flags, action, connects, streams, text)
        return action
    return register


TOPICS = ("general", "sessions", "items", "writes", "bulk", "invoke", "events", "watch", "alarms",
          "smoke", "galaxy", "contract", "bench", "batch", "sim")
"""The topic modules, in the order their commands appear in `mxgw --help`."""


def load_all() -> dict[str, Command]:
    """Import every topic module (which registers its commands) and return the registry."""
    for topic in TOPICS:
        importlib.import_module(f"{__name__}.{topic}")
    return REGISTRY
