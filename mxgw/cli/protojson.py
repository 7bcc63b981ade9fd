"""Protobuf-JSON of generated messages, fast.

The same output as `msg.to_dict(include_default_values=True)` with unset messages, oneof
arms and proto3-optional scalars left out: lowerCamelCase names, full enum names, 64-bit
integers as strings, bytes as base64, Timestamp/Duration as RFC 3339 / `1.5s`.
betterproto2 resolves every class's type hints again on each `to_dict` call (about half
a millisecond per message); here each class's field plan is computed once. The per-value
conversions are betterproto2's own (the package is pinned to one version); a test checks
the output against `to_dict` on real replies, events and Galaxy objects.
"""

from __future__ import annotations

from typing import Any

import betterproto2
from betterproto2 import Casing, OutputFormat, _value_to_dict

FieldPlan = tuple[str, str, Any, Any]
"""(attribute name, JSON name, betterproto2 FieldMetadata, element type)."""

_PLANS: dict[type[Any], list[FieldPlan]] = {}


def _plan(cls: type[Any]) -> list[FieldPlan]:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = cls._type_hints()
        plan = []
        for name, meta in cls._betterproto.meta_by_field_name.items():
            field_type = hints[name]
            if meta.repeated or meta.optional:
                field_type = field_type.__args__[0]
            plan.append((name, Casing.CAMEL(name).rstrip("_"), meta, field_type))
        _PLANS[cls] = plan
    return plan


def _value(value: Any, meta: Any, field_type: Any) -> Any:
    if meta.proto_type == betterproto2.TYPE_MESSAGE:
        if meta.unwrap is not None:  # Timestamp, Duration, wrappers: their own to_dict
            return meta.unwrap().from_wrapped(value).to_dict(include_default_values=True)
        return message_json(value)
    return _value_to_dict(value, meta.proto_type, field_type, None, OutputFormat.PROTO_JSON,
                          Casing.CAMEL, True)[0]


def message_json(message: betterproto2.Message) -> dict[str, Any]:
    """A message as a protobuf-JSON dict (field order as declared)."""
    out: dict[str, Any] = {}
    for name, key, meta, field_type in _plan(type(message)):
        value = getattr(message, name)
        if meta.repeated:
            out[key] = [_value(v, meta, field_type) for v in value]
        elif meta.proto_type == betterproto2.TYPE_MAP:
            out[key] = message.to_dict(include_default_values=True)[key]
        elif value is not None:
            out[key] = _value(value, meta, field_type)
    return out
