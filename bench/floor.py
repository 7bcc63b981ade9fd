"""The floor: what a minimal pure-Python asyncio gRPC client costs on this machine.

    python bench/floor.py [--rounds N] [--calls N] [--events N] [--no-pinned]

`Http2Client` is an HTTP/2 gRPC client in ~300 lines on an asyncio Protocol, with no h2,
hpack, hyperframe or grpclib: frames parsed with `int.from_bytes`, a pre-encoded HPACK
header block per method (literals without indexing, only `grpc-timeout` encoded per
call), the peer told `SETTINGS_HEADER_TABLE_SIZE = 0` so its header blocks can be
decoded with no dynamic table (and cached by their bytes), the writes of one loop pass
coalesced into one `send`, receive windows acknowledged as the reader consumes, a
deadline timer per call. It does what the bench workloads need and no more: no
Huffman-coded headers (the neutral server sends none), no waiting on a send window,
no TLS, no keepalive, no reconnect. So it is a floor, not a client.

It runs `bench/clients.py`'s workloads (unary `Invoke` 1 and 16 in flight, the event
stream, 10,000-entry `write_bulk`) against the bench's neutral server, beside mxgw and
grpcio, interleaved round by round in separate processes, two ways:

- `floor`: requests built and encoded with mxgw's contract layer (`commands`, `codec`),
  replies parsed with our codec and checked as mxgw checks them (protocol status,
  MXAccess failure, replay gap and event order, bulk chunking and result counts by
  `mxgw.bulk.run`): mxgw's own work, on a transport that costs the least it can;
- `floor-raw`: no codec at all: a request template with a fresh correlation id patched
  in, replies taken as bytes (only grpc-status checked): the transport alone.

mxgw's and the floor's runs are sampled by layer (`bench/layers.py`); the tables give
client CPU per operation (medians) and where mxgw's and the floor's CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from h2wire import (
    ACK,
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
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

SERVICE = "/mxaccess_gateway.v1.MxAccessGateway/"
INVOKE, STREAM_EVENTS = SERVICE + "Invoke", SERVICE + "StreamEvents"
STREAM_WINDOW = 65535
"""Our receive window per call (mxgw's default `stream_window_bytes` too)."""
CONNECTION_WINDOW = 8 * 1024 * 1024
"""Our connection receive window (about mxgw's)."""
USER_AGENT = "mxgw-floor/0"
TIMEOUT = 30.0
"""Seconds: as bench/clients.py, every stack sends grpc-timeout on unary calls."""
CANCEL = (8).to_bytes(4, "big")
STATIC_NAMES = (
    b":authority :method :method :path :path :scheme :scheme :status :status :status :status "
    b":status :status :status accept-charset accept-encoding accept-language accept-ranges "
    b"accept access-control-allow-origin age allow authorization cache-control "
    b"content-disposition content-encoding content-language content-length content-location "
    b"content-range content-type cookie date etag expect expires from host if-match "
    b"if-modified-since if-none-match if-range if-unmodified-since last-modified link location "
    b"max-forwards proxy-authenticate proxy-authorization range referer refresh retry-after "
    b"server set-cookie strict-transport-security transfer-encoding user-agent vary via "
    b"www-authenticate").split()
STATIC_VALUES = {2: b"GET", 3: b"POST", 4: b"/", 5: b"/index.html", 6: b"http", 7: b"https",
                 8: b"200", 9: b"204", 10: b"206", 11: b"304", 12: b"400", 13: b"404",
                 14: b"500", 16: b"gzip, deflate"}
"""HPACK's static table (RFC 7541 appendix A): names 1-61, the values that are not empty."""


class CallFailed(Exception):
    """A call ended with a gRPC status other than OK, or the connection failed."""


# ---------------------------------------------------------------------- HPACK, the least

def _integer(block: bytes, pos: int, bits: int) -> tuple[int, int]:
    limit = (1 << bits) - 1
    value = block[pos] & limit
    pos += 1
    if value == limit:
        shift = 0
        while True:
            byte = block[pos]
            pos += 1
            value += (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
    return value, pos


def _decode_string(block: bytes, pos: int) -> tuple[bytes, int]:
    if block[pos] & 0x80:
        raise NotImplementedError("a Huffman-coded header: not in the floor")
    length, pos = _integer(block, pos, 7)
    return block[pos:pos + length], pos + length


def decode_headers(block: bytes) -> dict[bytes, bytes]:
    """A header block that uses no dynamic table (we announce a table size of 0)."""
    headers: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(block):
        first = block[pos]
        if first & 0x80:  # indexed
            index, pos = _integer(block, pos, 7)
            headers[STATIC_NAMES[index - 1]] = STATIC_VALUES.get(index, b"")
            continue
        if first & 0xE0 == 0x20:  # a dynamic table size update (to 0)
            _, pos = _integer(block, pos, 5)
            continue
        index, pos = _integer(block, pos, 6 if first & 0x40 else 4)
        if index:
            name = STATIC_NAMES[index - 1]
        else:
            name, pos = _decode_string(block, pos)
        value, pos = _decode_string(block, pos)
        headers[name] = value
    return headers


# ---------------------------------------------------------------------- HTTP/2 + gRPC

class _Call:
    __slots__ = ("ended", "headers", "messages", "partial", "status", "streaming", "unacked",
                 "waiter")

    def __init__(self, streaming: bool, waiter: asyncio.Future[None] | None) -> None:
        self.streaming = streaming
        self.waiter = waiter
        self.messages: list[bytes] = []
        self.partial = b""
        self.headers: dict[bytes, bytes] | None = None
        self.status: tuple[bytes, bytes] | None = None
        self.ended = False
        self.unacked = 0

    def take(self, payload: bytes) -> None:
        """Split DATA into gRPC messages (a message may straddle frames)."""
        if self.partial:
            payload = self.partial + payload
            self.partial = b""
        pos, end = 0, len(payload)
        messages = self.messages
        while end - pos >= 5:
            stop = pos + 5 + int.from_bytes(payload[pos + 1:pos + 5], "big")
            if stop > end:
                break
            if payload[pos]:
                raise CallFailed("a compressed message, which was not asked for")
            messages.append(payload[pos + 5:stop])
            pos = stop
        if pos < end:
            self.partial = payload[pos:]

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def check(self) -> None:
        if self.status is None:
            raise CallFailed("the call ended without a status")
        if self.status[0] != b"0":
            raise CallFailed(f"grpc-status {self.status[0].decode()}: "
                             f"{self.status[1].decode(errors='replace')}")


class Http2Client(asyncio.Protocol):
    """One HTTP/2 connection, gRPC unary and server-streaming calls on it."""

    def __init__(self, authority: str, key: str) -> None:
        self.loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = self.loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.calls: dict[int, _Call] = {}
        self.next_id = 1
        self.out: list[bytes] = []
        self.unacked = 0
        self.blocks: dict[bytes, dict[bytes, bytes]] = {}
        self.block = b""
        self.block_stream = 0
        self.block_flags = 0
        self.send_window = 65535
        self.peer_stream_window = 65535
        self.max_frame = 16384
        self.failure: Exception | None = None
        self.authority = authority.encode()
        self.common = (literal(b"te", b"trailers") + literal(b"content-type", b"application/grpc")
                       + literal(b"user-agent", USER_AGENT.encode())
                       + literal(b"authorization", f"Bearer {key}".encode(), True))
        self.heads: dict[str, bytes] = {}

    # ------------------------------------------------------------------ asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        settings = (b"\x00\x01" + (0).to_bytes(4, "big")  # HEADER_TABLE_SIZE: no dynamic table
                    + b"\x00\x02" + (0).to_bytes(4, "big")  # ENABLE_PUSH
                    + b"\x00\x04" + STREAM_WINDOW.to_bytes(4, "big"))
        transport.write(PREFACE + frame(SETTINGS, 0, 0, settings) + frame(
            WINDOW_UPDATE, 0, 0, (CONNECTION_WINDOW - 65535).to_bytes(4, "big")))

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exc or CallFailed("the connection closed"))

    def fail(self, exc: Exception) -> None:
        self.failure = exc
        if not self.ready.done():
            self.ready.set_exception(exc)
        for call in self.calls.values():
            call.ended = True
            call.wake()
        self.calls.clear()

    def send(self, data: bytes) -> None:
        """Coalesced: the writes of one pass of the loop leave in one `send`."""
        if not self.out:
            self.loop.call_soon(self.flush)
        self.out.append(data)

    def flush(self) -> None:
        out, self.out = self.out, []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def data_received(self, data: bytes) -> None:
        if self.buffer:
            data = self.buffer + data
        pos, end = 0, len(data)
        calls = self.calls
        while end - pos >= 9:
            stop = pos + 9 + int.from_bytes(data[pos:pos + 3], "big")
            if stop > end:
                break
            kind, flags = data[pos + 3], data[pos + 4]
            stream_id = int.from_bytes(data[pos + 5:pos + 9], "big") & 0x7FFFFFFF
            payload = data[pos + 9:stop]
            pos = stop
            if kind == DATA:
                call = calls.get(stream_id)
                if call is None or not call.streaming:
                    self.consumed(len(payload))  # unary replies are consumed as they come
                else:
                    call.unacked += len(payload)
                if call is None:
                    continue
                if flags & PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                call.take(payload)
                if call.streaming:
                    call.wake()
                if flags & END_STREAM:
                    self.end(stream_id, call)
            elif kind == HEADERS or kind == CONTINUATION:
                if kind == HEADERS:
                    if flags & PADDED:
                        payload = payload[1:len(payload) - payload[0]]
                    if flags & PRIORITY_FLAG:
                        payload = payload[5:]
                    self.block, self.block_stream, self.block_flags = payload, stream_id, flags
                else:
                    self.block += payload
                if flags & END_HEADERS:
                    self.on_headers()
            else:
                self.on_control(kind, flags, stream_id, payload)
        self.buffer = data[pos:] if pos < end else b""

    def on_headers(self) -> None:
        block = self.block
        headers = self.blocks.get(block)
        if headers is None:
            headers = self.blocks[block] = decode_headers(block)
        call = self.calls.get(self.block_stream)
        if call is None:
            return
        if call.headers is None:
            call.headers = headers
            if headers.get(b":status") != b"200":
                call.status = (b"2", b"HTTP status " + headers.get(b":status", b"?"))
        if b"grpc-status" in headers and call.status is None:
            call.status = (headers[b"grpc-status"], headers.get(b"grpc-message", b""))
        if self.block_flags & END_STREAM:
            self.end(self.block_stream, call)

    def end(self, stream_id: int, call: _Call) -> None:
        del self.calls[stream_id]
        call.ended = True
        call.wake()

    def on_control(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if kind == SETTINGS:
            if not flags & ACK:
                for at in range(0, len(payload) - 5, 6):
                    key = int.from_bytes(payload[at:at + 2], "big")
                    value = int.from_bytes(payload[at + 2:at + 6], "big")
                    if key == 0x4:
                        self.peer_stream_window = value
                    elif key == 0x5:
                        self.max_frame = value
                self.send(frame(SETTINGS, ACK, 0))
                if not self.ready.done():
                    self.ready.set_result(None)
        elif kind == WINDOW_UPDATE:
            if stream_id == 0:
                self.send_window += int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
        elif kind == PING:
            if not flags & ACK:
                self.send(frame(PING, ACK, 0, payload))
        elif kind == RST_STREAM:
            call = self.calls.pop(stream_id, None)
            if call is not None:
                code = int.from_bytes(payload[:4], "big")
                call.status = (b"13", f"stream reset by the server ({code})".encode())
                call.ended = True
                call.wake()
        elif kind == GOAWAY:
            self.fail(CallFailed("the server sent GOAWAY"))

    def consumed(self, size: int, stream_id: int = 0, call: _Call | None = None) -> None:
        """Give the server back `size` bytes of window (the connection's, and the call's
        once half of it is used)."""
        self.unacked += size
        if self.unacked >= CONNECTION_WINDOW // 2:
            self.send(frame(WINDOW_UPDATE, 0, 0, self.unacked.to_bytes(4, "big")))
            self.unacked = 0
        if call is not None and not call.ended and call.unacked >= STREAM_WINDOW // 2:
            self.send(frame(WINDOW_UPDATE, 0, stream_id, call.unacked.to_bytes(4, "big")))
            call.unacked = 0

    # ------------------------------------------------------------------ calls

    def _open(self, path: str, message: bytes, call: _Call, timeout: float | None) -> int:
        if self.failure is not None:
            raise CallFailed(f"the connection failed: {self.failure}")
        stream_id = self.next_id
        self.next_id += 2
        self.calls[stream_id] = call
        head = self.heads.get(path)
        if head is None:
            head = self.heads[path] = (b"\x83\x86" + literal(b":path", path.encode())
                                       + literal(b":authority", self.authority))
        if timeout is not None:
            head += literal(b"grpc-timeout", b"%dS" % int(timeout))
        body = grpc_message(message)
        if len(body) > min(self.send_window, self.peer_stream_window):
            raise NotImplementedError("waiting on a send window: not in the floor")
        self.send_window -= len(body)
        out = [frame(HEADERS, END_HEADERS, stream_id, head + self.common)]
        size = self.max_frame
        for at in range(0, len(body), size):
            last = at + size >= len(body)
            out.append(frame(DATA, END_STREAM if last else 0, stream_id, body[at:at + size]))
        self.send(b"".join(out))
        return stream_id

    async def unary(self, path: str, message: bytes, timeout: float) -> bytes:
        """One unary call: its reply message."""
        call = _Call(False, self.loop.create_future())
        stream_id = self._open(path, message, call, timeout)
        timer = self.loop.call_later(timeout, self._expire, stream_id)
        try:
            assert call.waiter is not None
            await call.waiter
        finally:
            timer.cancel()
        call.check()
        if len(call.messages) != 1:
            raise CallFailed(f"{len(call.messages)} messages in a unary reply")
        return call.messages[0]

    def _expire(self, stream_id: int) -> None:
        call = self.calls.pop(stream_id, None)
        if call is not None:
            self.send(frame(RST_STREAM, 0, stream_id, CANCEL))
            call.status = (b"4", b"deadline exceeded")
            call.ended = True
            call.wake()

    async def server_stream(self, path: str, message: bytes) -> AsyncIterator[list[bytes]]:
        """A server-streaming call: its messages, in the batches they arrived in."""
        call = _Call(True, None)
        stream_id = self._open(path, message, call, None)
        try:
            while True:
                if call.messages:
                    batch, call.messages = call.messages, []
                    self.consumed(call.unacked, stream_id, call)
                    yield batch
                elif call.ended:
                    call.check()
                    return
                else:
                    call.waiter = self.loop.create_future()
                    await call.waiter
        finally:
            if not call.ended:
                self.calls.pop(stream_id, None)
                self.send(frame(RST_STREAM, 0, stream_id, CANCEL))

    def close(self) -> None:
        if self.transport is not None:
            self.flush()
            self.transport.close()


# ---------------------------------------------------------------------- the bench driver

class FloorDriver:
    """bench/clients.py's driver interface on `Http2Client`, with our codec or none."""

    def __init__(self, spec: dict[str, Any], codec: bool) -> None:
        self.spec = spec
        self.codec = codec
        self._bulk: dict[int, list[bytes]] = {}

    async def connect(self) -> None:
        host, port = self.spec["endpoint"].rsplit(":", 1)
        loop = asyncio.get_running_loop()
        _, self.client = await loop.create_connection(
            lambda: Http2Client(self.spec["endpoint"], self.spec["key"]), host, int(port))
        await self.client.ready
        self.retarget({})

    def retarget(self, target: dict[str, Any]) -> None:
        from mxgw import pb
        from mxgw.contract import codec, commands

        self.spec.update(target)
        placeholder = "0" * 32
        data = codec.encode(pb.MxCommandRequest(
            session_id=self.spec["session"], client_correlation_id=placeholder,
            command=commands.write(self.spec["server"], self.spec["item"], 42,
                                   type_name="int32")))
        self.write_head, self.write_tail = data.split(placeholder.encode())

    async def invoke(self, command: Any, timeout: float | None = None) -> Any:
        """Invoke with mxgw's checks (its `Session.invoke`), on the floor's transport."""
        from mxgw import pb
        from mxgw.contract import codec
        from mxgw.failures import check_protocol, raise_for_mxaccess

        request = pb.MxCommandRequest(session_id=self.spec["session"], command=command,
                                      client_correlation_id=uuid.uuid4().hex)
        data = await self.client.unary(INVOKE, codec.encode(request), timeout or TIMEOUT)
        reply = codec.parse(pb.MxCommandReply, data)
        check_protocol(reply)
        return raise_for_mxaccess(reply)

    async def write(self) -> None:
        if self.codec:
            from mxgw.contract import commands

            await self.invoke(commands.write(self.spec["server"], self.spec["item"], 42,
                                             type_name="int32"))
        else:
            await self.client.unary(INVOKE, self.write_head + uuid.uuid4().hex.encode()
                                    + self.write_tail, TIMEOUT)

    async def invoke_bulk(self, command: Any, timeout: float | None = None) -> Any:
        """A bulk chunk with mxgw's checks (its `Session._invoke_for_bulk`): the results
        left as bytes until read (`BulkReply`), as mxgw leaves them."""
        from mxgw import pb
        from mxgw.contract import codec
        from mxgw.contract.bulk_replies import BulkReply
        from mxgw.failures import check_protocol, mxaccess_failure

        request = pb.MxCommandRequest(session_id=self.spec["session"], command=command,
                                      client_correlation_id=uuid.uuid4().hex)
        data = await self.client.unary(INVOKE, codec.encode(request), timeout or TIMEOUT)
        reply = BulkReply.parse(data)
        check_protocol(reply.reply)
        failure = mxaccess_failure(reply.reply)
        if failure is not None:
            raise failure
        return reply

    async def write_bulk(self, items: list[tuple[int, int]]) -> int:
        from mxgw import bulk, pb
        from mxgw.contract import codec, commands
        from mxgw.options import ClientOptions

        options = ClientOptions(self.spec["endpoint"])  # mxgw's default chunking
        if self.codec:  # as mxgw's Session.write_bulk: entries encoded straight to bytes
            write = commands.encoded_write_bulk(pb.MxCommandKind.WRITE_BULK,
                                                self.spec["server"], items, type_name="int32")
            results = await bulk.run_encoded(self.invoke_bulk, write,
                                             max_entries=options.max_bulk_entries,
                                             max_bytes=options.bulk_byte_budget)
            return len(results)
        requests = self._bulk.get(len(items))
        if requests is None:  # built once: the raw floor measures the transport alone
            command = commands.write_bulk(self.spec["server"], items, type_name="int32")
            requests = self._bulk[len(items)] = [
                codec.encode(pb.MxCommandRequest(session_id=self.spec["session"],
                                                 command=chunk, client_correlation_id="c"))
                for chunk in bulk.chunks(command, options.max_bulk_entries,
                                         options.bulk_byte_budget)]
        for data in requests:
            await self.client.unary(INVOKE, data, TIMEOUT)
        return len(items)

    async def events(self, session_id: str) -> AsyncIterator[Any]:
        from mxgw import pb
        from mxgw.contract import codec
        from mxgw.contract.events import is_replay_gap

        request = codec.encode(pb.StreamEventsRequest(session_id=session_id))
        batches = self.client.server_stream(STREAM_EVENTS, request)
        try:
            if not self.codec:
                async for batch in batches:
                    for data in batch:
                        yield data
                return
            parse, event_type, last = codec.parse, pb.MxEvent, 0
            async for batch in batches:
                for data in batch:
                    event = parse(event_type, data)
                    if is_replay_gap(event):
                        raise CallFailed("replay gap")
                    if event.worker_sequence <= last:
                        continue
                    last = event.worker_sequence
                    yield last
        finally:
            await batches.aclose()  # type: ignore[attr-defined]

    async def close(self) -> None:
        self.client.close()



# ---------------------------------------------------------------------- the run

STACKS = ("grpcio", "mxgw", "floor", "floor-raw")
COLUMNS = {"grpcio": "grpcio", "mxgw": "mxgw", "floor": "floor + our codec",
           "floor-raw": "floor, no codec"}
ROWS = (("unary1", "client CPU per unary call, 1 in flight", "µs", 1e6),
        ("unary16", "client CPU per unary call, 16 in flight", "µs", 1e6),
        ("events", "client CPU per event", "µs", 1e6),
        ("bulk", "client CPU per 10,000-entry `write_bulk`", "ms", 1e3))


def workloads(calls: int, events: int) -> list[dict[str, Any]]:
    return [
        {"label": "unary1", "name": "unary", "count": calls, "inflight": 1, "warmup": 200},
        {"label": "unary16", "name": "unary", "count": 2 * calls, "inflight": 16,
         "warmup": 200},
        {"label": "events", "name": "events", "count": events, "warmup": 2000},
        {"label": "bulk", "name": "bulk", "entries": 10_000, "rounds": 3},
    ]


Samples = dict[tuple[str, str], list[dict[str, dict[str, Any]]]]
"""(mode, stack) -> per round, results by workload label."""


def measure(stacks: Sequence[str], rounds: int, calls: int, events: int, pinned: bool
            ) -> tuple[Samples, list[str]]:
    import run  # bench/run.py: its servers, pb2 generation, client processes, pinning

    cpus = sorted(os.sched_getaffinity(0))
    modes: dict[str, tuple[set[int] | None, set[int] | None]] = {
        "unpinned": (set(cpus), set(cpus))}
    if pinned and len(cpus) >= 2:
        modes["pinned"] = ({cpus[0]}, {cpus[1]})
    samples: Samples = {}
    pb2_dir = Path(tempfile.mkdtemp(prefix="mxgw-bench-pb2-"))
    try:
        run.generate_pb2(pb2_dir)
        with run.servers(pb2_dir, False) as (neutral, _, _):
            run_rounds(stacks, rounds, calls, events, modes, neutral, pb2_dir, samples)
    finally:
        shutil.rmtree(pb2_dir, ignore_errors=True)
    return samples, list(modes)


def run_rounds(stacks: Sequence[str], rounds: int, calls: int, events: int,
               modes: dict[str, tuple[set[int] | None, set[int] | None]], neutral: Any,
               pb2_dir: Path, samples: Samples) -> None:
    """Each stack once per round and mode, its results into `samples`; the order rotates."""
    import run

    for r in range(rounds):
        for mode, (server_cpus, client_cpus) in modes.items():
            run.pin(neutral.pid, server_cpus)
            for stack in [*stacks[r % len(stacks):], *stacks[:r % len(stacks)]]:
                spec = {"stack": stack, "endpoint": f"127.0.0.1:{int(neutral.hello)}",
                        "key": run.KEY, "pb2_dir": str(pb2_dir), "session": "bench",
                        "server": 1, "item": 7, "server_pid": neutral.pid,
                        "sample": stack != "grpcio", "workloads": workloads(calls, events)}
                samples.setdefault((mode, stack), []).append(run.run_client(spec, client_cpus))
            print(f"  round {r + 1}/{rounds} {mode} done (load {os.getloadavg()[0]:.2f})",
                  file=sys.stderr, flush=True)


def per_op(result: dict[str, Any], scale: float) -> float:
    return float(result["cpu"]) / float(result["ops"]) * scale


def cpu_table(samples: Samples, stacks: Sequence[str], modes: Sequence[str]) -> list[str]:
    lines = [f"| client CPU per operation | {' | '.join(COLUMNS[s] for s in stacks)} |",
             f"|---|{'---|' * len(stacks)}"]
    for mode in modes:
        for label, name, unit, scale in ROWS:
            cells = []
            base = (statistics.median(per_op(r[label], scale)
                                      for r in samples[(mode, "grpcio")])
                    if "grpcio" in stacks else None)
            for stack in stacks:
                value = statistics.median(per_op(r[label], scale)
                                          for r in samples[(mode, stack)])
                digits = 1 if value < 100 else 0
                ratio = "" if stack == "grpcio" or base is None else f" ({value / base:.2f}x)"
                cells.append(f"{value:,.{digits}f} {unit}{ratio}")
            lines.append(f"| {name}, {mode} | {' | '.join(cells)} |")
    return lines


def layer_table(samples: Samples, stack: str, mode: str) -> list[str]:
    """Where `stack`'s CPU per operation goes: sampled user time split by layer (samples
    pooled over the rounds), kernel time from rusage."""
    from layers import LAYERS

    columns = [(label, unit, scale) for label, _, unit, scale in ROWS]
    split: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    for label, _, scale in columns:
        pooled: dict[str, int] = {}
        utime = stime = ops = 0.0
        for result in samples[(mode, stack)]:
            layers = result[label]["layers"]
            for layer, count in layers["samples"].items():
                pooled[layer] = pooled.get(layer, 0) + count
            utime += layers["utime"]
            stime += layers["stime"]
            ops += result[label]["ops"]
        total = sum(pooled.values()) or 1
        counts[label] = total
        split[label] = {layer: pooled.get(layer, 0) / total * utime / ops * scale
                        for layer in LAYERS}
        split[label]["kernel"] = stime / ops * scale
    heads = [f"{label} ({unit}, {counts[label]:,} samples)" for label, unit, _ in columns]
    lines = [f"| {COLUMNS[stack]}, {mode} | {' | '.join(heads)} |",
             f"|---|{'---|' * len(columns)}"]
    for layer in (*LAYERS, "kernel"):
        values = [split[label][layer] for label, _, _ in columns]
        if not any(values):
            continue
        cells = []
        for (label, _, _), value in zip(columns, values, strict=True):
            share = value / (sum(split[label].values()) or 1.0) * 100
            digits = 1 if value < 100 else 0
            cells.append(f"{value:,.{digits}f} ({share:.0f}%)")
        lines.append(f"| {layer} | {' | '.join(cells)} |")
    sums = [sum(split[label].values()) for label, _, _ in columns]
    lines.append(f"| total | {' | '.join(f'{v:,.1f}' for v in sums)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument("--calls", type=int, default=3000,
                        help="unary calls per measurement at 1 in flight (twice at 16)")
    parser.add_argument("--events", type=int, default=100_000,
                        help="events per measurement")
    parser.add_argument("--no-pinned", action="store_true", help="unpinned runs only")
    parser.add_argument("--stacks", default=",".join(STACKS),
                        help=f"clients to run, comma-separated (default {','.join(STACKS)})")
    args = parser.parse_args()
    stacks = [s for s in args.stacks.split(",") if s]
    if unknown := set(stacks) - set(STACKS):
        parser.error(f"unknown stacks: {', '.join(sorted(unknown))}")
    started, load = time.perf_counter(), os.getloadavg()[0]
    samples, modes = measure(stacks, args.rounds, args.calls, args.events, not args.no_pinned)
    print(f"Client CPU per operation against the neutral server (bench/h2serve.py), medians "
          f"of {args.rounds} interleaved rounds, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores; ratio to grpcio in brackets. Load average (1 min) "
          f"{load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
          f"{time.perf_counter() - started:.0f} s in all.\n")
    print("\n".join(cpu_table(samples, stacks, modes)))
    for stack in [s for s in stacks if s != "grpcio"]:
        for mode in modes:
            print(f"\nWhere {COLUMNS[stack]}'s CPU goes ({mode}): µs (ms for bulk) per "
                  f"operation, share in brackets; user time sampled by layer, kernel from "
                  f"rusage (bench/layers.py).\n")
            print("\n".join(layer_table(samples, stack, mode)))


if __name__ == "__main__":
    main()
