"""HTTP/2 and gRPC framing by hand, shared by the bench's neutral server and the floor
client: frame types and flags, a frame, an HPACK integer and literal, a gRPC message."""

from __future__ import annotations

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20
MAX_WINDOW = 2**31 - 1


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return (len(payload).to_bytes(3, "big") + bytes((kind, flags))
            + stream_id.to_bytes(4, "big") + payload)


def hpack_int(value: int, prefix_bits: int, first: int) -> bytes:
    """An HPACK integer (RFC 7541 5.1) with `first`'s high bits in its first byte."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = [first | limit]
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal(name: bytes, value: bytes, never_indexed: bool = False) -> bytes:
    """A header as an HPACK literal without indexing (or never indexed), new name, no
    Huffman: it leaves the peer's dynamic table alone, so a block can be built once."""
    return (bytes((0x10 if never_indexed else 0x00,)) + hpack_int(len(name), 7, 0) + name
            + hpack_int(len(value), 7, 0) + value)


def grpc_message(data: bytes) -> bytes:
    """A gRPC length-prefixed message, not compressed."""
    return b"\x00" + len(data).to_bytes(4, "big") + data
