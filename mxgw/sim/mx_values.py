"""Simulator-side MxValue building: Python values <-> MxValue for an attribute's type.

The MxValue table is the contract layer's (`mxgw.contract.values`); what is the
simulator's own is the type-driven coercion of a written value to the attribute's
declared type, as MXAccess does on a write. Statuses are
built by `mx_status`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from .._proto.mxaccess_gateway import v1 as pb
from ..contract.checks import INT32_MAX, INT32_MIN
from ..contract.values import BY_DATA_TYPE, TYPES, array_items, scalar_of
from .galaxy import (
    MX_BOOLEAN,
    MX_DOUBLE,
    MX_ELAPSED,
    MX_FLOAT,
    MX_INTEGER,
    MX_STRING,
    MX_TIME,
)

# Native enums travel shifted by 2 in MxDataType / MxStatusCategory / MxStatusSource.
SHIFT = 2

QUALITY_GOOD, QUALITY_BAD, QUALITY_WAITING = 192, 0, 0x20

def default_value(data_type: int) -> Any:
    """The value an attribute of a type starts from / resets to."""
    return {
        MX_BOOLEAN: False, MX_INTEGER: 0, MX_FLOAT: 0.0, MX_DOUBLE: 0.0, MX_STRING: "",
        MX_TIME: dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
        MX_ELAPSED: dt.timedelta(0),
    }.get(data_type, 0)


def to_mx(value: Any, data_type: int) -> pb.MxValue:
    """A Python value of an attribute's type as an MxValue (list -> array)."""
    wire_type = pb.MxDataType(data_type + SHIFT)
    mx_type = BY_DATA_TYPE.get(wire_type, TYPES["int32"])
    if isinstance(value, list):
        array = pb.MxArray(element_data_type=wire_type)
        setattr(array, mx_type.array_field, list(value))
        return pb.MxValue(data_type=wire_type, variant_type=f"VT_ARRAY|{mx_type.variant}",
                          raw_data_type=data_type, array_value=array)
    message = pb.MxValue(data_type=wire_type, variant_type=mx_type.variant,
                         raw_data_type=data_type)
    setattr(message, mx_type.scalar_field, value)
    return message


def null_value() -> pb.MxValue:
    return pb.MxValue(data_type=pb.MxDataType.NO_DATA, variant_type="VT_EMPTY", is_null=True,
                      raw_data_type=0)


class WrongType(Exception):
    """The value cannot be coerced to the attribute's type (MXAccess WrongDataType)."""


def coerce_scalar(raw: Any, data_type: int) -> Any:
    """Coerce one value to `data_type` as MXAccess would, or raise WrongType."""
    try:
        if data_type == MX_BOOLEAN:
            if isinstance(raw, str):
                if raw.strip().lower() in ("true", "1", "on"):
                    return True
                if raw.strip().lower() in ("false", "0", "off"):
                    return False
                raise WrongType(raw)
            if isinstance(raw, (bool, int, float)):
                return bool(raw)
        elif data_type == MX_INTEGER:
            if isinstance(raw, bool):
                return -1 if raw else 0
            number = float(raw) if isinstance(raw, str) else raw
            if isinstance(number, (int, float)) and math.isfinite(number):
                result = round(number)
                if INT32_MIN <= result <= INT32_MAX:
                    return result
        elif data_type in (MX_FLOAT, MX_DOUBLE):
            if isinstance(raw, (bool, int, float, str)) and not isinstance(raw, bool):
                number = float(raw)
                if math.isfinite(number) and (data_type == MX_DOUBLE or abs(number) <= 3.4e38):
                    return number
        elif data_type == MX_STRING:
            if isinstance(raw, (str, int, float, bool)):
                return str(raw)
        elif data_type == MX_TIME:
            if isinstance(raw, dt.datetime):
                return raw
            if isinstance(raw, str):
                return dt.datetime.fromisoformat(raw)
        elif data_type == MX_ELAPSED:
            if isinstance(raw, dt.timedelta):
                return raw
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                return dt.timedelta(seconds=raw)
    except (ValueError, OverflowError):
        pass
    raise WrongType(repr(raw))


def coerce(value: pb.MxValue, data_type: int, is_array: bool) -> Any:
    """Coerce a written MxValue to an attribute's type (a list for an array)."""
    items = array_items(value)
    if is_array:
        if items is None:
            raise WrongType("an array attribute needs an array value")
        return [coerce_scalar(item, data_type) for item in items]
    if items is not None:
        raise WrongType("a scalar attribute cannot take an array")
    if value.is_null:
        raise WrongType("null")
    raw = scalar_of(value)
    if raw is None:
        raise WrongType("empty value")
    return coerce_scalar(raw, data_type)
