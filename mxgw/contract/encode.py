"""Encoding the generated messages: the bytes of `bytes(message)`, faster.

Field order, default skipping, packing, wrapped types and unknown fields as betterproto2
writes them, from one plan per class read from the generated code's metadata. Each class
gets a straight-line writer compiled from its plan on first use (`_compile`): 1.6x faster
than one loop over the plan on a 10,000-entry WriteBulk, 1.7-2x on a single write request.
A datetime goes straight to its Timestamp bytes (`timestamp`), without the Timestamp
message betterproto2 builds for it (an event carries three).
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._proto.google.protobuf import Timestamp
from .fields import VARINT_TYPES, FieldSpec, fields, unknown_of

_FIXED = {"double": (1, struct.Struct("<d")), "float": (5, struct.Struct("<f"))}


@dataclass(frozen=True)
class _Write:
    spec: FieldSpec
    kind: str
    key: bytes
    """The field's tag (number and wire type; length-delimited for packed lists)."""
    packer: struct.Struct | None = None


def _kind(spec: FieldSpec) -> str | None:
    proto_type = spec.proto_type
    if proto_type in VARINT_TYPES:
        return "v"
    if proto_type in _FIXED:
        return "x"
    if proto_type == "string":
        return "s"
    if proto_type == "bytes":
        return "b"
    if proto_type == "message":
        if spec.wrapped:
            return "t" if spec.target is Timestamp else "w"
        return "m"
    return None  # maps, zig-zag and fixed-width integers: the generated code handles them


_WRITE_PLANS: dict[type[Any], list[_Write] | None] = {}


def _write_plan(cls: type[Any]) -> list[_Write] | None:
    if cls in _WRITE_PLANS:
        return _WRITE_PLANS[cls]
    plan: list[_Write] | None = []
    for spec in fields(cls):
        kind = _kind(spec)
        if kind is None:
            plan = None
            break
        assert plan is not None
        if kind in ("v", "x"):
            wire = 2 if spec.repeated else (0 if kind == "v" else _FIXED[spec.proto_type][0])
        else:
            wire = 2
        packer = _FIXED[spec.proto_type][1] if kind == "x" else None
        plan.append(_Write(spec, kind, varint(spec.number << 3 | wire), packer))
    _WRITE_PLANS[cls] = plan
    return plan


@functools.lru_cache(maxsize=256)
def _negative(value: int) -> bytes:
    """Ten bytes, the same few values (success -1, the usual HRESULTs): computed once."""
    return _varint(value + (1 << 64))


def _varint(value: int) -> bytes:
    if value < 0:
        return _negative(value)
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


_ONE_BYTE = [bytes((value,)) for value in range(0x80)]


def varint(value: int) -> bytes:
    """A protobuf varint (a negative value as its 64-bit two's complement)."""
    if 0 <= value < 0x80:  # most lengths, enum values and small handles
        return _ONE_BYTE[value]
    if 0 < value < 0x4000:
        return bytes((value & 0x7F | 0x80, value >> 7))
    if 0 < value < 0x8_0000_0000:  # up to five bytes: a timestamp's seconds and nanos
        if value < 0x20_0000:
            return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14))
        if value < 0x1000_0000:
            return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80,
                          value >> 14 & 0x7F | 0x80, value >> 21))
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14 & 0x7F | 0x80,
                      value >> 21 & 0x7F | 0x80, value >> 28))
    return _varint(value)


_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)


def timestamp(value: dt.datetime) -> bytes:
    """The body of the `google.protobuf.Timestamp` a datetime travels as: the bytes of
    `bytes(Timestamp.from_datetime(value))`, without building the message."""
    global _last_timestamp
    last = _last_timestamp
    if value is last[0]:  # an event's worker and receive times are one object
        return last[1]
    if not value.tzinfo:
        raise ValueError("datetime must be timezone aware")
    utc = value if value.tzinfo is _UTC else value.astimezone(_UTC)
    offset = utc - _EPOCH
    seconds, micros = divmod((offset.days * 86_400 + offset.seconds) * 1_000_000
                             + offset.microseconds, 1_000_000)
    if not micros:
        data = b"\x08" + varint(seconds) if seconds else b""
    else:
        nanos = b"\x10" + varint(micros * 1000)
        data = b"\x08" + varint(seconds) + nanos if seconds else nanos
    _last_timestamp = (value, data)  # held, so no other datetime can take its identity
    return data


_last_timestamp: tuple[Any, bytes] = (None, b"")
"""The datetime encoded last (held, so its identity is not reused) and its bytes."""


Writer = Callable[[Any, bytearray], None]
"""Appends the encoding of one message of a given class to a buffer."""
_WRITERS: dict[type[Any], Writer] = {}


def _writer(cls: type[Any]) -> Writer:
    """The writer of `cls`, compiled on first use."""
    writer = _WRITERS.get(cls)
    if writer is None:
        plan = _write_plan(cls)
        writer = _fallback if plan is None else _compile(cls, plan)
        _WRITERS[cls] = writer
    return writer


