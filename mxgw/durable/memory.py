"""What a durable session was asked to set up (to replay it), and its handles: the ones
given to the caller, stable for the session's life, and the live session's."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .._proto.mxaccess_gateway import v1 as pb
from ..errors import ConfigurationError


class Advise(enum.Enum):
    """How an item is advised."""

    NONE = "none"
    PLAIN = "advise"
    SUPERVISORY = "supervisory"


@dataclass
class Registration:
    """One Register call, and the buffered update interval set on its handle."""

    client_name: str
    buffered_interval_ms: int | None = None


@dataclass
class Item:
    """One item added, as it was added, and what was done to it since."""

    server: int
    """The caller's server handle."""
    reference: str
    context: str | None = None
    """AddItem2's (or AddBufferedItem's) context; None for AddItem."""
    buffered: bool = False
    advise: Advise = Advise.NONE
    suspended: bool = False


class Memory:
    """Registrations and items by the caller's handles, in the order they were made."""

    def __init__(self) -> None:
        self.servers: dict[int, Registration] = {}
        self.items: dict[int, Item] = {}
        self._top_server = 0
        self._top_item = 0
        """The highest handles given out: a taken one is replaced by the next above."""

    def new_server(self, preferred: int) -> int:
        """A caller's handle for a new registration: the gateway's, unless taken."""
        handle = preferred if preferred not in self.servers else self._top_server + 1
        self._top_server = max(self._top_server, handle)
        return handle

    def new_item(self, preferred: int) -> int:
        """A caller's handle for a new item: the gateway's, unless taken."""
        handle = preferred if preferred not in self.items else self._top_item + 1
        self._top_item = max(self._top_item, handle)
        return handle

    def item(self, server: int, item: int) -> Item:
        """The remembered item (ConfigurationError if the pair is not one of ours)."""
        found = self.items.get(item)
        if found is None or found.server != server:
            raise ConfigurationError(f"item handle {item} of server handle {server} is not "
                                     "an item of this durable session")
        return found

    def forget_server(self, server: int) -> None:
        self.servers.pop(server, None)
        for handle in [h for h, i in self.items.items() if i.server == server]:
            del self.items[handle]


class Handles:
    """The caller's handles <-> the live session's, both ways.

    In a first session they are the same; after a replacement the gateway may number
    things differently. `identity` says whether any handle differs, so that events need
    no rewriting while none does."""

    def __init__(self) -> None:
        self._servers: dict[int, int] = {}
        self._items: dict[int, tuple[int, int]] = {}
        self._back_servers: dict[int, int] = {}
        self._back_items: dict[tuple[int, int], tuple[int, int]] = {}
        self._differ = 0
        """How many bindings differ from the identity."""

    @property
    def identity(self) -> bool:
        return self._differ == 0

    def bind_server(self, server: int, live: int) -> None:
        self.unbind_server(server)
        self._servers[server] = live
        self._back_servers[live] = server
        self._differ += server != live

    def bind_item(self, server: int, item: int, live_item: int) -> None:
        self.unbind_item(item)
        live = (self._servers[server], live_item)
        self._items[item] = live
        self._back_items[live] = (server, item)
        self._differ += live != (server, item)

    def unbind_server(self, server: int) -> None:
        live = self._servers.pop(server, None)
        if live is not None:
            del self._back_servers[live]
            self._differ -= server != live
            for item in [i for i, (s, _) in self._items.items() if s == live]:
                self.unbind_item(item)

    def unbind_item(self, item: int) -> None:
        live = self._items.pop(item, None)
        if live is not None:
            server, _ = self._back_items.pop(live)
            self._differ -= live != (server, item)

    def server(self, server: int) -> int:
        """The live session's handle of the caller's server handle."""
        live = self._servers.get(server)
        if live is None:
            raise ConfigurationError(f"server handle {server} is not registered in this "
                                     "durable session")
        return live

    def item(self, server: int, item: int) -> tuple[int, int]:
        """The live session's (server handle, item handle) of the caller's item."""
        live = self._items.get(item)
        if live is None or live[0] != self._servers.get(server):
            raise ConfigurationError(f"item handle {item} of server handle {server} is "
                                     "not an item of this durable session (or was not "
                                     "restored in its current session)")
        return live

    def live_servers(self) -> dict[int, int]:
        """The caller's server handle -> the live one."""
        return dict(self._servers)

    def live_items(self) -> dict[int, tuple[int, int]]:
        """The caller's item handle -> the live (server, item) handles."""
        return dict(self._items)

    def caller_server(self, live: int) -> int:
        """The caller's handle of a live server handle (itself if unknown)."""
        return self._back_servers.get(live, live)

    def caller_item(self, live_server: int, live_item: int) -> tuple[int, int]:
        """The caller's (server, item) handles of live ones (themselves if unknown)."""
        return self._back_items.get((live_server, live_item), (live_server, live_item))

    def translate(self, event: pb.MxEvent) -> pb.MxEvent:
        """The event with the caller's handles (rewritten in place; as is while every
        handle is the same)."""
        if self._differ and (event.server_handle or event.item_handle):
            if event.item_handle:
                event.server_handle, event.item_handle = self.caller_item(
                    event.server_handle, event.item_handle)
            else:
                event.server_handle = self.caller_server(event.server_handle)
        return event
