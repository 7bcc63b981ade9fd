"""The HTTP/2 data path under grpclib, made leaner for the client and the simulator alike.

grpclib writes each HTTP/2 frame group to the socket as soon as h2 produces it, and h2
HPACK-encodes every header of every call afresh. `LeanH2Protocol`, a subclass of
grpclib's protocol, changes three things on each connection it makes:

- `CoalescingTransport`: the writes of one pass of the event loop leave in one `send`
  (a unary call's HEADERS and DATA, a reply's HEADERS, DATA and trailers, the calls of
  16 tasks at once), instead of one system call per frame group;
- `CachedHeaderEncoder`: the bytes of each header field are reused while HPACK's
  dynamic table is unchanged (constant fields are indexed once, the per-call
  `grpc-timeout` is a literal that does not change the table), instead of encoding nine
  headers every call; `authorization` and the other sensitive names go out
  never-indexed by name, so h2's header normalisation (on only to mark them) stays off;
- `CachedHeaderDecoder`: a header block seen before while the dynamic table is unchanged
  (a reply's headers and trailers, a request's headers) is not decoded again.

This module imports nothing of ours: the client and the simulator both use it.
docs/upstream-patches.md says what grpclib and h2 could do instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import hpack
from grpclib.protocol import H2Protocol
from h2.connection import H2Connection
from hpack.hpack import encode_integer
from hpack.table import HeaderTable

SENSITIVE_NAMES = frozenset({b"authorization", b"proxy-authorization", b"cookie",
                             b"set-cookie"})
"""Header fields sent never-indexed (RFC 7541 7.1.3): kept out of every compression
table on the way, and shown redacted by hpack's and our log filter."""
LITERAL_NAMES = frozenset({b"grpc-timeout", b"grpc-message"})
"""Fields whose value changes from call to call: literals without indexing, so that they
never change the dynamic table."""
UNCACHED_NAMES = frozenset({b"grpc-message"})
"""Literal fields encoded each time, not cached: error texts seldom repeat (a
`grpc-timeout` does: grpclib sends a deadline over 10 s in whole seconds)."""
MAX_CACHED_FIELDS = 256
"""A bound on the caches of encoded fields and of decoded blocks (a peer's varied
metadata must not grow them)."""
FLUSH_AT = 64 * 1024
"""Bytes held back at most before they are written at once: above it the socket's own
write buffer (and its pause_writing backpressure) takes them straight away."""

_NEVER_INDEXED = 0x10
_WITHOUT_INDEXING = 0x00


def _to_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _key(header: Any) -> tuple[Any, ...]:
    """A field's cache key: its name, value and whether it is asked to be never-indexed
    (a NeverIndexedHeaderTuple, or hpack's 3-tuple with its flag set)."""
    marked = not getattr(header, "indexable", True) or (len(header) > 2 and bool(header[2]))
    return (header[0], header[1], marked)


class CachedHeaderEncoder(hpack.Encoder):
    """An HPACK encoder that reuses the bytes of each header field while the dynamic
    table is unchanged.

    A field is added to the dynamic table the first time it is sent (as hpack does), and
    is one index from then on: those index bytes are cached, and stay valid until the
    table changes (a new entry, or a size update the peer's SETTINGS asked for). The
    fields that change from call to call (`grpc-timeout`) are literals without indexing,
    so they never change the table: after the first calls of each method, nothing does,
    and a block is a join of cached bytes. The sensitive names go out never-indexed.
    """

    def __init__(self) -> None:
        super().__init__()
        self._fields: dict[tuple[Any, ...], bytes] = {}
        """Encoded fields, valid while the dynamic table is unchanged."""
        self._heads: dict[tuple[bytes, bool], bytes] = {}
        """The representation and name of a literal field that is not indexed: these
        depend on the static table only."""

    def encode(self, headers: Iterable[Any], huffman: bool = True) -> bytes:
        parts = []
        if self.header_table.resized:
            # hpack's encoder emits the pending size update (and nothing else, for no
            # headers); entries may have been evicted, so no cached index holds.
            parts.append(super().encode([]))
            self._fields.clear()
        fields = self._fields
        for header in headers:
            # h2 hands plain (name, value) tuples on (`utf8_encode_headers`): their own key
            key = header if type(header) is tuple and len(header) == 2 else _key(header)
            field = fields.get(key)
            if field is None:
                field = self._field(key, huffman)
            parts.append(field)
        return b"".join(parts)

    def _field(self, key: tuple[Any, ...], huffman: bool) -> bytes:
        """The bytes of the field `key` (`_key`, or a plain (name, value) tuple) stands
        for, cached when they can be."""
        name, value = _to_bytes(key[0]), _to_bytes(key[1])
        sensitive = name in SENSITIVE_NAMES or (len(key) > 2 and bool(key[2]))
        if sensitive or name in LITERAL_NAMES:
            field = self._head(name, sensitive) + self._string(value, huffman)
            if name not in UNCACHED_NAMES:
                self._cache(key, field)
            return field
        match = self.header_table.search(name, value)
        if match is not None and match[2] is not None:
            indexed = encode_integer(match[0], 7)
            indexed[0] |= 0x80
            self._cache(key, bytes(indexed))
            return bytes(indexed)
        # A literal with incremental indexing: from now on it is an index, and every
        # index of the dynamic table moves by one, so no cached field holds.
        if match is not None:
            prefix = encode_integer(match[0], 6)
            prefix[0] |= 0x40
            head = bytes(prefix)
        else:
            head = b"\x40" + self._string(name, huffman)
        self.header_table.add(name, value)
        self._fields.clear()
        return head + self._string(value, huffman)

    def _cache(self, key: tuple[Any, ...], field: bytes) -> None:
        if len(self._fields) >= MAX_CACHED_FIELDS:
            self._fields.clear()
        self._fields[key] = field

    def _head(self, name: bytes, sensitive: bool) -> bytes:
        """A literal field's representation byte(s) and name, never indexing."""
        head = self._heads.get((name, sensitive))
        if head is None:
            static = HeaderTable.STATIC_TABLE_MAPPING.get(name)
            flag = _NEVER_INDEXED if sensitive else _WITHOUT_INDEXING
            if static is not None:
                prefix = encode_integer(static[0], 4)
                prefix[0] |= flag
                head = bytes(prefix)
            else:
                head = bytes([flag]) + self._string(name, True)
            if len(self._heads) >= MAX_CACHED_FIELDS:
                self._heads.clear()
            self._heads[(name, sensitive)] = head
        return head

    def _string(self, data: bytes, huffman: bool) -> bytes:
        if huffman:
            coded = self.huffman_coder.encode(data)
            if len(coded) < len(data):
                length = encode_integer(len(coded), 7)
                length[0] |= 0x80
                return bytes(length) + coded
        return bytes(encode_integer(len(data), 7)) + data


