"""A grpclib Server that keeps track of its HTTP/2 connections, so tests can break them.

grpclib creates one `H2Protocol` per accepted TCP connection in `Server._protocol_factory`;
this subclass remembers each one. `drop()` aborts the TCP connections (no GOAWAY, no
trailers: the client sees the connection vanish); `goaway()` sends an HTTP/2 GOAWAY, as a
gateway does when it shuts down gracefully.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from asyncio import Transport
from typing import Any

from grpclib.const import Status
from grpclib.encoding.proto import ProtoCodec
from grpclib.events import RecvRequest
from grpclib.exceptions import GRPCError
from grpclib.protocol import H2Protocol
from grpclib.server import Server
from h2.errors import ErrorCodes

PeerAddress = Any
"""What `transport.get_extra_info("peername")` returns (a tuple for TCP)."""

current_peer: contextvars.ContextVar[PeerAddress] = contextvars.ContextVar(
    "mxgw_sim_peer", default=None
)
"""The remote address of the connection the current request arrived on."""


class SizeLimitedCodec(ProtoCodec):
    """grpclib's protobuf codec, refusing received messages over `limit` bytes with
    RESOURCE_EXHAUSTED (as the gateway's 16 MiB limit does)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def decode(self, data: bytes, message_type: Any) -> Any:
        if len(data) > self.limit:
            raise GRPCError(Status.RESOURCE_EXHAUSTED,
                            f"the request is {len(data)} bytes, over the gateway's "
                            f"{self.limit}-byte message limit: split it")
        return super().decode(data, message_type)


def _transport(protocol: H2Protocol) -> Transport | None:
    connection = getattr(protocol, "connection", None)
    transport = getattr(connection, "_transport", None)  # removed by grpclib once closed
    if transport is None or transport.is_closing():
        return None
    return transport  # type: ignore[no-any-return]


class TrackingServer(Server):
    """grpclib's Server, remembering every live connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._protocols: weakref.WeakSet[H2Protocol] = weakref.WeakSet()

    def _protocol_factory(self) -> H2Protocol:
        protocol = super()._protocol_factory()
        self._protocols.add(protocol)
        return protocol

    async def record_peer(self, event: RecvRequest) -> None:
        """A RecvRequest hook: remember which connection the request came on."""
        current_peer.set(event.peer.addr())

    def live(self) -> list[H2Protocol]:
        """The connections still open."""
        return [p for p in list(self._protocols) if _transport(p) is not None]

    def drop(self, peer: PeerAddress = None, *, flush: bool = False) -> int:
        """Abort every open TCP connection (only `peer`'s when given); returns how many.

        With `flush`, what is already written goes out before the TCP close (still no
        GOAWAY, no trailers).
        """
        count = 0
        for protocol in self.live():
            transport = _transport(protocol)
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
            h2 = getattr(protocol.connection, "_connection", None)
            if h2 is None:
                continue
            h2.close_connection(error_code=ErrorCodes.NO_ERROR)
            protocol.connection.flush()
            count += 1
            transport = _transport(protocol)
            if close_after is not None and transport is not None:
                loop.call_later(close_after, transport.close)
        return count
