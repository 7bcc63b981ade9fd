"""Decoding the generated messages: `cls.parse(data)`, faster and strict.

One plan per class, keyed by the full tag (field number and wire type), read once from
the generated code's metadata; one loop per message over offsets into the received
buffer (no slicing but for strings and bytes), one-byte varints inline, enums from a
dict, Timestamp and Duration converted in place, messages built without the dataclass
machinery (`fields.constructor`).

- Fields this contract does not know, or knows with another wire type (our numbers are
  reconstructed), are kept as they came, so `bytes(message)` gives back the bytes
  received, as Google's runtime does.
- When two arms of a oneof arrive only the last is kept, as protobuf requires (betterproto2
  keeps both); a singular message seen twice merges into the first.
- Anything that is not valid protobuf (truncation, a length past the end, invalid UTF-8,
  nesting past MAX_DEPTH, a timestamp out of range, wire types 3, 4, 6, 7) is one
  MalformedMessageError with the byte offset where decoding stopped.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable
from typing import Any, TypeVar

import betterproto2

from ..errors import MalformedMessageError
from .fields import FieldSpec, constructor, fields, keep_unknown

MessageT = TypeVar("MessageT", bound=betterproto2.Message)

MAX_DEPTH = 100
"""Nesting depth beyond which a message is refused (protobuf's own default limit)."""

# How a field is read (the plan's first item).
INT32, INT64, UINT32, UINT64, BOOL, ENUM = range(6)
STRING, BYTES, MESSAGE, TIMESTAMP, DURATION, WRAPPED = range(6, 12)
DOUBLE, FLOAT, PACKED = 12, 13, 14

_VARINT_CODES = {"int32": INT32, "int64": INT64, "uint32": UINT32, "uint64": UINT64,
                 "bool": BOOL, "enum": ENUM}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_DOUBLE, _FLOAT = struct.Struct("<d"), struct.Struct("<f")

Read = tuple[int, str, Any, bool, "str | None"]
"""(how, attribute name, target, repeated, oneof group); target: the message class, the
enum's member by value, or for PACKED the Read of one element."""


class _Malformed(Exception):
    """Where and why decoding stopped (MalformedMessageError by `parse`)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


class _Plan:
    """How to read one class: its fields by full tag, and how to build it."""

    __slots__ = ("build", "by_tag")

    def __init__(self, by_tag: dict[int, Read], build: Callable[[dict[str, Any]], Any]) -> None:
        self.by_tag = by_tag
        self.build = build


_PLANS: dict[type[Any], _Plan | None] = {}


def _element(spec: FieldSpec) -> tuple[int, int, Any] | None:
    """(how, wire type, target) of one value of a field, or None if not handled."""
    proto_type = spec.proto_type
    if proto_type in _VARINT_CODES:
        how = _VARINT_CODES[proto_type]
        target = {member.value: member for member in spec.target} if how == ENUM else None
        return how, 0, (spec.target, target) if how == ENUM else None
    if proto_type == "double":
        return DOUBLE, 1, None
    if proto_type == "float":
        return FLOAT, 5, None
    if proto_type == "string":
        return STRING, 2, None
    if proto_type == "bytes":
        return BYTES, 2, None
    if proto_type == "message":
        if not spec.wrapped:
            return MESSAGE, 2, spec.target
        name = spec.target.__name__
        how = {"Timestamp": TIMESTAMP, "Duration": DURATION}.get(name, WRAPPED)
        return how, 2, spec.target
    return None  # maps, zig-zag and fixed-width integers: none in this contract


def _plan(cls: type[Any]) -> _Plan | None:
    if cls in _PLANS:
        return _PLANS[cls]
    by_tag: dict[int, Read] = {}
    for spec in fields(cls):
        element = _element(spec)
        if element is None:
            _PLANS[cls] = None
            return None
        how, wire, target = element
        by_tag[spec.number << 3 | wire] = (how, spec.name, target, spec.repeated, spec.group)
        if spec.repeated and wire != 2:  # packed scalars (proto3's default encoding)
            one: Read = (how, spec.name, target, True, None)
            by_tag[spec.number << 3 | 2] = (PACKED, spec.name, one, True, None)
    plan = _PLANS[cls] = _Plan(by_tag, constructor(cls))
    return plan


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise _Malformed(pos, "truncated varint")
    start, result, shift = pos, 0, 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _Malformed(start, "varint longer than 10 bytes")
        if pos >= end:
            raise _Malformed(start, "truncated varint")


def _skip(data: bytes, pos: int, end: int, wire_type: int) -> int:
    """The end of a value of a field this contract does not read."""
    if wire_type == 0:
        return _varint(data, pos, end)[1]
    if wire_type == 1:
        stop = pos + 8
    elif wire_type == 2:
        length, pos = _varint(data, pos, end)
        stop = pos + length
    else:
        stop = pos + 4
    if stop > end:
        raise _Malformed(pos, "field runs past the end of the message")
    return stop


def _scalar(how: int, target: Any, raw: int) -> Any:
    """A varint's value as its field type."""
    if how == INT32:
        raw &= 0xFFFFFFFF
        return raw - 0x100000000 if raw & 0x80000000 else raw
    if how == INT64 or how == ENUM:
        raw &= 0xFFFFFFFFFFFFFFFF
        value = raw - 0x10000000000000000 if raw & 0x8000000000000000 else raw
        if how == INT64:
            return value
        member = target[1].get(value)
        return member if member is not None else target[0](value)  # a value we do not name
    if how == BOOL:
        return raw != 0
    if how == UINT32:
        return raw & 0xFFFFFFFF
    return raw & 0xFFFFFFFFFFFFFFFF


def _seconds_nanos(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """The (seconds, nanos) of a Timestamp or Duration body (other fields skipped)."""
    seconds = nanos = 0
    while pos < end:
        key, pos = _varint(data, pos, end)
        if key == 8:
            raw, pos = _varint(data, pos, end)
            raw &= 0xFFFFFFFFFFFFFFFF
            seconds = raw - 0x10000000000000000 if raw & 0x8000000000000000 else raw
        elif key == 16:
            raw, pos = _varint(data, pos, end)
            raw &= 0xFFFFFFFF
            nanos = raw - 0x100000000 if raw & 0x80000000 else raw
        else:
            wire_type = key & 7
            if wire_type not in (0, 1, 2, 5):
                raise _Malformed(pos, f"wire type {wire_type}")
            pos = _skip(data, pos, end, wire_type)
    return seconds, nanos


def _length_delimited(how: int, name: str, target: Any, data: bytes, pos: int, stop: int,
                      depth: int) -> Any:
    if how == STRING:
        try:
            return data[pos:stop].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Malformed(pos + exc.start, f"{name}: not UTF-8") from None
    if how == BYTES:
        return data[pos:stop]
    if how == MESSAGE:
        return _message(target, data, pos, stop, depth + 1)
    try:
        if how == TIMESTAMP:
            seconds, nanos = _seconds_nanos(data, pos, stop)
            # as betterproto2's Timestamp.to_datetime: whole microseconds, UTC
            return _EPOCH + dt.timedelta(seconds=seconds, microseconds=nanos // 1000)
        if how == DURATION:
            seconds, nanos = _seconds_nanos(data, pos, stop)
            return dt.timedelta(seconds=seconds, microseconds=nanos / 1e3)
        return _message(target, data, pos, stop, depth + 1).to_wrapped()
    except (OverflowError, ValueError, ArithmeticError) as exc:
        raise _Malformed(pos, f"{name}: {exc}") from None


def _packed(one: Read, data: bytes, pos: int, stop: int) -> list[Any]:
    how, _, target, _, _ = one
    if how == DOUBLE or how == FLOAT:
        unpack = _DOUBLE if how == DOUBLE else _FLOAT
        if (stop - pos) % unpack.size:
            raise _Malformed(pos, f"{one[1]}: packed values of {stop - pos} bytes")
        return [v for (v,) in unpack.iter_unpack(data[pos:stop])]
    values: list[Any] = []
    append = values.append
    while pos < stop:
        byte = data[pos]
        if byte < 0x80:
            raw, pos = byte, pos + 1
        else:
            raw, pos = _varint(data, pos, stop)
        append(_scalar(how, target, raw))
    return values


def _message(cls: type[Any], data: bytes, pos: int, end: int, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise _Malformed(pos, f"messages nested more than {MAX_DEPTH} deep")
    plan = _PLANS.get(cls) or _plan(cls)
    if plan is None:  # a class the fast path does not read (none in this contract today)
        try:
            return cls.parse(data[pos:end])
        except Exception as exc:  # the generated parser's failures, whatever their type
            raise _Malformed(pos, f"{type(exc).__name__}: {exc}") from None
    by_tag = plan.by_tag
    values: dict[str, Any] = {}
    groups: dict[str, str] | None = None
    merged: dict[str, tuple[bytes, int, int]] | None = None
    unknown: bytearray | None = None
    while pos < end:
        start = pos
        key = data[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(data, pos, end)
        read = by_tag.get(key)
        if read is None:
            # A field this contract does not know, or knows with another wire type:
            # kept as it came.
            wire_type = key & 7
            if key >> 3 == 0:
                raise _Malformed(start, "field number 0")
            if wire_type not in (0, 1, 2, 5):
                raise _Malformed(start, f"wire type {wire_type}: not proto3 (groups, "
                                        "types 6 and 7)")
            pos = _skip(data, pos, end, wire_type)
            if unknown is None:
                unknown = bytearray()
            unknown += data[start:pos]
            continue
        how, name, target, repeated, group = read
        if how < STRING:  # a varint
            byte = data[pos] if pos < end else 0x80
            if byte < 0x80 and pos < end:
                raw, pos = byte, pos + 1
            else:
                raw, pos = _varint(data, pos, end)
            value = _scalar(how, target, raw)
        elif how <= WRAPPED or how == PACKED:  # length-delimited
            if pos < end and data[pos] < 0x80:
                length, pos = data[pos], pos + 1
            else:
                length, pos = _varint(data, pos, end)
            stop = pos + length
            if stop > end:
                raise _Malformed(pos, f"{name}: {length} bytes announced, {end - pos} left")
            if how == PACKED:
                values.setdefault(name, []).extend(_packed(target, data, pos, stop))
                pos = stop
                continue
            if how == MESSAGE and not repeated:
                if merged is None:
                    merged = {}
                if name in values:
                    # A singular message seen again merges into the first: protobuf's
                    # merge is the parse of both encodings, one after the other.
                    buffer, first, last = merged[name]
                    joined = buffer[first:last] + data[pos:stop]
                    merged[name] = (joined, 0, len(joined))
                    value = _message(target, joined, 0, len(joined), depth + 1)
                else:
                    merged[name] = (data, pos, stop)
                    value = _message(target, data, pos, stop, depth + 1)
            else:
                value = _length_delimited(how, name, target, data, pos, stop, depth)
            pos = stop
        else:  # DOUBLE, FLOAT
            unpack = _DOUBLE if how == DOUBLE else _FLOAT
            stop = pos + unpack.size
            if stop > end:
                raise _Malformed(pos, f"{name}: truncated")
            (value,) = unpack.unpack_from(data, pos)
            pos = stop
        if repeated:
            values.setdefault(name, []).append(value)
            continue
        if group is not None:
            if groups is None:
                groups = {}
            previous = groups.get(group)
            if previous is not None and previous != name:
                del values[previous]  # the last arm of a oneof wins
            groups[group] = name
        values[name] = value
    message = plan.build(values)
    if unknown:
        keep_unknown(message, bytes(unknown))
    return message


def wire_fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """The fields of protobuf bytes as they travel: (number, wire type, value), the value
    an int for a varint and the bytes of the value otherwise (a fixed-width one's 8 or 4,
    a length-delimited one's payload). MalformedMessageError for what is not protobuf."""
    out: list[tuple[int, int, int | bytes]] = []
    pos, end = 0, len(data)
    try:
        while pos < end:
            start = pos
            key, pos = _varint(data, pos, end)
            number, wire_type = key >> 3, key & 7
            if number == 0 or wire_type not in (0, 1, 2, 5):
                raise _Malformed(start, f"field number {number}, wire type {wire_type}")
            if wire_type == 0:
                value, pos = _varint(data, pos, end)
                out.append((number, 0, value))
                continue
            stop = _skip(data, pos, end, wire_type)
            if wire_type == 2:
                pos = _varint(data, pos, end)[1]  # past the length
            out.append((number, wire_type, data[pos:stop]))
            pos = stop
    except _Malformed as exc:
        raise MalformedMessageError("wire fields", exc.offset, exc.reason) from None
    return out


def parse(cls: type[MessageT], data: bytes) -> MessageT:
    """`cls.parse(data)`, faster and strict: MalformedMessageError (with the offset where
    decoding stopped) for anything that is not valid protobuf of `cls`."""
    try:
        result: MessageT = _message(cls, data, 0, len(data), 0)
    except _Malformed as exc:
        raise MalformedMessageError(cls.__name__, exc.offset, exc.reason) from None
    return result
