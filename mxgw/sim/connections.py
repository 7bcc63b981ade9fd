"""A grpclib Server that keeps track of its HTTP/2 connections, so tests can break them.

grpclib creates one `H2Protocol` per accepted TCP connection; this subclass remembers
each one (see `_adopt`). `drop()` aborts the TCP connections (no GOAWAY, no
trailers: the client sees the connection vanish); `goaway()` sends an HTTP/2 GOAWAY, as a
gateway does when it shuts down gracefully.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from asyncio import Transport
from collections.abc import Callable
from typing import Any

from grpclib.events import RecvRequest
from grpclib.protocol import H2Protocol
from grpclib.server import Server
from h2.errors import ErrorCodes

from ..datapath import CoalescingTransport, LeanH2Protocol

PeerAddress = Any
"""What `transport.get_extra_info("peername")` returns (a tuple for TCP)."""

current_peer: contextvars.ContextVar[PeerAddress] = contextvars.ContextVar(
    "mxgw_sim_peer", default=None
)
"""The remote address of the connection the current request arrived on."""


FLUSH_EVERY = 8
"""Messages of a stream written into a connection at most before its liveness check
writes them out (see `TrackingServer.liveness`)."""


Parts = Callable[[H2Protocol], "tuple[Transport | None, Any]"]
"""A connection's TCP transport (None once closing) and its h2 connection."""


def _adopt(server: Server, protocols: weakref.WeakSet[H2Protocol]) -> Parts:
    """The one function that reaches into grpclib's server internals (grpclib is pinned to
    0.4.x; tests/sim/test_connection_faults.py fails when these change shape):

    - `Server._protocol_factory`: grpclib has no hook for accepted connections; each new
      protocol is made a `LeanH2Protocol` (coalesced writes, cached header fields: see
      `mxgw.datapath`) from grpclib's own protocol's handler and configurations, and
      remembered in `protocols`.
    - `Connection._transport` and `Connection._connection` (the h2 state machine): grpclib
      offers no way to abort a connection or send GOAWAY on it, which is what tests of a
      dying gateway need.

    Returns the accessor of a connection's transport and h2 connection.
    """
    make = server._protocol_factory

    def track() -> H2Protocol:
        made = make()
        protocol = LeanH2Protocol(made.handler, made.config, made.h2_config)
        protocols.add(protocol)
        return protocol

    server._protocol_factory = track  # type: ignore[method-assign]

    def parts(protocol: H2Protocol) -> tuple[Transport | None, Any]:
        connection = getattr(protocol, "connection", None)
        transport = getattr(connection, "_transport", None)  # removed once closed
        if transport is not None and transport.is_closing():
            transport = None
        return transport, getattr(connection, "_connection", None)
    return parts


class TrackingServer(Server):
    """grpclib's Server, remembering every live connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._protocols: weakref.WeakSet[H2Protocol] = weakref.WeakSet()
        self._parts = _adopt(self, self._protocols)

    async def record_peer(self, event: RecvRequest) -> None:
        """A RecvRequest hook: remember which connection the request came on."""
        current_peer.set(event.peer.addr())

    def liveness(self, peer: PeerAddress) -> Callable[[], bool]:
        """Whether `peer`'s connection is still open, as a check cheap enough to make after
        every message (the connection is looked up once, here).

        A reset connection is noticed by a failed write (or by the loop reading the
        reset): the check writes what is held every `FLUSH_EVERY` messages, so a stream
        sending a backlog in one pass of the loop stops within that many messages of the
        first failed write, while the messages in between still leave in one write."""
        found = next((t for p in self.live()
                      if (t := self._parts(p)[0]) is not None
                      and t.get_extra_info("peername") == peer), None)
        if found is None:
            return lambda: False
        transport = found
        unflushed = 0

        def alive() -> bool:
            nonlocal unflushed
            unflushed += 1
            if unflushed >= FLUSH_EVERY and isinstance(transport, CoalescingTransport):
                unflushed = 0
                transport.flush()  # a write into a reset connection closes the transport
            return not transport.is_closing()
        return alive

    def live(self) -> list[H2Protocol]:
        """The connections still open."""
        return [p for p in list(self._protocols) if self._parts(p)[0] is not None]

    def drop(self, peer: PeerAddress = None, *, flush: bool = False) -> int:
        """Abort every open TCP connection (only `peer`'s when given); returns how many.

        With `flush`, what is already written goes out before the TCP close (still no
        GOAWAY, no trailers).
        """
        count = 0
        for protocol in self.live():
            transport = self._parts(protocol)[0]
            if transport is None:
                continue
            if peer is not None and transport.get_extra_info("peername") != peer:
                continue
            if flush:
                transport.close()
            else:
                transport.abort()
            count += 1
        return count

    def goaway(self, close_after: float | None = None) -> int:
        """Send GOAWAY (NO_ERROR) on every open connection; optionally close them later."""
        count = 0
        loop = asyncio.get_running_loop()
        for protocol in self.live():
            transport, h2 = self._parts(protocol)
            if h2 is None:
                continue
            h2.close_connection(error_code=ErrorCodes.NO_ERROR)
            protocol.connection.flush()
            count += 1
            if close_after is not None and transport is not None:
                loop.call_later(close_after, transport.close)
        return count
