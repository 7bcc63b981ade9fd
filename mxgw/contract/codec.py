"""The one protobuf codec of the generated messages: parse, encode and protobuf-JSON.

betterproto2's own code spends tens of microseconds per small message (and resolves
type hints again on every `to_dict`), which dominates a bulk reply of thousands of
results or a busy event stream. Here each generated class gets one field plan, read once
from the metadata the generated code declares (so a regenerated contract needs no change
here), and three tight loops use it:

- `parse(cls, data)`: the same message as `cls.parse(data)`, keeping the fields this
  contract does not know (or knows with another wire type), so that `bytes(message)`
  gives back the bytes received. Our protos are reconstructed: unknown fields from a
  real gateway are the normal case. When two arms of a oneof arrive only the last is
  kept, as protobuf requires (betterproto2 keeps both). Anything that is not valid
  protobuf (truncation, a bad length, invalid UTF-8, nesting past MAX_DEPTH, a
  timestamp out of range) is one MalformedMessageError with the byte offset.
- `encode(message)`: the bytes of `bytes(message)` (field order, default skipping,
  packing, wrapped types and unknown fields as betterproto2 writes them).
- `to_json(message)`: `message.to_dict(include_default_values=True)` with unset
  messages, oneof arms and proto3-optional scalars left out (lowerCamelCase names, full
  enum names, 64-bit integers as strings, bytes as base64, Timestamp/Duration as
  RFC 3339 / `1.5s`).

Only `_betterproto_fields`, `_keep_unknown` and `_unknown_of` touch betterproto2's
private state.
"""

from __future__ import annotations

import base64
import math
import struct
import warnings
from dataclasses import dataclass
from typing import Any, TypeVar

import betterproto2

from ..errors import MalformedMessageError

MessageT = TypeVar("MessageT", bound=betterproto2.Message)

VARINT_TYPES = frozenset({"int32", "int64", "uint32", "uint64", "bool", "enum"})
INT64_TYPES = frozenset({"int64", "uint64", "sint64", "fixed64", "sfixed64"})
_FIXED = {"double": (1, struct.Struct("<d")), "float": (5, struct.Struct("<f"))}


@dataclass(frozen=True)
class FieldSpec:
    """What the generated code declares about one field of a message class."""

    name: str
    number: int
    proto_type: str
    repeated: bool
    optional: bool
    group: str | None
    """The oneof the field belongs to, if any."""
    target: Any
    """The enum class, the message class (for a wrapped type: the wire class, such as
    Timestamp), or None."""
    wrapped: bool
    """The Python value is the unwrapped form (datetime, timedelta, bool...)."""
    default: Any
    """The value of an unset field."""


# ---------------------------------------------------------------------- betterproto2 internals

def _betterproto_fields(cls: type[Any]) -> list[FieldSpec]:
    """The fields of a generated class, in declaration order.

    The one place that reads betterproto2's private class metadata (`_betterproto`): it
    holds the resolved field classes, which the public `dataclasses.fields` metadata
    does not. betterproto2 is pinned to one minor version; tests/contract/test_codec.py
    fails if this metadata changes shape.
    """
    meta = cls._betterproto
    specs = []
    for name, field in meta.meta_by_field_name.items():
        with warnings.catch_warnings():  # deprecated fields warn when their default is made
            warnings.simplefilter("ignore", DeprecationWarning)
            default = meta.default_gen[name]()
        wrapped = field.proto_type == "message" and field.unwrap is not None
        if wrapped:
            target = field.unwrap()
        elif field.proto_type in ("message", "enum"):
            target = meta.cls_by_field[name]
        else:
            target = None
        specs.append(FieldSpec(name, field.number, field.proto_type, bool(field.repeated),
                               bool(field.optional), field.group, target, wrapped, default))
    return specs


def _keep_unknown(message: Any, raw: bytes) -> None:
    """Attach the bytes of fields this contract does not know, as betterproto2's own parser
    does (`bytes(message)` writes them back after the known fields)."""
    message._unknown_fields = raw


