"""Protobuf-JSON of the generated messages (what the CLI prints).

`message.to_dict(include_default_values=True)` with unset messages, oneof arms and
proto3-optional scalars left out: lowerCamelCase names, full enum names, 64-bit integers
as strings, bytes as base64, Timestamp/Duration as RFC 3339 / `1.5s`; each class's plan
is computed once (betterproto2 resolves type hints again on every `to_dict`).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import betterproto2

from .fields import INT64_TYPES, FieldSpec, fields


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
