"""A faster protobuf encoder for the generated messages, driven by their own metadata.

`bytes(message)` in betterproto2 costs tens of microseconds per small message, which
dominates a bulk request of thousands of entries. `encode(message)` writes the same bytes
(field order, default skipping, packing and wrapped types as betterproto2 does them) in
one tight loop per message, from the field numbers and types the generated classes
declare. A class it does not handle (maps, zig-zag or fixed-width integers) is encoded by
the generated code.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from typing import Any

_VARINT_TYPES = frozenset({"int32", "int64", "uint32", "uint64", "bool", "enum"})
_FIXED = {"double": (1, struct.Struct("<d")), "float": (5, struct.Struct("<f"))}


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str
    """`v` varint, `x` fixed, `s` string, `b` bytes, `m` message, `w` wrapped message."""
    repeated: bool
    key: bytes
    """The field's tag (number and wire type; length-delimited for packed lists)."""
    default: Any
    packer: struct.Struct | None = None
    wrapper: Any = None


_PLANS: dict[type[Any], list[_Field] | None] = {}


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _plan(cls: type[Any]) -> list[_Field] | None:
    if cls in _PLANS:
        return _PLANS[cls]
    meta = cls._betterproto
    plan: list[_Field] = []
    for name, field in meta.meta_by_field_name.items():
        proto_type, number = field.proto_type, field.number
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            default = meta.default_gen[name]()
        if proto_type in _VARINT_TYPES:
            wire = 2 if field.repeated else 0
            plan.append(_Field(name, "v", field.repeated, _varint(number << 3 | wire), default))
        elif proto_type in _FIXED:
            wire, packer = _FIXED[proto_type]
            wire = 2 if field.repeated else wire
            plan.append(_Field(name, "x", field.repeated, _varint(number << 3 | wire), default,
                               packer))
        elif proto_type in ("string", "bytes", "message"):
            kind = {"string": "s", "bytes": "b"}.get(proto_type, "m")
            wrapper = None
            if proto_type == "message" and field.unwrap is not None:
                kind, wrapper = "w", field.unwrap()
            plan.append(_Field(name, kind, field.repeated, _varint(number << 3 | 2), default,
                               wrapper=wrapper))
        else:
            _PLANS[cls] = None
            return None
    _PLANS[cls] = plan
    return plan


def _scalar(field: _Field, value: Any) -> bytes:
    if field.kind == "v":
        return _varint(int(value))
    assert field.packer is not None
    return field.packer.pack(value)


def _write(message: Any, out: bytearray) -> None:
    plan = _plan(type(message))
    if plan is None:
        out += bytes(message)
        return
    for field in plan:
        value = getattr(message, field.name)
        if value is None or value == field.default:
            continue
        kind = field.kind
        if field.repeated and kind in ("v", "x"):
            packed = b"".join([_scalar(field, item) for item in value])
            out += field.key
            out += _varint(len(packed))
            out += packed
            continue
        for item in (value if field.repeated else (value,)):
            out += field.key
            if kind in ("v", "x"):
                out += _scalar(field, item)
                continue
            if kind == "s":
                data: bytes | bytearray = item.encode("utf-8")
            elif kind == "b":
                data = item
            else:
                data = bytearray()
                _write(field.wrapper.from_wrapped(item) if kind == "w" else item, data)
            out += _varint(len(data))
            out += data
    out += message._unknown_fields


def encode(message: Any) -> bytes:
    """`bytes(message)`, faster."""
    out = bytearray()
    _write(message, out)
    return bytes(out)
