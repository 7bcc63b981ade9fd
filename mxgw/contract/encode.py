"""Encoding the generated messages: the bytes of `bytes(message)`, faster.

Field order, default skipping, packing, wrapped types and unknown fields as betterproto2
writes them, from one plan per class read from the generated code's metadata.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

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
        return "w" if spec.wrapped else "m"
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


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
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
    return _varint(value)


Step = tuple[str, str, bytes, Any, bool, Any]
"""(attribute, kind, key, default, repeated, packer or wrapper class)."""
_STEPS: dict[type[Any], list[Step] | None] = {}


def _steps(cls: type[Any]) -> list[Step] | None:
    steps = _STEPS.get(cls, ())
    if steps == ():
        plan = _write_plan(cls)
        steps = None if plan is None else [
            (w.spec.name, w.kind, w.key, w.spec.default, w.spec.repeated,
             w.packer if w.kind == "x" else w.spec.target) for w in plan]
        _STEPS[cls] = steps
    return steps  # type: ignore[return-value]


def _write(message: Any, out: bytearray) -> None:
    steps = _steps(type(message))
    if steps is None:
        out += bytes(message)
        return
    state = message.__dict__  # the generated classes keep fields as plain attributes
    for name, kind, key, default, repeated, extra in steps:
        value = state[name]
        if value is None or value == default:
            continue
        if repeated:
            if kind == "v":
                packed = b"".join([varint(int(item)) for item in value])
            elif kind == "x":
                packed = b"".join([extra.pack(item) for item in value])
            else:
                for item in value:
                    _item(out, key, kind, extra, item)
                continue
            out += key
            out += varint(len(packed))
            out += packed
        elif kind == "v":
            out += key
            out += varint(int(value))
        else:
            _item(out, key, kind, extra, value)
    out += unknown_of(message)


def _item(out: bytearray, key: bytes, kind: str, extra: Any, item: Any) -> None:
    """One field value that is not a varint."""
    out += key
    if kind == "x":
        out += extra.pack(item)
        return
    if kind == "s":
        data: bytes | bytearray = item.encode("utf-8")
    elif kind == "b":
        data = item
    else:
        data = bytearray()
        _write(extra.from_wrapped(item) if kind == "w" else item, data)
    out += varint(len(data))
    out += data


def encode(message: Any) -> bytes:
    """`bytes(message)`, faster."""
    out = bytearray()
    _write(message, out)
    return bytes(out)
