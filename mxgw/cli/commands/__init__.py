"""The subcommand registry: each topic module adds its commands with `command(...)`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..context import ConnectionFlags, Context

Action = Callable[[Context, ConnectionFlags, Any], Awaitable[Any]]


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


REGISTRY: dict[str, Command] = {}


def command(name: str, summary: str, example: str, flags: type[Any], *, connects: bool = True,
            streams: bool = False) -> Callable[[Action], Action]:
    """Register the decorated coroutine as subcommand `name`."""
    def register(action: Action) -> Action:
        REGISTRY[name] = Command(name, summary, example, flags, action, connects, streams)
        return action
    return register


def load_all() -> dict[str, Command]:
    """Import every topic module (which registers its commands) and return the registry."""
    from . import general, sim, smoke  # noqa: F401

    return REGISTRY
