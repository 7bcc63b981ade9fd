"""What the generated code declares about each message class, read once per class.

The one module that touches betterproto2's private state: `_betterproto_fields` (field
metadata, and class metadata for a map field), `keep_unknown` / `unknown_of` (the bytes
of fields the contract does not know) and `constructor` (building a message without the
dataclass machinery).
betterproto2 is pinned to one minor version; tests/contract/test_codec.py fails if
what these rely on changes.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args, get_type_hints

import betterproto2

VARINT_TYPES = frozenset({"int32", "int64", "uint32", "uint64", "bool", "enum"})
INT64_TYPES = frozenset({"int64", "uint64", "sint64", "fixed64", "sfixed64"})
FIXED_TYPES = frozenset({"double", "float"})


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


def _betterproto_fields(cls: type[Any]) -> list[FieldSpec]:
    """The fields of a generated class, in declaration order.

    Read from the public dataclass fields: betterproto2 keeps what it declares about a
    field in `field.metadata["betterproto"]` (its FieldMetadata), and a message or enum
    field's class is its type hint (the hints of a class are resolved once, here). Not
    from betterproto2's private class metadata (`_betterproto`): building that resolves
    every type hint of the class again for each of its fields (`get_type_hints` per
    field), tens of milliseconds on the first command a process sends. Only a map
    field reads it, for the entry class betterproto2 makes (none in this contract).
    betterproto2 is pinned to one minor version; tests/contract/test_codec.py fails if
    what this reads changes shape.
    """
    hints = get_type_hints(cls, vars(sys.modules[cls.__module__]), {})
    specs = []
    for field in dataclasses.fields(cls):
        meta = field.metadata["betterproto"]
        with warnings.catch_warnings():  # deprecated fields warn when their default is made
            warnings.simplefilter("ignore", DeprecationWarning)
            default = field.default_factory()  # type: ignore[operator]  # betterproto2 sets one
        wrapped = meta.proto_type == "message" and meta.unwrap is not None
        if wrapped:
            target = meta.unwrap()
        elif meta.proto_type == "map":
            target = cls._betterproto.cls_by_field[field.name]
        elif meta.proto_type in ("message", "enum"):
            target = _class_of(hints[field.name])
        else:
            target = None
        specs.append(FieldSpec(field.name, meta.number, meta.proto_type, bool(meta.repeated),
                               bool(meta.optional), meta.group, target, wrapped, default))
    return specs


def _class_of(hint: Any) -> Any:
    """The class a field's type hint names: `X` for `X`, `X | None` and `list[X]` (the
    rule betterproto2 resolves field classes by: the first type argument, if any)."""
    args = get_args(hint)
    return args[0] if args else hint


UNKNOWN_ATTRIBUTE = "_unknown_fields"
"""The instance attribute betterproto2 keeps unknown fields' bytes in (`keep_unknown`)."""


def keep_unknown(message: Any, raw: bytes) -> None:
    """Attach the bytes of fields this contract does not know, as betterproto2's own parser
    does (`bytes(message)` writes them back after the known fields)."""
    setattr(message, UNKNOWN_ATTRIBUTE, raw)


def unknown_of(message: Any) -> bytes:
    """The bytes of the fields of `message` this contract does not know."""
    return getattr(message, UNKNOWN_ATTRIBUTE)  # type: ignore[no-any-return]


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


def instance_layout(cls: type[Any]) -> list[tuple[str, Any, bool]] | None:
    """What the instance dict of a generated class holds after its dataclass `__init__`
    and betterproto2's `__post_init__`, in order: (name, default, fresh), `fresh` for a
    repeated field or map (a new empty list or dict each time, `default` its factory);
    UNKNOWN_ATTRIBUTE first, with b"". None for classes that add their own
    `__post_init__` or `__slots__`: those must be built with `cls(**values)`."""
    if "__slots__" in vars(cls) or cls.__post_init__ is not betterproto2.Message.__post_init__:
        return None
    layout: list[tuple[str, Any, bool]] = [(UNKNOWN_ATTRIBUTE, b"", False)]
    for spec in fields(cls):
        if spec.repeated or spec.proto_type == "map":
            layout.append((spec.name, list if spec.repeated else dict, True))
        else:
            layout.append((spec.name, spec.default, False))
    return layout


def constructor(cls: type[Any]) -> Callable[[dict[str, Any]], Any]:
    """A fast `cls(**values)` for a generated class: its instance dict is filled in one
    step (defaults, then `values`, and no unknown fields) instead of running the
    dataclass `__init__` and betterproto2's `__post_init__` (a third of a parse's cost).
    Classes that add their own `__post_init__` or `__slots__` get `cls(**values)`.
    (decode.py's compiled readers build the same dict as a literal: `instance_layout`.)"""
    layout = instance_layout(cls)
    if layout is None:
        return lambda values: cls(**values)
    constant = {name: default for name, default, fresh in layout if not fresh}
    fresh = [(name, factory) for name, factory, is_fresh in layout if is_fresh]
    new = object.__new__

    def build(values: dict[str, Any]) -> Any:
        message = new(cls)
        state = dict(constant)
        for name, factory in fresh:
            state[name] = factory()
        state.update(values)
        message.__dict__ = state
        return message
    return build