class CachedHeaderDecoder(hpack.Decoder):
    """An HPACK decoder that reuses the decoded fields of a header block it has seen
    while its dynamic table is unchanged.

    A block that leaves the table as it was (indexes and literals without indexing: a
    gRPC reply's headers and trailers after the first ones) decodes to the same fields
    every time: they are kept by the block's bytes. The cache is emptied whenever the
    table (or a limit a block is checked against) is not what it was.
    """

    def __init__(self) -> None:
        super().__init__()
        self._blocks: dict[tuple[bytes, bool], tuple[Any, ...]] = {}
        self._state: tuple[Any, ...] = ()
        """The table and limits the cached blocks were decoded under."""

    def _now(self) -> tuple[Any, ...]:
        entries = self.header_table.dynamic_entries
        # A new entry goes in first, a tuple of its own: the same first object and
        # length mean no entry came or went. By identity (`id`; the object is held in
        # the state too, so no other one takes its address): an entry evicted and added
        # again equals the one it replaced while the entries behind it may differ.
        first = entries[0] if entries else None
        return (len(entries), id(first), first, self.header_table_size,
                self.max_allowed_table_size, self.max_header_list_size)

    def decode(self, data: bytes, raw: bool = False) -> Any:
        block = data if type(data) is bytes else bytes(data)
        state = self._now()
        if state != self._state:
            self._blocks.clear()
            self._state = state
        key = (block, raw)
        fields = self._blocks.get(key)
        if fields is not None:
            return list(fields)
        headers = super().decode(block, raw)
        if self._now() == state:
            if len(self._blocks) >= MAX_CACHED_FIELDS:
                self._blocks.clear()
            self._blocks[key] = tuple(headers)
        return headers


class CoalescingTransport(asyncio.Transport):
    """A transport whose writes made in one pass of the event loop leave in one write of
    the transport beneath, at the end of that pass (or at once past FLUSH_AT bytes).

    Everything else goes straight to the transport beneath. `close` writes what is held
    first, `abort` drops it, as the transport beneath does with its own buffer.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._held: list[bytes] = []
        self._held_size = 0
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._held_size += len(data)
        if self._held_size >= FLUSH_AT:
            self.flush()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Write what is held now."""
        if not self._held:
            return
        held, self._held, self._held_size = self._held, [], 0
        if not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held, self._held_size = [], 0
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        return self._held_size + self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


def h2_connection_of(protocol: H2Protocol) -> H2Connection:
    """The h2 connection of a connected grpclib protocol: grpclib keeps it as
    `Connection._connection` and has no public way to reach it (grpclib is pinned to
    0.4.x; tests/client/test_datapath.py fails when this changes shape)."""
    h2: H2Connection = protocol.connection._connection
    return h2


class LeanH2Protocol(H2Protocol):
    """grpclib's HTTP/2 protocol with coalesced writes and cached header fields."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        super().connection_made(CoalescingTransport(transport))
        self.h2 = h2_connection_of(self)
        """The connection's h2 state machine (subclasses send pings through it)."""
        # Before any header block: grpclib's connection_made sends only SETTINGS.
        self.h2.encoder = CachedHeaderEncoder()
        decoder, self.h2.decoder = self.h2.decoder, CachedHeaderDecoder()
        self.h2.decoder.max_header_list_size = decoder.max_header_list_size
        self.h2.decoder.max_allowed_table_size = decoder.max_allowed_table_size