def _unknown_of(message: Any) -> bytes:
    """The bytes of the fields of `message` this contract does not know."""
    return message._unknown_fields  # type: ignore[no-any-return]


_FIELDS: dict[type[Any], list[FieldSpec]] = {}


def fields(cls: type[Any]) -> list[FieldSpec]:
    """The fields of a generated message class, in declaration order (cached)."""
    specs = _FIELDS.get(cls)
    if specs is None:
        specs = _FIELDS[cls] = _betterproto_fields(cls)
    return specs


def oneof_arms(cls: type[Any], group: str) -> list[FieldSpec]:
    """The fields of one oneof of a generated class, in declaration order."""
    return [spec for spec in fields(cls) if spec.group == group]


# ---------------------------------------------------------------------- plans

@dataclass(frozen=True)
class _Read:
    spec: FieldSpec
    kind: str
    """`v` varint, `x` fixed, `s` string, `b` bytes, `m` message, `w` wrapped message."""
    fixed: tuple[int, struct.Struct] | None = None


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
        return "w" if spec.wrapped else "m"
    return None  # maps, zig-zag and fixed-width integers: the generated code handles them


_READ_PLANS: dict[type[Any], dict[int, _Read] | None] = {}
_WRITE_PLANS: dict[type[Any], list[_Write] | None] = {}


def _read_plan(cls: type[Any]) -> dict[int, _Read] | None:
    if cls in _READ_PLANS:
        return _READ_PLANS[cls]
    plan: dict[int, _Read] | None = {}
    for spec in fields(cls):
        kind = _kind(spec)
        if kind is None:
            plan = None
            break
        assert plan is not None
        plan[spec.number] = _Read(spec, kind, _FIXED.get(spec.proto_type))
    _READ_PLANS[cls] = plan
    return plan


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


# ---------------------------------------------------------------------- parse

MAX_DEPTH = 100
"""Nesting depth beyond which a message is refused (protobuf's own default limit)."""

_WIRE_TYPES = {"v": (0,), "s": (2,), "b": (2,), "m": (2,), "w": (2,)}


class _Malformed(Exception):
    """Where and why decoding stopped (turned into MalformedMessageError by `parse`)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    end = len(data)
    if pos >= end:
        raise _Malformed(pos, "truncated varint")
    byte = data[pos]
    if byte < 0x80:
        return byte, pos + 1
    start, result, shift = pos, byte & 0x7F, 7
    while True:
        pos += 1
        if pos >= end:
            raise _Malformed(start, "truncated varint")
        byte = data[pos]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos + 1
        shift += 7
        if shift > 63:
            raise _Malformed(start, "varint longer than 10 bytes")


def _convert(spec: FieldSpec, raw: int) -> Any:
    proto_type = spec.proto_type
    if proto_type == "bool":
        return raw > 0
    if proto_type in ("int32", "int64", "enum"):
        bits = 32 if proto_type == "int32" else 64
        raw &= (1 << bits) - 1
        value = raw - (1 << bits) if raw >> (bits - 1) else raw
        return spec.target(value) if proto_type == "enum" else value
    return raw & ((1 << (32 if proto_type == "uint32" else 64)) - 1)


def _skip(data: bytes, pos: int, wire_type: int) -> int:
    """The end of a field's value (of any wire type but groups)."""
    if wire_type == 0:
        return _varint(data, pos)[1]
    if wire_type == 1:
        stop = pos + 8
    elif wire_type == 2:
        length, pos = _varint(data, pos)
        stop = pos + length
    elif wire_type == 5:
        stop = pos + 4
    else:
        raise _Malformed(pos, f"wire type {wire_type}")
    if stop > len(data):
        raise _Malformed(pos, "field runs past the end of the message")
    return stop


