"""What received messages show of a contract other than ours: fields we do not know, enum
values outside our enums, and fields whose wire type is not our type's.

The codec keeps the first two kinds of field as unknown bytes (a known number arriving
with another wire type cannot be read as our type); `DriftLog.walk` reads those bytes
back and looks at every enum value, through every nested message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import betterproto2

from .._proto.message_pool import default_message_pool
from .decode import wire_fields
from .descriptors import WIRE_TYPES
from .fields import FieldSpec, fields, unknown_of

WIRE_TYPE_NAMES = {0: "varint", 1: "fixed64", 2: "length-delimited", 5: "fixed32"}
_SAMPLE_BYTES = 24


@dataclass
class Observation:
    """One kind of drift on one field, with how often it was seen.

    `kind`: `unknown-field` (a number we do not declare), `wire-type` (our number, another
    wire type) or `enum-value` (a value our enum does not name).
    """

    kind: str
    message: str
    """The full name of the message it was seen in (`mxaccess_gateway.v1.MxEvent`)."""
    number: int
    wire_type: str
    field: str | None
    """Our field of that number (None for an unknown field)."""
    expected: str | None
    """Our type of that field: `uint64 (varint)`, or the enum's name."""
    sample: str
    """The first value seen, readable."""
    count: int = 0

    def text(self) -> str:
        """One readable line."""
        seen = f"seen {self.count} time{'s' if self.count != 1 else ''}"
        if self.kind == "unknown-field":
            return (f"{self.message}: unknown field {self.number} ({self.wire_type}), "
                    f"sample {self.sample}, {seen}")
        if self.kind == "wire-type":
            return (f"{self.message}.{self.field} ({self.number}): arrived {self.wire_type}, "
                    f"ours is {self.expected}, sample {self.sample}, {seen}")
        return (f"{self.message}.{self.field} ({self.number}): value {self.sample} is not in "
                f"{self.expected}, {seen}")

    def to_dict(self) -> dict[str, Any]:
        """As JSON spells it (lowerCamelCase)."""
        return {"kind": self.kind, "message": self.message, "number": self.number,
                "wireType": self.wire_type, "field": self.field, "expected": self.expected,
                "sample": self.sample, "count": self.count}


def full_name(cls: type[Any]) -> str:
    """The protobuf full name of a generated message class (its name if unregistered)."""
    url = default_message_pool.type_to_url.get(cls)
    return url.rsplit("/", 1)[-1] if url else cls.__name__


def _our_type(spec: FieldSpec) -> str:
    if spec.proto_type == "enum":
        return "enum"
    if spec.proto_type == "message":
        return full_name(spec.target) if spec.target is not None else "message"
    return spec.proto_type


def sample(wire_type: int, value: int | bytes) -> str:
    """A field's value, readable: a varint's number, text when it is printable UTF-8, else
    hex (the first bytes, and how many there are)."""
    if isinstance(value, int):
        return str(value)
    if wire_type == 2:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and text.isprintable():
            return repr(text[:40] + ("..." if len(text) > 40 else ""))
    head = value[:_SAMPLE_BYTES].hex()
    more = f"... ({len(value)} bytes)" if len(value) > _SAMPLE_BYTES else ""
    return f"0x{head}{more}" if value else "(empty)"


class DriftLog:
    """Observations of drift, one per (kind, message, number, wire type), with counts."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, int, str], Observation] = {}
        self._enum_values: dict[type[Any], frozenset[int]] = {}
        self.messages = 0
        """How many top-level messages were walked."""

    def observations(self) -> list[Observation]:
        """Everything seen, ordered by message, number and kind."""
        return sorted(self._seen.values(), key=lambda o: (o.message, o.number, o.kind))

    def __bool__(self) -> bool:
        return bool(self._seen)

    def _note(self, kind: str, message: str, number: int, wire_type: str, field: str | None,
              expected: str | None, value: str) -> None:
        key = (kind, message, number, wire_type)
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = Observation(kind, message, number, wire_type, field,
                                                 expected, value)
        seen.count += 1

    def walk(self, message: betterproto2.Message) -> None:
        """Note the drift in `message` and every message nested in it."""
        self.messages += 1
        self._walk(message)

    def _walk(self, message: betterproto2.Message) -> None:
        cls = type(message)
        name = full_name(cls)
        specs = fields(cls)
        for spec in specs:
            value = getattr(message, spec.name)
            if value is None:
                continue
            values = value if spec.repeated else [value]
            if spec.proto_type == "enum":
                named = self._known_values(spec.target)
                for item in values:
                    if int(item) not in named:
                        self._note("enum-value", name, spec.number, "varint", spec.name,
                                   spec.target.__name__, str(int(item)))
            elif spec.proto_type == "message" and not spec.wrapped:
                for item in values:
                    self._walk(item)
        raw = unknown_of(message)
        if not raw:
            return
        by_number = {spec.number: spec for spec in specs}
        for number, wire_type, value in wire_fields(raw):
            wire = WIRE_TYPE_NAMES[wire_type]
            known = by_number.get(number)
            if known is None:
                self._note("unknown-field", name, number, wire, None, None,
                           sample(wire_type, value))
            else:
                # (a map travels as its repeated entry messages)
                ours = 2 if known.proto_type == "map" else WIRE_TYPES.get(known.proto_type, 0)
                expected = f"{_our_type(known)} ({WIRE_TYPE_NAMES[ours]})"
                self._note("wire-type", name, number, wire, known.name, expected,
                           sample(wire_type, value))

    def _known_values(self, enum: type[Any]) -> frozenset[int]:
        known = self._enum_values.get(enum)
        if known is None:  # iterating an enum class gives its declared members only
            known = self._enum_values[enum] = frozenset(int(m) for m in enum)
        return known
