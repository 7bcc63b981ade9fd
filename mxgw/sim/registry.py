"""How command handlers are declared, what they return, and the scope each command kind needs.

Each handler module keeps its own `HandlerTable` and declares its coroutines with
`@handles(kind)` (`handles = HANDLERS.handles`); `invoke` merges the tables of the
handler modules it imports into the one table `execute` dispatches on. Which payload arm
carries a kind, where a bulk kind's entries are and which reply arm holds its typed
result all come from the contract layer (`mxgw.contract.commands.ARMS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .._proto.mxaccess_gateway import v1 as pb
from ..contract import commands
from .session import SimSession

K = pb.MxCommandKind

Result = tuple[pb.MxValue | None, Any] | None
"""What a handler returns: (return_value, typed result or None), or None."""
Handler = Callable[[SimSession, Any], Awaitable[Result]]


@dataclass(frozen=True)
class Entry:
    """A registered handler, with how its kind travels."""

    arm: commands.Arm
    handler: Handler


SCOPES: dict[pb.MxCommandKind, str] = {
    K.WRITE: "invoke:write", K.WRITE2: "invoke:write",
    K.WRITE_BULK: "invoke:write", K.WRITE2_BULK: "invoke:write",
    K.WRITE_SECURED: "invoke:secure", K.WRITE_SECURED2: "invoke:secure",
    K.WRITE_SECURED_BULK: "invoke:secure", K.WRITE_SECURED2_BULK: "invoke:secure",
    K.AUTHENTICATE_USER: "invoke:secure",
    K.ACKNOWLEDGE_ALARM: "invoke:write", K.ACKNOWLEDGE_ALARM_BY_NAME: "invoke:write",
}
"""The scope each command kind needs; every other kind needs invoke:read."""


def scope_of(kind: pb.MxCommandKind) -> str:
    return SCOPES.get(kind, "invoke:read")


class InvalidRequest(Exception):
    """A request the gateway refuses before MXAccess sees it (protocol INVALID_REQUEST)."""


class HandlerTable:
    """The handlers one module declares, by command kind."""

    def __init__(self) -> None:
        self.entries: dict[pb.MxCommandKind, Entry] = {}

    def handles(self, kind: pb.MxCommandKind) -> Callable[[Handler], Handler]:
        """Declare the decorated coroutine as the handler of `kind`."""
        arm = commands.arm(kind)

        def register(func: Handler) -> Handler:
            if kind in self.entries:
                raise ValueError(f"two handlers for {kind.name}")
            self.entries[kind] = Entry(arm, func)
            return func
        return register


def merged(*tables: HandlerTable) -> dict[pb.MxCommandKind, Entry]:
    """One table of the handlers of every module's table (a kind may appear only once)."""
    handlers: dict[pb.MxCommandKind, Entry] = {}
    for table in tables:
        twice = handlers.keys() & table.entries.keys()
        if twice:
            raise ValueError(f"two handlers for {', '.join(sorted(k.name for k in twice))}")
        handlers.update(table.entries)
    return handlers