def _packed(read: _Read, chunk: bytes, base: int) -> list[Any]:
    if read.fixed is not None:
        unpack = read.fixed[1]
        size = unpack.size
        if len(chunk) % size:
            raise _Malformed(base, f"packed {read.spec.proto_type}s of {len(chunk)} bytes")
        return [unpack.unpack_from(chunk, i)[0] for i in range(0, len(chunk), size)]
    values: list[Any] = []
    pos = 0
    try:
        while pos < len(chunk):
            raw, pos = _varint(chunk, pos)
            values.append(_convert(read.spec, raw))
    except _Malformed as exc:
        raise _Malformed(base + exc.offset, exc.reason) from None
    return values


def _matches(read: _Read, wire_type: int) -> bool:
    if read.kind == "x":
        assert read.fixed is not None
        return wire_type == read.fixed[0] or (wire_type == 2 and read.spec.repeated)
    if read.kind == "v":
        return wire_type == 0 or (wire_type == 2 and read.spec.repeated)
    return wire_type in _WIRE_TYPES[read.kind]


def _nested(cls: type[Any], data: bytes, base: int, depth: int) -> Any:
    try:
        return _message(cls, data, depth + 1)
    except _Malformed as exc:
        raise _Malformed(base + exc.offset, exc.reason) from None


