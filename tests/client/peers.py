"""Small misbehaving loopback servers of the tests' own: a TCP proxy that stops forwarding
without closing (a hung link), listeners that are no gRPC server at all, and an HTTP/2
server that never answers a stream."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import Event, RequestReceived

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
BANNER = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" + bytes(range(256)) * 4


class PingCounter:
    """Counts the PING frames (not ACKs) a client sends, reading its plaintext HTTP/2."""

    def __init__(self) -> None:
        self.pings = 0
        self._buffer = b""
        self._preface = len(PREFACE)

    def feed(self, data: bytes) -> None:
        self._buffer += data
        if self._preface:
            skipped = min(self._preface, len(self._buffer))
            self._buffer = self._buffer[skipped:]
            self._preface -= skipped
        while len(self._buffer) >= 9:
            length = int.from_bytes(self._buffer[:3], "big")
            if len(self._buffer) < 9 + length:
                return
            kind, flags = self._buffer[3], self._buffer[4]
            if kind == 0x6 and not flags & 0x1:
                self.pings += 1
            self._buffer = self._buffer[9 + length:]


class StallProxy:
    """Forwards TCP to `upstream` until `stall()`; then every connection open at that
    moment stops forwarding both ways (bytes are read and dropped, nothing is closed),
    while connections made later are forwarded: a hung flow, the gateway itself fine.

    When the client gives up on a stalled connection (closes it), the gateway's side is
    closed too, as a gateway with a keepalive of its own would notice: until it does, it
    holds the session's one event subscriber and a resume gets ALREADY_EXISTS.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.connections = 0
        self._stalled: set[int] = set()
        self._counters: list[PingCounter] = []
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def pings(self) -> int:
        """PING frames the clients sent through the proxy (plaintext only)."""
        return sum(counter.pings for counter in self._counters)

    def stall(self) -> None:
        self._stalled.update(range(self.connections))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        counter = PingCounter()
        self._counters.append(counter)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                       count: PingCounter | None) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    if number in self._stalled:
                        continue  # swallowed: the link hangs, nothing is closed
                    if count is not None:
                        count.feed(data)
                    dst.write(data)
                    await dst.drain()
            if number not in self._stalled or count is not None:
                dst.close()  # a stalled link is released by the client side only

        await asyncio.gather(pipe(reader, up_writer, counter), pipe(up_reader, writer, None))

    async def __aenter__(self) -> StallProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"


Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Answer = Callable[[H2Connection, Event], None]


@contextlib.asynccontextmanager
async def serving(serve: Serve) -> AsyncIterator[str]:
    """`serve` each connection to a loopback port of its own; yields `127.0.0.1:PORT`. At
    the end the server closes, and every connection it accepted with it."""
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await serve(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def h2_peer(answer: Answer, header_encoding: str | None = None) -> AsyncIterator[str]:
    """An HTTP/2 server of the test's own: `answer(conn, event)` is called with each event
    h2 reports (headers decoded to str with `header_encoding`); it never acknowledges the
    DATA it receives (its windows shrink). Yields `127.0.0.1:PORT`."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = H2Connection(H2Configuration(client_side=False, header_encoding=header_encoding))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65_536):
                for event in conn.receive_data(data):
                    answer(conn, event)
                writer.write(conn.data_to_send())
        writer.close()

    async with serving(serve) as endpoint:
        yield endpoint


@contextlib.asynccontextmanager
async def listener(mode: str) -> AsyncIterator[str]:
    """A loopback endpoint that is no gRPC server; yields `127.0.0.1:PORT`.

    `banner`: writes a non-HTTP/2 banner on accept, then keeps the connection open and
    silent. `silent`: accepts and never writes. `http1`: an HTTP/1.1 server that answers
    the client's first bytes with 400 Bad Request and closes. `mute`: an HTTP/2 server
    that completes the handshake and answers pings (keepalive sees a live peer) but never
    answers a stream: no headers, no data, no reset.
    """

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await answer(reader, writer)
        finally:
            writer.close()  # the client went: our side goes too (no fd kept until the end)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            if mode == "mute":
                h2 = H2Connection(H2Configuration(client_side=False))
                h2.initiate_connection()  # our SETTINGS; h2 acks theirs and their pings
                writer.write(h2.data_to_send())
                while data := await reader.read(65536):
                    h2.receive_data(data)  # stream events are dropped: never answered
                    writer.write(h2.data_to_send())
                return
            if mode == "banner":
                writer.write(BANNER)
            elif mode == "http1":
                await reader.readuntil(b"\r\n")
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                await writer.drain()
                writer.close()
                return
            while await reader.read(65536):
                pass

    async with serving(serve) as endpoint:
        yield endpoint


@contextlib.asynccontextmanager
async def packed_stream(messages: list[bytes], status: int = 0, *,
                        frame_each: bool = False) -> AsyncIterator[str]:
    """An HTTP/2 server that answers any call with `messages` (encoded protobuf) as one
    run of gRPC frames cut into DATA frames of the largest size allowed (most DATA frames
    hold several messages, some messages span two), as gRPC servers that coalesce their
    writes do, or with `frame_each` one message to a DATA frame (as many as the window
    allows to one socket write), then trailers with grpc-status `status`; yields
    `127.0.0.1:PORT`."""
    grpc_frames = [b"\x00" + len(m).to_bytes(4, "big") + m for m in messages]
    body = b"".join(grpc_frames)
    ends = list(itertools.accumulate(len(f) for f in grpc_frames))  # message ends in body

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        h2 = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        h2.initiate_connection()
        writer.write(h2.data_to_send())
        sending: dict[int, int] = {}  # stream id -> bytes of `body` sent
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                for event in h2.receive_data(data):
                    if isinstance(event, RequestReceived):
                        h2.send_headers(event.stream_id, [
                            (":status", "200"), ("content-type", "application/grpc")])
                        sending[event.stream_id] = 0
                for stream_id, sent in list(sending.items()):
                    while sent < len(body):
                        size = min(len(body) - sent, h2.local_flow_control_window(stream_id),
                                   h2.max_outbound_frame_size)
                        if frame_each:  # up to the end of this message, if the window allows
                            end = ends[bisect.bisect_right(ends, sent)]
                            size = end - sent if end - sent <= size else 0
                        if size <= 0:
                            break
                        h2.send_data(stream_id, body[sent:sent + size])
                        sent += size
                    sending[stream_id] = sent
                    if sent == len(body):
                        h2.send_headers(stream_id, [("grpc-status", str(status))],
                                        end_stream=True)
                        del sending[stream_id]
                writer.write(h2.data_to_send())
        writer.close()

    async with serving(serve) as endpoint:
        yield endpoint