def _fallback(message: Any, out: bytearray) -> None:
    out += bytes(message)  # maps, zig-zag, fixed-width integers: the generated code


def _write(message: Any, out: bytearray) -> None:
    _writer(type(message))(message, out)


def _skip_test(spec: FieldSpec, default_name: str) -> str:
    """The condition under which field `v` is written: `v is not None and v != default`,
    as betterproto2 decides, in its cheapest equivalent form for the field's default."""
    default = spec.default
    if default is None:
        return "v is not None"  # messages, oneof arms, optional fields
    if spec.repeated or (not default and isinstance(default, (int, float, str, bytes))):
        return "v"  # None and the default are the only falsy values of such a field
    return f"v is not None and v != {default_name}"


def _compile(cls: type[Any], plan: list[_Write]) -> Writer:
    """A straight-line writer for one class: each field's test and encoding written out
    (no per-field loop, unpacking or dispatch), generated from the class's metadata.
    Field order, default skipping and packing are betterproto2's; unknown fields last."""
    env: dict[str, Any] = {"varint": varint, "ONE": _ONE_BYTE, "writer": _writer,
                           "timestamp": timestamp,
                           "WRITERS": _WRITERS, "unknown_of": unknown_of}
    lines = ["def write(message, out):", "    d = message.__dict__"]
    for i, w in enumerate(plan):
        spec, kind = w.spec, w.kind
        key, default, extra = f"K{i}", f"D{i}", f"X{i}"
        env[key], env[default] = w.key, spec.default
        env[extra] = w.packer if kind == "x" else spec.target
        lines += [f"    v = d[{spec.name!r}]", f"    if {_skip_test(spec, default)}:"]
        body: list[str]
        if spec.repeated and kind in ("v", "x"):
            element = "varint(int(e))" if kind == "v" else f"{extra}.pack(e)"
            body = [f"p = b''.join([{element} for e in v])", f"out += {key}",
                    "out += varint(len(p))", "out += p"]
        elif spec.repeated:
            body = ["for e in v:", *[f"    {line}" for line in _one(kind, key, extra, "e")]]
        elif kind == "v":
            body = [f"out += {key}", "v = int(v)",
                    "if 0 <= v < 0x80:", "    out += ONE[v]", "else:", "    out += varint(v)"]
        else:
            body = _one(kind, key, extra, "v")
        lines += [f"        {line}" for line in body]
    lines += ["    u = unknown_of(message)", "    if u:", "        out += u"]
    exec(compile("\n".join(lines), f"<mxgw encoder of {cls.__qualname__}>", "exec"), env)
    writer: Writer = env["write"]
    return writer


def _one(kind: str, key: str, extra: str, value: str) -> list[str]:
    """The lines that write one value that is not a varint."""
    if kind == "x":
        return [f"out += {key}", f"out += {extra}.pack({value})"]
    if kind == "s":
        data = f"{value}.encode('utf-8')"
    elif kind == "b":
        data = value
    elif kind == "t":
        return [f"out += {key}", f"b = timestamp({value})", *_LENGTH, "out += b"]
    else:
        unwrapped = f"{extra}.from_wrapped({value})" if kind == "w" else value
        target = f"{extra}" if kind == "w" else f"type({value})"
        return [f"out += {key}", "b = bytearray()",
                f"(WRITERS.get({target}) or writer({target}))({unwrapped}, b)",
                *_LENGTH, "out += b"]
    return [f"out += {key}", f"b = {data}", *_LENGTH, "out += b"]


_LENGTH = ["n = len(b)", "out += ONE[n] if n < 0x80 else varint(n)"]
"""The lines that write the length of `b` (most are one byte: no call for those)."""


def encode(message: Any) -> bytes:
    """`bytes(message)`, faster."""
    out = bytearray()
    _write(message, out)
    return bytes(out)


class Encoded:
    """A message already encoded: `encode` writes its bytes as they are, wherever it
    stands (a bulk request's payload, put together from entries encoded one by one)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def _write_encoded(message: Any, out: bytearray) -> None:
    out += message.data


_WRITERS[Encoded] = _write_encoded


def field_encoder(cls: type[Any], name: str) -> Callable[[Any], bytes] | None:
    """The bytes of field `name` of `cls` holding a value (tag and value), as the class's
    writer writes them, for a singular varint, fixed-width, string or bytes field; None for
    any other. Written even when the value is the default (as a oneof arm is)."""
    plan = _write_plan(cls) or []
    found = next((w for w in plan if w.spec.name == name and not w.spec.repeated), None)
    if found is None:
        return None
    key = found.key
    if found.kind == "v":
        return lambda value: key + varint(int(value))
    if found.kind == "x":
        assert found.packer is not None
        pack = found.packer.pack
        return lambda value: key + pack(value)
    if found.kind == "s":
        def string(value: str) -> bytes:
            data = value.encode("utf-8")
            return key + varint(len(data)) + data
        return string
    if found.kind == "b":
        return lambda value: key + varint(len(value)) + value
    return None
