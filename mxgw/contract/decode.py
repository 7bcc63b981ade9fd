"""Decoding the generated messages: `cls.parse(data)`, faster and strict.

One plan per class, keyed by the full tag (field number and wire type), read once from
the generated code's metadata, and compiled on first use into a straight-line reader of
that class (`_compile`: one test per known tag, each field read inline with its type's
conversion into a local, the readers of the messages it holds bound in); offsets into
the received buffer (no slicing but for strings and bytes), varints of up to four bytes
inline and longer ones unrolled, enums from a dict, Timestamp (from the fields of recent
seconds) and Duration converted in place, messages built without the dataclass
machinery (their instance dict one literal: `fields.instance_layout`).

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
from .fields import UNKNOWN_ATTRIBUTE, FieldSpec, constructor, fields, instance_layout

MessageT = TypeVar("MessageT", bound=betterproto2.Message)

MAX_DEPTH = 100
"""Nesting depth beyond which a message is refused (protobuf's own default limit)."""

# How a field is read (the plan's first item).
INT32, INT64, UINT32, UINT64, BOOL, ENUM = range(6)
STRING, BYTES, MESSAGE, TIMESTAMP, DURATION, WRAPPED = range(6, 12)
DOUBLE, FLOAT, PACKED = 12, 13, 14

_VARINT_CODES = {"int32": INT32, "int64": INT64, "uint32": UINT32, "uint64": UINT64,
                 "bool": BOOL, "enum": ENUM}
_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_DATETIME = dt.datetime
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
    if len(data) - pos < 10:
        return _varint_near_end(data, pos, end)
    # Unrolled, with no bounds check per byte (10 bytes are there; whether the varint ends
    # before `end` is checked once). Timestamps (five bytes of seconds, four of nanos),
    # sequences and negative numbers make most of a message's varints longer than one byte.
    b = data[pos]
    if b < 0x80:
        result, at = b, pos + 1
    else:
        result = b & 0x7F
        b = data[pos + 1]
        if b < 0x80:
            result, at = result | b << 7, pos + 2
        else:
            result |= (b & 0x7F) << 7
            b = data[pos + 2]
            if b < 0x80:
                result, at = result | b << 14, pos + 3
            else:
                result |= (b & 0x7F) << 14
                b = data[pos + 3]
                if b < 0x80:
                    result, at = result | b << 21, pos + 4
                else:
                    result |= (b & 0x7F) << 21
                    b = data[pos + 4]
                    if b < 0x80:
                        result, at = result | b << 28, pos + 5
                    else:
                        result, at = _varint_tail(data, pos, end, result | (b & 0x7F) << 28)
    if at > end:
        raise _Malformed(pos, "truncated varint")
    return result, at


def _varint_tail(data: bytes, pos: int, end: int, result: int) -> tuple[int, int]:
    """`_varint` past its fifth byte (ten bytes are there)."""
    shift, at = 35, pos + 5
    while True:
        if at == pos + 10:
            if at > end:
                raise _Malformed(pos, "truncated varint")
            raise _Malformed(pos, "varint longer than 10 bytes")
        b = data[at]
        at += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, at
        shift += 7


def _varint_near_end(data: bytes, pos: int, end: int) -> tuple[int, int]:
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
        start = pos
        key = data[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(data, pos, end)
        if key == 8:
            raw, pos = _varint(data, pos, end)
            raw &= 0xFFFFFFFFFFFFFFFF
            seconds = raw - 0x10000000000000000 if raw & 0x8000000000000000 else raw
        elif key == 16:
            raw, pos = _varint(data, pos, end)
            raw &= 0xFFFFFFFF
            nanos = raw - 0x100000000 if raw & 0x80000000 else raw
        else:  # refused as in any other message: field number 0, groups...
            pos = _unknown(data, start, pos, end, key)
    return seconds, nanos


_SECONDS: dict[int, tuple[int, int, int, int, int, int]] = {}
"""(year, month, day, hour, minute, second) of the whole seconds of recent timestamps: the
events of a stream share their seconds, and a datetime made from its fields takes half the
time of the epoch plus a timedelta. Emptied when it holds MAX_SECONDS."""
MAX_SECONDS = 4096


def _timestamp(data: bytes, pos: int, stop: int, name: str) -> dt.datetime:
    """A Timestamp body as betterproto2's Timestamp.to_datetime gives it: whole
    microseconds, UTC."""
    seconds, nanos = _seconds_nanos(data, pos, stop)
    if 0 <= nanos < 1_000_000_000:
        second = _SECONDS.get(seconds)
        if second is not None:
            return _DATETIME(*second, nanos // 1000, _UTC)
    return _utc(seconds, nanos, pos, name)


def _utc(seconds: int, nanos: int, pos: int, name: str) -> dt.datetime:
    """`_timestamp` of a second not seen lately (which it remembers)."""
    try:
        value = _EPOCH + dt.timedelta(0, seconds, nanos // 1000)  # positional: 2x faster
    except (OverflowError, ValueError, ArithmeticError) as exc:
        raise _Malformed(pos, f"{name}: {exc}") from None
    if 0 <= nanos < 1_000_000_000:  # (nanos out of range carry into the seconds)
        if len(_SECONDS) >= MAX_SECONDS:
            _SECONDS.clear()
        _SECONDS[seconds] = (value.year, value.month, value.day, value.hour, value.minute,
                             value.second)
    return value


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
            return _timestamp(data, pos, stop, name)
        if how == DURATION:
            seconds, nanos = _seconds_nanos(data, pos, stop)
            return dt.timedelta(0, seconds, nanos / 1e3)
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


Reader = Callable[[bytes, int, int, int], Any]
"""Reads one message of a given class from `data[pos:end]` at nesting `depth`."""
_READERS: dict[type[Any], Reader] = {}


def _message(cls: type[Any], data: bytes, pos: int, end: int, depth: int) -> Any:
    reader = _READERS.get(cls) or _reader(cls)
    return reader(data, pos, end, depth)


def _reader(cls: type[Any]) -> Reader:
    """The reader of `cls`, compiled from its plan on first use."""
    reader = _READERS.get(cls)
    if reader is None:
        plan = _plan(cls)
        if plan is None:
            reader = _READERS[cls] = lambda *a: _generated(cls, *a)
            return reader
        _COMPILING.add(cls)  # the classes it holds are compiled first, but for those it is in
        try:
            reader = _READERS[cls] = _compile(cls, plan)
        finally:
            _COMPILING.discard(cls)
    return reader


_COMPILING: set[type[Any]] = set()
"""The classes whose readers are being compiled (a message may hold itself, in the end)."""


def _generated(cls: type[Any], data: bytes, pos: int, end: int, depth: int) -> Any:
    """A class the fast path does not read (none in this contract today)."""
    try:
        return cls.parse(data[pos:end])
    except Exception as exc:  # the generated parser's failures, whatever their type
        raise _Malformed(pos, f"{type(exc).__name__}: {exc}") from None


_MAX_FIELD_NUMBER = 2**29 - 1
"""The largest field number protobuf allows (Google's runtime refuses larger ones)."""


def _unknown(data: bytes, start: int, pos: int, end: int, key: int) -> int:
    """The end of a field this contract does not know, or knows with another wire type
    (kept as it came, by the caller)."""
    wire_type = key & 7
    if key >> 3 == 0 or key >> 3 > _MAX_FIELD_NUMBER:
        raise _Malformed(start, f"field number {key >> 3}")
    if wire_type not in (0, 1, 2, 5):
        raise _Malformed(start, f"wire type {wire_type}: not proto3 (groups, types 6 and 7)")
    return _skip(data, pos, end, wire_type)


def _merge_span(target: type[Any], span: tuple[bytes, int, int], data: bytes, pos: int,
                stop: int, depth: int) -> tuple[Any, tuple[bytes, int, int]]:
    """A singular message seen again merges into the first (read from `span`): protobuf's
    merge is the parse of both encodings, one after the other. Returns the merged message
    and where its encoding now is."""
    buffer, first, last = span
    joined = buffer[first:last] + data[pos:stop]
    return _message(target, joined, 0, len(joined), depth + 1), (joined, 0, len(joined))


_VARINT_VALUE = {
    INT32: ["raw &= 0xFFFFFFFF", "value = raw - 0x100000000 if raw & 0x80000000 else raw"],
    INT64: ["raw &= 0xFFFFFFFFFFFFFFFF",
            "value = raw - 0x10000000000000000 if raw & 0x8000000000000000 else raw"],
    UINT32: ["value = raw & 0xFFFFFFFF"],
    UINT64: ["value = raw & 0xFFFFFFFFFFFFFFFF"],
    BOOL: ["value = raw != 0"],
}

def _varint_lines(end: str) -> list[str]:
    """Lines that read the varint at `pos` (before `end`) whose first byte, `byte`, is 0x80
    or more, into `raw`: up to five bytes inline, unrolled when ten bytes are there (so
    that no byte needs a bounds check: whether the varint ends before `end` is checked
    once); longer ones, and those near the end of the buffer, by `varint`."""
    lines = ["if len(data) - pos >= 10:", "    raw = byte & 0x7F"]
    for n in range(1, 5):
        indent = "    " * n
        lines += [f"{indent}byte = data[pos + {n}]",
                  f"{indent}if byte < 0x80:",
                  f"{indent}    raw |= byte << {7 * n}",
                  f"{indent}    at = pos + {n + 1}",
                  f"{indent}else:"]
        lines += [f"{indent}    raw |= (byte & 0x7F) << {7 * n}"] if n < 4 else \
            [f"{indent}    raw, at = varint(data, pos, {end})"]
    return [*lines,
            f"    if at > {end}:",
            "        raise Malformed(pos, 'truncated varint')",
            "    pos = at",
            "else:",
            f"    raw, pos = varint(data, pos, {end})"]


def _timestamp_lines(name: str) -> list[str]:
    """Lines that read the Timestamp body at data[pos:stop] into `value`: its canonical
    form (seconds, then nanos, each left out when 0) inline, anything else by
    `seconds_nanos`; the datetime from the fields of its second when they are known."""
    lines = ["body = pos", "seconds = nanos = 0"]
    for key, into, convert in ((8, "seconds", _VARINT_VALUE[INT64]),
                               (16, "nanos", _VARINT_VALUE[INT32])):
        lines += [f"if pos < stop and data[pos] == {key}:",
                  "    pos += 1",
                  "    byte = data[pos] if pos < stop else 0x80",
                  "    if byte < 0x80:",
                  "        pos += 1",
                  f"        {into} = byte",
                  "    else:",
                  *[f"        {line}" for line in _varint_lines("stop") + convert],
                  f"        {into} = value"]
    return [*lines,
            "if pos != stop:",
            "    seconds, nanos = seconds_nanos(data, body, stop)",
            "second = SECONDS.get(seconds) if 0 <= nanos < 1000000000 else None",
            "if second is not None:",
            "    value = DATETIME(*second, nanos // 1000, UTC)",
            "else:",
            f"    value = utc(seconds, nanos, body, {name!r})"]


def _compile(cls: type[Any], plan: _Plan) -> Reader:
    """A straight-line reader for one class, generated from its plan: one test per known
    tag (in field-number order, the order encoders write), each reading its field inline
    with its type's conversion into a local variable; anything else (an unknown field, a
    field of another wire type) is kept as it came. The message is built at the end from
    those locals, its instance dict one literal (`fields.instance_layout`), without the
    dataclass machinery. The rules are the module docstring's."""
    layout = instance_layout(cls)
    specs = {spec.name: spec for spec in fields(cls)}
    local = {name: f"f{i}" for i, name in enumerate(specs)}
    env: dict[str, Any] = {
        "Malformed": _Malformed, "varint": _varint, "MAX_DEPTH": MAX_DEPTH,
        "READERS": _READERS, "reader": _reader, "merge": _merge_span, "packed": _packed,
        "unknown_end": _unknown, "seconds_nanos": _seconds_nanos, "utc": _utc,
        "SECONDS": _SECONDS, "DATETIME": _DATETIME, "UTC": _UTC,
        "delimited": _length_delimited, "UNKNOWN": UNKNOWN_ATTRIBUTE, "BUILD": plan.build,
        "NEW": object.__new__, "CLS": cls, "DOUBLE": _DOUBLE, "FLOAT": _FLOAT}
    lines = [
        "def read(data, pos, end, depth):",
        "    if depth > MAX_DEPTH:",
        "        raise Malformed(pos, f'messages nested more than {MAX_DEPTH} deep')",
        "    unknown = None",
    ]
    for name, spec in specs.items():
        if spec.repeated or spec.proto_type == "map":
            lines.append(f"    {local[name]} = None  # {name}: a list once seen")
        else:
            env[f"D_{local[name]}"] = spec.default
            lines.append(f"    {local[name]} = D_{local[name]}  # {name}")
        if spec.proto_type == "message" and not spec.wrapped and not spec.repeated:
            if spec.default is not None:  # the merge test below relies on it
                raise TypeError(f"{cls.__name__}.{name}: a message field not None by default")
            lines.append(f"    s{local[name]} = None  # where {name} was read")
    lines += [
        "    while pos < end:",
        "        start = pos",
        "        key = data[pos]",
        "        if key < 0x80:",
        "            pos += 1",
        "        elif pos + 1 < end and data[pos + 1] < 0x80:  # fields 16-2047",
        "            key = key & 0x7F | data[pos + 1] << 7",
        "            pos += 2",
        "        else:",
        "            key, pos = varint(data, pos, end)",
    ]
    first = True
    for i, (key, read) in enumerate(sorted(plan.by_tag.items(), key=lambda kv: kv[0] >> 3)):
        how, name, target, repeated, group = read
        env[f"T{i}"] = target
        if how == ENUM:
            env[f"T{i}_MEMBERS"] = target[1]
        elif how == MESSAGE and target not in _COMPILING:  # else: a message it is in
            env[f"R{i}"] = _reader(target)
            if _is_leaf(target):
                env[f"C{i}"] = _LEAF_STATES.setdefault(target, {})
        lines.append(f"        {'if' if first else 'elif'} key == {key}:  # {name}")
        first = False
        others = [local[arm] for arm, spec in specs.items()
                  if group is not None and spec.group == group and arm != name]
        lines += [f"            {line}"
                  for line in _field(how, name, f"T{i}", repeated, local[name], others,
                                     f"R{i}" if f"R{i}" in env else None,
                                     f"C{i}" if f"C{i}" in env else None)]
    lines += [
        "        " + ("else:" if not first else "if True:"),
        "            pos = unknown_end(data, start, pos, end, key)",
        "            if unknown is None:",
        "                unknown = bytearray()",
        "            unknown += data[start:pos]",
    ]
    kept = "bytes(unknown) if unknown else b''"
    if layout is None:  # a class with its own __post_init__: built by its __init__
        values = ", ".join(f"{name!r}: {_final(local[name], specs[name])}" for name in specs)
        lines += ["    built = BUILD({" + values + "})",
                  "    if unknown:",
                  "        setattr(built, UNKNOWN, bytes(unknown))",
                  "    return built"]
    else:
        state = ", ".join(f"{name!r}: {_final(local[name], specs[name])}"
                          if name in specs else f"{name!r}: {kept}" for name, _, _ in layout)
        lines += ["    built = NEW(CLS)",
                  "    built.__dict__ = {" + state + "}",
                  "    return built"]
    exec(compile("\n".join(lines), f"<mxgw reader of {cls.__qualname__}>", "exec"), env)
    reader: Reader = env["read"]
    return reader


_LEAF_STATES: dict[type[Any], dict[bytes, dict[str, Any]]] = {}
"""The instance dicts of recently read leaf messages, by class and encoding (see
`_is_leaf`); each emptied when it holds MAX_LEAF_STATES."""
MAX_LEAF_STATES = 1024
MAX_LEAF_BYTES = 64
"""Leaf messages longer than this are read, not looked up."""


def _is_leaf(cls: type[Any]) -> bool:
    """Whether a message holds only immutable values (no message, list or map), so that a
    copy of the instance dict of one read before from the same bytes is a message equal
    to it and shares nothing with it. Such messages (a status, mostly) repeat from event
    to event: looking their bytes up is several times cheaper than reading them."""
    if instance_layout(cls) is None:
        return False
    return all(not spec.repeated and spec.proto_type != "map"
               and (spec.proto_type != "message" or spec.wrapped) for spec in fields(cls))


def _read_lines(read: str, target: str, leaf: str | None) -> list[str]:
    """Lines that read a message field's value at data[pos:stop] into `value` (with
    `read`, or as a copy of a leaf message read before from the same bytes)."""
    if leaf is None:
        return [f"value = {read}"]
    return [f"if stop - pos <= {MAX_LEAF_BYTES}:",
            "    chunk = data[pos:stop]",
            f"    state = {leaf}.get(chunk)",
            "    if state is None:",
            f"        value = {read}",
            f"        if len({leaf}) >= {MAX_LEAF_STATES}:",
            f"            {leaf}.clear()",
            f"        {leaf}[chunk] = value.__dict__.copy()",
            "    else:",
            f"        value = NEW({target})",
            "        value.__dict__ = state.copy()",
            "else:",
            f"    value = {read}"]


def _final(name: str, spec: FieldSpec) -> str:
    """A field's value as the message holds it: a repeated field never seen is []."""
    if spec.repeated:
        return f"{name} if {name} is not None else []"
    if spec.proto_type == "map":
        return f"{name} if {name} is not None else {{}}"
    return name


def _field(how: int, name: str, target: str, repeated: bool, into: str, others: list[str],
           child: str | None, leaf: str | None) -> list[str]:
    """The lines that read one field (its tag already read) into the local `into`;
    `others`: the locals of the other arms of its oneof, reset (the last arm wins);
    `child`: the compiled reader of a message field, when known at compile time; `leaf`:
    the cache of the instance dicts of a leaf message field (`_LEAF_STATES`)."""
    if how < STRING:  # a varint: one byte needs no masking (nor sign), longer ones do
        convert = _VARINT_VALUE[INT64 if how == ENUM else how]
        lines = ["byte = data[pos] if pos < end else 0x80",
                 "if byte < 0x80:",
                 "    pos += 1",
                 "    value = byte != 0" if how == BOOL else "    value = byte",
                 "else:",
                 *[f"    {line}" for line in _varint_lines("end") + convert]]
        if how == ENUM:
            lines += [f"member = {target}_MEMBERS.get(value)",
                      f"value = member if member is not None else {target}[0](value)"]
    elif how in (DOUBLE, FLOAT):
        packer = "DOUBLE" if how == DOUBLE else "FLOAT"
        lines = [f"stop = pos + {packer}.size",
                 "if stop > end:",
                 f"    raise Malformed(pos, {name + ': truncated'!r})",
                 f"(value,) = {packer}.unpack_from(data, pos)",
                 "pos = stop"]
    else:  # length-delimited
        lines = ["if pos < end and data[pos] < 0x80:",
                 "    length, pos = data[pos], pos + 1",
                 "else:",
                 "    length, pos = varint(data, pos, end)",
                 "stop = pos + length",
                 "if stop > end:",
                 f"    raise Malformed(pos, f'{name}: {{length}} bytes announced, "
                 f"{{end - pos}} left')"]
        if how == PACKED:
            return [*lines, f"if {into} is None:", f"    {into} = []",
                    f"{into}.extend(packed({target}, data, pos, stop))", "pos = stop"]
        read = (f"{child}(data, pos, stop, depth + 1)" if child is not None else
                f"(READERS.get({target}) or reader({target}))(data, pos, stop, depth + 1)")
        if how == STRING:
            lines += ["try:",
                      "    value = data[pos:stop].decode('utf-8')",
                      "except UnicodeDecodeError as exc:",
                      f"    raise Malformed(pos + exc.start, {name + ': not UTF-8'!r}) "
                      "from None"]
        elif how == BYTES:
            lines += ["value = data[pos:stop]"]
        elif how == MESSAGE and not repeated:
            lines += [f"if {into} is not None:",
                      f"    value, s{into} = merge({target}, s{into}, data, pos, stop, depth)",
                      "else:",
                      f"    s{into} = (data, pos, stop)",
                      *[f"    {line}" for line in _read_lines(read, target, leaf)]]
        elif how == MESSAGE:
            lines += _read_lines(read, target, leaf)
        elif how == TIMESTAMP:
            lines += _timestamp_lines(name)
        else:  # Duration, a wrapped type
            lines += [f"value = delimited({how}, {name!r}, {target}, data, pos, stop, depth)"]
        lines += ["pos = stop"]
    if repeated:
        return [*lines, f"if {into} is None:", f"    {into} = [value]", "else:",
                f"    {into}.append(value)"]
    return [*lines, *[f"{other} = D_{other}  # the last arm of a oneof wins" for other in others],
            f"{into} = value"]


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
            if not 0 < number <= _MAX_FIELD_NUMBER or wire_type not in (0, 1, 2, 5):
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
    if type(data) is not bytes:  # a bytearray or memoryview: read (and sliced) as bytes
        data = bytes(data)
    try:
        result: MessageT = _message(cls, data, 0, len(data), 0)
    except _Malformed as exc:
        raise MalformedMessageError(cls.__name__, exc.offset, exc.reason) from None
    return result
