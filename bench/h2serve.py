"""The bench's neutral gateway: HTTP/2 framed by hand, every reply pre-encoded.

    python bench/h2serve.py --pb2-dir DIR [--port 0]

Prints its port on stdout, then serves until stdin closes. Its own cost per call and per
event must stay far below either client's, or it would cap the comparison (a grpcio.aio
server saturates near 1.56x grpcio's client rate on 2 cores). So it keeps no HTTP/2
library state beyond what the protocol needs: frames are parsed with `int.from_bytes`,
request headers are decoded with hpack (the client's dynamic table must be followed),
reply headers are fixed literal blocks (no dynamic table on our side), and

- `Invoke` is parsed with Google's upb runtime only to learn the kind and the number of
  bulk entries; the reply is a pre-encoded `MxCommandReply` (a Write reply, or a
  BulkWriteReply with one result per entry), HEADERS + DATA + trailers in one write;
- `StreamEvents` with session id `events:N` streams N data-change `MxEvent`s with
  consecutive `worker_sequence`s from 2**21 (each a 4-byte varint, so one template is
  patched per event), many length-prefixed messages per DATA frame, within the client's
  flow-control windows, then the trailers.

Replies are built with the generated messages (Google's bindings, generated from
protos/), so both clients decode the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable
from typing import Any

import hpack
from google.protobuf.timestamp_pb2 import Timestamp
from h2wire import (
    ACK,
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    MAX_WINDOW,
    PADDED,
    PING,
    PREFACE,
    PRIORITY_FLAG,
    RST_STREAM,
    SETTINGS,
    WINDOW_UPDATE,
    frame,
    grpc_message,
    literal,
)

FIRST_SEQUENCE = 2**21
"""Every worker_sequence from here to 2**28 - 1 is a 4-byte varint."""
SERVICE = b"/mxaccess_gateway.v1.MxAccessGateway/"


STATUS_200 = b"\x88"  # static table entry 8
CONTENT_TYPE = literal(b"content-type", b"application/grpc")
RESPONSE_HEADERS = STATUS_200 + CONTENT_TYPE
TRAILERS_OK = literal(b"grpc-status", b"0")


def trailers_only(status: int, message: str) -> bytes:
    return (RESPONSE_HEADERS + literal(b"grpc-status", str(status).encode())
            + literal(b"grpc-message", message.encode()))


def varint4(value: int) -> bytes:
    return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14 & 0x7F | 0x80,
                  value >> 21))


class Replies:
    """The pre-encoded replies and the event template."""

    def __init__(self, pb2: Any) -> None:
        self.pb2 = pb2
        now = Timestamp(seconds=1796126400, nanos=123456000)  # 2026-12-01T12:00:00.123456Z
        status = pb2.MxStatusProxy(success=-1, category=pb2.MX_STATUS_CATEGORY_OK,
                                   detected_by=pb2.MX_STATUS_SOURCE_RESPONDING_LMX)
        self.status = status
        self.session = "session-0123456789abcdef0123456789abcdef"
        self.write = grpc_message(pb2.MxCommandReply(
            session_id=self.session, correlation_id="0123456789abcdef0123456789abcdef",
            kind=pb2.MX_COMMAND_KIND_WRITE,
            protocol_status=pb2.ProtocolStatus(code=pb2.PROTOCOL_STATUS_CODE_OK),
            hresult=0, statuses=[status]).SerializeToString())
        self._bulk: dict[int, bytes] = {}

        def event(sequence: int) -> bytes:
            return bytes(pb2.MxEvent(
                session_id=self.session, worker_sequence=sequence,
                family=pb2.MX_EVENT_FAMILY_ON_DATA_CHANGE, server_handle=1, item_handle=7,
                worker_timestamp=now, gateway_receive_timestamp=now,
                on_data_change=pb2.OnDataChangeEvent(
                    value=pb2.MxValue(data_type=pb2.MX_DATA_TYPE_INTEGER,
                                      variant_type="VT_I4", raw_data_type=2, int32_value=42),
                    quality=192, source_timestamp=now,
                    statuses=[pb2.MxStatusProxy(
                        success=-1, category=pb2.MX_STATUS_CATEGORY_OK,
                        detected_by=pb2.MX_STATUS_SOURCE_RESPONDING_LMX, raw_detected_by=1)]),
            ).SerializeToString())

        low, high = event(FIRST_SEQUENCE), event(2**28 - 1)
        assert len(low) == len(high)
        at = next(i for i, (a, b) in enumerate(zip(low, high, strict=True)) if a != b)
        assert low[at + 4:] == high[at + 4:] and low[:at] == high[:at]
        self.event_head = b"\x00" + len(low).to_bytes(4, "big") + low[:at]
        self.event_tail = low[at + 4:]
        self.event_size = len(low) + 5

    def bulk(self, count: int) -> bytes:
        found = self._bulk.get(count)
        if found is None:
            pb2 = self.pb2
            results = [pb2.BulkWriteResult(item_handle=i + 1, was_successful=True,
                                           statuses=[self.status]) for i in range(count)]
            found = self._bulk[count] = grpc_message(pb2.MxCommandReply(
                session_id=self.session, correlation_id="0123456789abcdef0123456789abcdef",
                kind=pb2.MX_COMMAND_KIND_WRITE_BULK,
                protocol_status=pb2.ProtocolStatus(code=pb2.PROTOCOL_STATUS_CODE_OK),
                bulk_write=pb2.BulkWriteReply(results=results)).SerializeToString())
        return found

    def events(self, first: int, count: int) -> bytes:
        head, tail = self.event_head, self.event_tail
        return b"".join([head + varint4(s) + tail for s in range(first, first + count)])


class Stream:
    __slots__ = ("body", "events_left", "headers", "next_sequence", "out", "path", "trailers",
                 "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.body = bytearray()
        self.path = b""
        self.headers = b""
        self.out = bytearray()
        self.trailers: bytes | None = None
        self.events_left = 0
        self.next_sequence = FIRST_SEQUENCE


class Connection(asyncio.Protocol):
    def __init__(self, replies: Replies) -> None:
        self.replies = replies
        self.buffer = bytearray()
        self.preface = False
        self.decoder = hpack.Decoder()
        self.streams: dict[int, Stream] = {}
        self.sending: dict[int, Stream] = {}
        self.window = 65535
        self.initial_window = 65535
        self.max_frame = 16384
        self.received = 0
        self.block = bytearray()
        self.block_stream = 0
        self.block_ends = False
        self.paused = False
        self.transport: asyncio.Transport | None = None

    # ------------------------------------------------------------------ asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        settings = (b"\x00\x03" + (1000).to_bytes(4, "big")
                    + b"\x00\x04" + MAX_WINDOW.to_bytes(4, "big"))
        transport.write(frame(SETTINGS, 0, 0, settings)
                        + frame(WINDOW_UPDATE, 0, 0, (MAX_WINDOW - 65535).to_bytes(4, "big")))

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self.pump()

    def connection_lost(self, exc: Exception | None) -> None:
        self.streams.clear()
        self.sending.clear()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.preface:
            if len(buffer) < len(PREFACE):
                return
            if bytes(buffer[:len(PREFACE)]) != PREFACE:
                assert self.transport is not None
                self.transport.close()
                return
            del buffer[:len(PREFACE)]
            self.preface = True
        pos, end = 0, len(buffer)
        while end - pos >= 9:
            length = int.from_bytes(buffer[pos:pos + 3], "big")
            if end - pos < 9 + length:
                break
            kind, flags = buffer[pos + 3], buffer[pos + 4]
            stream_id = int.from_bytes(buffer[pos + 5:pos + 9], "big") & 0x7FFFFFFF
            payload = bytes(buffer[pos + 9:pos + 9 + length])
            pos += 9 + length
            self.on_frame(kind, flags, stream_id, payload)
        del buffer[:pos]
        self.pump()

    # ------------------------------------------------------------------ frames

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def on_frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if kind == DATA:
            self.received += len(payload)
            if self.received > 2**30:
                self.write(frame(WINDOW_UPDATE, 0, 0, self.received.to_bytes(4, "big")))
                self.received = 0
            if flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            stream = self.streams.get(stream_id)
            if stream is not None:
                stream.body += payload
                if flags & END_STREAM:
                    self.dispatch(stream_id, stream)
        elif kind == HEADERS:
            if flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            if flags & PRIORITY_FLAG:
                payload = payload[5:]
            self.block = bytearray(payload)
            self.block_stream, self.block_ends = stream_id, bool(flags & END_STREAM)
            if flags & END_HEADERS:
                self.on_headers()
        elif kind == CONTINUATION:
            self.block += payload
            if flags & END_HEADERS:
                self.on_headers()
        elif kind == SETTINGS:
            if not flags & ACK:
                self.on_settings(payload)
        elif kind == WINDOW_UPDATE:
            increment = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            if stream_id == 0:
                self.window += increment
            elif (stream := self.streams.get(stream_id)) is not None:
                stream.window += increment
        elif kind == PING:
            if not flags & ACK:
                self.write(frame(PING, ACK, 0, payload))
        elif kind == RST_STREAM:
            self.streams.pop(stream_id, None)
            self.sending.pop(stream_id, None)
        elif kind == GOAWAY:
            assert self.transport is not None
            self.transport.close()

    def on_settings(self, payload: bytes) -> None:
        for at in range(0, len(payload) - 5, 6):
            key = int.from_bytes(payload[at:at + 2], "big")
            value = int.from_bytes(payload[at + 2:at + 6], "big")
            if key == 0x4:
                delta, self.initial_window = value - self.initial_window, value
                for stream in self.streams.values():
                    stream.window += delta
            elif key == 0x5:
                self.max_frame = value
        self.write(frame(SETTINGS, ACK, 0))

    def on_headers(self) -> None:
        headers = dict(self.decoder.decode(bytes(self.block), raw=True))
        stream = Stream(self.initial_window)
        stream.path = headers.get(b":path", b"")
        self.streams[self.block_stream] = stream
        if self.block_ends:
            self.dispatch(self.block_stream, stream)

    # ------------------------------------------------------------------ calls

    def dispatch(self, stream_id: int, stream: Stream) -> None:
        body = bytes(stream.body)
        message = body[5:5 + int.from_bytes(body[1:5], "big")] if len(body) >= 5 else b""
        method = stream.path.removeprefix(SERVICE)
        pb2 = self.replies.pb2
        if method == b"Invoke":
            command = pb2.MxCommandRequest.FromString(message).command
            if command.kind == pb2.MX_COMMAND_KIND_WRITE_BULK:
                reply = self.replies.bulk(len(command.write_bulk_command.entries))
            else:
                reply = self.replies.write
            stream.headers, stream.trailers = RESPONSE_HEADERS, TRAILERS_OK
            stream.out += reply
        elif method == b"StreamEvents":
            request = pb2.StreamEventsRequest.FromString(message)
            name, _, count = request.session_id.partition(":")
            if name != "events" or not count.isdigit():
                stream.headers = trailers_only(3, "session id must be events:N")
            else:
                stream.headers, stream.trailers = RESPONSE_HEADERS, TRAILERS_OK
                stream.events_left = int(count)
        else:
            stream.headers = trailers_only(12, "not served by the bench server")
        self.sending[stream_id] = stream

    def pump(self) -> None:
        """Send what the flow-control windows allow, in one write."""
        if self.paused or not self.sending:
            return
        out: list[bytes] = []
        replies = self.replies
        for stream_id, stream in list(self.sending.items()):
            if stream.headers:
                ends = END_STREAM if stream.trailers is None else 0
                out.append(frame(HEADERS, END_HEADERS | ends, stream_id, stream.headers))
                stream.headers = b""
                if ends:
                    del self.sending[stream_id], self.streams[stream_id]
                    continue
            while True:
                if not stream.out and stream.events_left:
                    count = min(stream.events_left, max(1, 65536 // replies.event_size))
                    stream.out += replies.events(stream.next_sequence, count)
                    stream.next_sequence += count
                    stream.events_left -= count
                size = min(len(stream.out), self.window, stream.window, self.max_frame)
                if size <= 0:
                    break
                out.append(frame(DATA, 0, stream_id, bytes(stream.out[:size])))
                del stream.out[:size]
                self.window -= size
                stream.window -= size
            if not stream.out and not stream.events_left:
                assert stream.trailers is not None
                out.append(frame(HEADERS, END_HEADERS | END_STREAM, stream_id, stream.trailers))
                del self.sending[stream_id], self.streams[stream_id]
            if self.window <= 0:
                break
        if out:
            self.write(b"".join(out))


def load_pb2(directory: str) -> Any:
    sys.path.insert(0, directory)
    return importlib.import_module("mxaccess_gateway_pb2")


async def serve(pb2_dir: str, port: int, ready: Callable[[int], None]) -> None:
    replies = Replies(load_pb2(pb2_dir))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(replies), "127.0.0.1", port)
    ready(server.sockets[0].getsockname()[1])
    await loop.run_in_executor(None, sys.stdin.read)  # until the bench closes our stdin
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pb2-dir", required=True, help="folder of mxaccess_gateway_pb2")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.pb2_dir, args.port, lambda port: print(port, flush=True)))


if __name__ == "__main__":
    main()
