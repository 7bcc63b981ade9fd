"""A variant contract for the simulator: the gateway as it would be if its protos differed
from ours (an extra field, a renumbered one, another type, an extra enum value), so tests
can prove `mxgw contract-check` finds each kind of drift.

The simulator still speaks our contract, plus what the variant changes: its reflection
serves the variant's descriptors, and every message it sends of a type the variant
changes carries a sample value of each field that our decoder cannot read as ours (a
number we do not declare, or ours with another wire type), and of each enum field whose
enum the variant extends, one value we do not name.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import betterproto2

from .._proto.descriptor.google.protobuf import (
    DescriptorProto,
    FieldDescriptorProto,
    FieldDescriptorProtoLabel,
    FieldDescriptorProtoType,
)
from .._proto.message_pool import default_message_pool
from ..contract.descriptors import Schema, is_infrastructure, our_schema, split_set, wire_type_of
from ..contract.encode import varint
from ..contract.fields import fields, keep_unknown, unknown_of

SAMPLE_TEXT = "variant"
_PACKABLE = frozenset({"double", "float", "int32", "int64", "uint32", "uint64", "sint32",
                       "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "enum"})


@dataclass(frozen=True)
class ContractVariant:
    """The descriptors of a variant of our contract (serialized FileDescriptorProtos, such
    as protoc's `--descriptor_set_out` writes)."""

    files: tuple[bytes, ...]
    extras: dict[str, bytes] = field(default_factory=dict, compare=False)
    """The bytes appended to each message of a type the variant changes, by full name
    (derived from the descriptors unless given)."""

    @classmethod
    def from_descriptor_set(cls, data: bytes) -> ContractVariant:
        """The variant of a serialized FileDescriptorSet."""
        files = tuple(split_set(data))
        return cls(files, extras_for(our_schema(), Schema.from_files(files)))

    @classmethod
    def load(cls, path: str | Path) -> ContractVariant:
        """The variant of a FileDescriptorSet file (`protoc --descriptor_set_out=FILE
        --include_imports`)."""
        return cls.from_descriptor_set(Path(path).read_bytes())

    def schema(self) -> Schema:
        """What the simulator's reflection serves: the variant's files, plus our gRPC and
        protobuf files it does not carry itself (the reflection protocol)."""
        ours = our_schema()
        variant = Schema.from_files(self.files)
        kept = [ours.raw[n] for n, f in ours.files.items()
                if is_infrastructure(f.package) and n not in variant.files]
        return Schema.from_files([*kept, *self.files])


def extras_for(ours: Schema, variant: Schema) -> dict[str, bytes]:
    """For each message both declare, the bytes of the variant's fields that our decoder
    cannot read as ours, and of one unnamed value of each enum field the variant extends."""
    out: dict[str, bytes] = {}
    for name, theirs in variant.messages.items():
        mine = ours.messages.get(name)
        if mine is None:
            continue
        proto3 = variant.files[variant.symbols[name]].syntax == "proto3"
        data = b"".join(_sample(f, ours, variant, mine, proto3) for f in theirs.field)
        if data:
            out[name] = data
    return out


def _sends(f: FieldDescriptorProto, proto3: bool) -> int:
    """The wire type the variant sends field `f` with (repeated scalars packed as proto3
    packs them, unless an option says otherwise)."""
    packed = f.options.packed if f.options is not None else None
    repeated = f.label == FieldDescriptorProtoLabel.REPEATED
    if repeated and _type(f) in _PACKABLE and (packed if packed is not None else proto3):
        return 2
    return wire_type_of(f)


def _accepts(f: FieldDescriptorProto) -> set[int]:
    """The wire types our decoder reads as field `f`."""
    accepted = {wire_type_of(f)}
    if f.label == FieldDescriptorProtoLabel.REPEATED and _type(f) in _PACKABLE:
        accepted.add(2)
    return accepted


def _type(f: FieldDescriptorProto) -> str:
    return f.type.name.lower() if f.type is not None else ""


def _sample(f: FieldDescriptorProto, ours: Schema, variant: Schema, mine: DescriptorProto,
            proto3: bool) -> bytes:
    our_field = next((g for g in mine.field if g.number == f.number), None)
    if f.type == FieldDescriptorProtoType.GROUP:
        return b""  # groups are proto2's, and not in any gateway contract
    wire = _sends(f, proto3)
    number = f.number or 0
    unnamed = _unnamed_value(f, ours, variant)
    if our_field is not None and wire in _accepts(our_field):
        if unnamed is None or our_field.type != FieldDescriptorProtoType.ENUM:
            return b""  # read as ours: nothing to show
        return varint(number << 3) + varint(unnamed & 0xFFFFFFFFFFFFFFFF)
    value = _value(f, unnamed)
    if wire == 2 and _type(f) in _PACKABLE:
        value = varint(len(value)) + value  # one packed element
    return varint(number << 3 | wire) + value


def _unnamed_value(f: FieldDescriptorProto, ours: Schema, variant: Schema) -> int | None:
    """The lowest value of the variant's enum of `f` that our enum does not name."""
    if f.type != FieldDescriptorProtoType.ENUM or not f.type_name:
        return None
    name = f.type_name.lstrip(".")
    theirs, mine = variant.enums.get(name), ours.enums.get(name)
    if theirs is None:
        return None
    named = {v.number for v in mine.value} if mine is not None else set()
    extra = sorted((v.number or 0) for v in theirs.value if v.number not in named)
    return extra[0] if extra else None


def _value(f: FieldDescriptorProto, unnamed: int | None) -> bytes:
    """The encoding (after the key) of one sample value of the variant's field `f`."""
    kind = _type(f)
    if kind in ("double", "fixed64", "sfixed64"):
        return struct.pack("<d", 1.5) if kind == "double" else struct.pack("<q", 1)
    if kind in ("float", "fixed32", "sfixed32"):
        return struct.pack("<f", 1.5) if kind == "float" else struct.pack("<i", 1)
    if kind in ("string", "bytes"):
        return varint(len(SAMPLE_TEXT)) + SAMPLE_TEXT.encode()
    if kind == "message":
        return varint(0)  # an empty message
    if kind in ("sint32", "sint64"):
        return varint(2)  # zig-zag 1
    return varint(unnamed if unnamed is not None else 1)


class Extras:
    """Adds a variant's extra bytes to outgoing messages, nested ones included."""

    def __init__(self, by_name: dict[str, bytes]) -> None:
        prefix = "type.googleapis.com/"
        classes = default_message_pool.url_to_type
        self.by_class: dict[type[Any], bytes] = {
            cls: by_name[url[len(prefix):]] for url, cls in classes.items()
            if url[len(prefix):] in by_name}
        # The classes whose messages may hold one of a changed type (a fixed point: the
        # contract's types are recursive, MxValue -> MxSparseArray -> MxValue).
        self.reaches: set[type[Any]] = set(self.by_class)
        grew = True
        while grew:
            grew = False
            for cls in classes.values():
                if cls not in self.reaches and any(
                        spec.target in self.reaches for spec in fields(cls)
                        if spec.proto_type == "message" and not spec.wrapped):
                    self.reaches.add(cls)
                    grew = True

    def __bool__(self) -> bool:
        return bool(self.by_class)

    def mark(self, message: betterproto2.Message) -> None:
        """Give `message` and the messages in it of a changed type their extra bytes
        (once: the simulator sends some messages again, such as replayed events)."""
        cls = type(message)
        if cls not in self.reaches:
            return
        extra = self.by_class.get(cls)
        if extra is not None and not unknown_of(message).endswith(extra):
            keep_unknown(message, unknown_of(message) + extra)
        for spec in fields(cls):
            if spec.proto_type != "message" or spec.wrapped:
                continue
            value = getattr(message, spec.name)
            for item in (value if spec.repeated else [value]):
                if isinstance(item, betterproto2.Message):
                    self.mark(item)
