"""Protobuf-JSON of the generated messages (what the CLI prints).

`message.to_dict(include_default_values=True)` with unset messages, oneof arms and
proto3-optional scalars left out: lowerCamelCase names, full enum names, 64-bit integers
as strings, bytes as base64, Timestamp/Duration as RFC 3339 / `1.5s`. Each class gets a
straight-line converter compiled from its fields on first use (betterproto2 resolves type
hints again on every `to_dict`; a loop over the fields dispatching on each one's type
costs about twice the compiled form).
"""

from __future__ import annotations

import base64
import datetime as dt
import keyword
import math
from collections.abc import Callable
from typing import Any

import betterproto2

from .fields import INT64_TYPES, FieldSpec, fields


def _json_float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _json_name(spec: FieldSpec) -> str:
    return betterproto2.Casing.CAMEL(spec.name).rstrip("_")


def _enum_json(target: Any, value: Any) -> Any:
    """An enum value missing from the compiled name table: its number when the contract
    does not name it."""
    member = target(value)
    if not member.name:
        return member.value  # a number this contract does not name
    return member.proto_name or member.name


def _element(spec: FieldSpec, i: int, env: dict[str, Any]) -> str:
    """The expression of one value `x` of field `spec` in protobuf-JSON."""
    proto_type = spec.proto_type
    if proto_type == "message":
        env[f"T{i}"] = spec.target
        if not spec.wrapped:
            return "to_json(x)"
        wrapped = f"T{i}.from_wrapped(x).to_dict(include_default_values=True)"
        if spec.target.__name__ == "Timestamp":
            # Timestamp.to_dict is timestamp_to_json(self.to_datetime()), and to_datetime
            # gives back the datetime from_wrapped took, in UTC (both keep whole
            # microseconds): for a UTC datetime (every one decoded) the same text without
            # the round trip (two thirds of a read result's cost). Any other goes the long
            # way: timestamp_to_json takes the fraction before it turns to UTC (wrong in a
            # zone off by a fraction of a second), and a naive one fails as from_wrapped.
            env["UTC"] = dt.timezone.utc
            return f"T{i}.timestamp_to_json(x) if x.tzinfo is UTC else {wrapped}"
        return wrapped
    if proto_type == "enum":
        env[f"T{i}"] = spec.target
        env[f"N{i}"] = {member.value: member.proto_name or member.name
                        for member in spec.target if member.name}
        return f"N{i}.get(x) or enum_json(T{i}, x)"  # a name is never empty
    if proto_type in INT64_TYPES:
        return "str(x)"
    if proto_type == "bytes":
        return "b64(x).decode('ascii')"
    if proto_type in ("float", "double"):
        return "json_float(x)"
    return "x"


Jsoner = Callable[[Any], dict[str, Any]]
_JSONERS: dict[type[Any], Jsoner] = {}


def _compile(cls: type[Any]) -> Jsoner:
    """A straight-line `to_json` for one class: each field's read, test and conversion
    written out (no loop over the fields, no dispatch on their types), in declaration
    order; unset messages, oneof arms and optional scalars (None) left out."""
    env: dict[str, Any] = {"to_json": to_json, "enum_json": _enum_json,
                           "b64": base64.b64encode, "json_float": _json_float}
    lines = ["def convert(m):", "    out = {}"]
    for i, spec in enumerate(fields(cls)):
        key = _json_name(spec)
        read = (f"m.{spec.name}" if spec.name.isidentifier() and not keyword.iskeyword(spec.name)
                else f"getattr(m, {spec.name!r})")
        element = _element(spec, i, env)
        if spec.repeated:
            lines.append(f"    out[{key!r}] = [{element} for x in {read}]")
        elif spec.proto_type == "map":
            lines.append(f"    out[{key!r}] = m.to_dict(include_default_values=True)[{key!r}]")
        else:
            lines += [f"    x = {read}", "    if x is not None:",
                      f"        out[{key!r}] = {element}"]
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<mxgw protojson of {cls.__qualname__}>", "exec"), env)
    jsoner: Jsoner = env["convert"]
    return jsoner


def to_json(message: betterproto2.Message) -> dict[str, Any]:
    """A message as a protobuf-JSON dict (field order as declared)."""
    cls = type(message)
    jsoner = _JSONERS.get(cls)
    if jsoner is None:
        jsoner = _JSONERS[cls] = _compile(cls)
    return jsoner(message)