def _message(cls: type[Any], data: bytes, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise _Malformed(0, f"messages nested more than {MAX_DEPTH} deep")
    plan = _read_plan(cls)
    if plan is None:  # a class the fast path does not read (none in this contract today)
        try:
            return cls.parse(data)
        except Exception as exc:  # the generated parser's failures, whatever their type
            raise _Malformed(-1, f"{type(exc).__name__}: {exc}") from None
    values: dict[str, Any] = {}
    groups: dict[str, str] = {}
    merged: dict[str, bytes] = {}
    unknown: bytearray | None = None
    pos, end = 0, len(data)
    while pos < end:
        start = pos
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise _Malformed(start, "field number 0")
        if wire_type not in (0, 1, 2, 5):
            raise _Malformed(start, f"wire type {wire_type}: not proto3 (groups, types 6 "
                                    "and 7)")
        read = plan.get(number)
        if read is None or not _matches(read, wire_type):
            # A field this contract does not know, or knows with another type (our numbers
            # are reconstructed): kept as it came, as Google's runtime keeps it.
            pos = _skip(data, pos, wire_type)
            if unknown is None:
                unknown = bytearray()
            unknown += data[start:pos]
            continue
        spec, kind = read.spec, read.kind
        if wire_type == 2:
            length, pos = _varint(data, pos)
            stop = pos + length
            if stop > end:
                raise _Malformed(pos, f"{spec.name}: {length} bytes announced, "
                                      f"{end - pos} left")
            chunk = data[pos:stop]
            if kind == "s":
                try:
                    value: Any = chunk.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise _Malformed(pos + exc.start, f"{spec.name}: not UTF-8") from None
            elif kind == "b":
                value = chunk
            elif kind == "m":
                if not spec.repeated and spec.name in values:
                    # A singular message seen again merges into the first: protobuf's
                    # merge is the parse of both encodings, one after the other.
                    chunk = merged.get(spec.name, b"") + chunk
                if not spec.repeated:
                    merged[spec.name] = chunk
                value = _nested(spec.target, chunk, pos, depth)
            elif kind == "w":
                wrapper = _nested(spec.target, chunk, pos, depth)
                try:
                    value = wrapper.to_wrapped()
                except (ValueError, OverflowError, ArithmeticError) as exc:
                    raise _Malformed(pos, f"{spec.name}: {exc}") from None
            else:  # packed repeated scalars
                values.setdefault(spec.name, []).extend(_packed(read, chunk, pos))
                pos = stop
                continue
            pos = stop
        elif kind == "v":
            raw, pos = _varint(data, pos)
            value = _convert(spec, raw)
        else:
            assert read.fixed is not None
            unpack = read.fixed[1]
            stop = pos + unpack.size
            if stop > end:
                raise _Malformed(pos, f"{spec.name}: truncated")
            value = unpack.unpack_from(data, pos)[0]
            pos = stop
        if spec.repeated:
            values.setdefault(spec.name, []).append(value)
            continue
        if spec.group is not None:
            previous = groups.get(spec.group)
            if previous is not None and previous != spec.name:
                del values[previous]  # the last arm of a oneof wins
            groups[spec.group] = spec.name
        values[spec.name] = value
    message = cls(**values)
    if unknown:
        _keep_unknown(message, bytes(unknown))
    return message


def parse(cls: type[MessageT], data: bytes) -> MessageT:
    """`cls.parse(data)`, faster and strict: MalformedMessageError (with the offset where
    decoding stopped) for anything that is not valid protobuf of `cls`."""
    try:
        result: MessageT = _message(cls, data)
    except _Malformed as exc:
        raise MalformedMessageError(cls.__name__, exc.offset, exc.reason) from None
    return result


# ---------------------------------------------------------------------- encode

def varint(value: int) -> bytes:
    """A protobuf varint (a negative value as its 64-bit two's complement)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _scalar(write: _Write, value: Any) -> bytes:
    if write.packer is None:
        return varint(int(value))
    return write.packer.pack(value)


def _write(message: Any, out: bytearray) -> None:
    plan = _write_plan(type(message))
    if plan is None:
        out += bytes(message)
        return
    for write in plan:
        spec = write.spec
        value = getattr(message, spec.name)
        if value is None or value == spec.default:
            continue
        kind = write.kind
        if spec.repeated and kind in ("v", "x"):
            packed = b"".join([_scalar(write, item) for item in value])
            out += write.key
            out += varint(len(packed))
            out += packed
            continue
        for item in (value if spec.repeated else (value,)):
            out += write.key
            if kind in ("v", "x"):
                out += _scalar(write, item)
                continue
            if kind == "s":
                data: bytes | bytearray = item.encode("utf-8")
            elif kind == "b":
                data = item
            else:
                data = bytearray()
                _write(spec.target.from_wrapped(item) if kind == "w" else item, data)
            out += varint(len(data))
            out += data
    out += _unknown_of(message)


def encode(message: Any) -> bytes:
    """`bytes(message)`, faster."""
    out = bytearray()
    _write(message, out)
    return bytes(out)


# ---------------------------------------------------------------------- JSON

def _json_float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _json_value(spec: FieldSpec, value: Any) -> Any:
    proto_type = spec.proto_type
    if proto_type == "message":
        if spec.wrapped:  # Timestamp, Duration, wrappers: their own JSON forms
            return spec.target.from_wrapped(value).to_dict(include_default_values=True)
        return to_json(value)
    if proto_type == "enum":
        member = spec.target(value)
        if not member.name:
            return member.value  # a number this contract does not name
        return member.proto_name or member.name
    if proto_type in INT64_TYPES:
        return str(value)
    if proto_type == "bytes":
        return base64.b64encode(value).decode("ascii")
    if proto_type in ("float", "double"):
        return _json_float(value)
    return value


_JSON_NAMES: dict[type[Any], list[tuple[FieldSpec, str]]] = {}


def _json_plan(cls: type[Any]) -> list[tuple[FieldSpec, str]]:
    plan = _JSON_NAMES.get(cls)
    if plan is None:
        plan = _JSON_NAMES[cls] = [(spec, betterproto2.Casing.CAMEL(spec.name).rstrip("_"))
                                   for spec in fields(cls)]
    return plan


def to_json(message: betterproto2.Message) -> dict[str, Any]:
    """A message as a protobuf-JSON dict (field order as declared)."""
    out: dict[str, Any] = {}
    for spec, key in _json_plan(type(message)):
        value = getattr(message, spec.name)
        if spec.repeated:
            out[key] = [_json_value(spec, v) for v in value]
        elif spec.proto_type == "map":
            out[key] = message.to_dict(include_default_values=True)[key]
        elif value is not None:
            out[key] = _json_value(spec, value)
    return out

