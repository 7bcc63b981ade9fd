"""Python values to and from MxValue, with every rejection rule in one place.

    to_mx_value(42)                      -> Integer, VT_I4
    to_mx_value(2**40)                   -> int64, VT_I8
    to_mx_value(1.5, "float")            -> Float, VT_R4
    to_mx_value([1, 2, 3])               -> an Integer array
    to_mx_value(SparseArray(10, {1: 5})) -> a sparse array write (write only)
    from_mx_value(value)                 -> bool | int | float | str | datetime | timedelta
                                            | bytes | list | SparseArray | None
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._proto.mxaccess_gateway import v1 as pb
from .errors import ValueConversionError

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT32_MAX = 3.4028234663852886e38
_MICROSECOND = dt.timedelta(microseconds=1)


# type name -> (MxDataType, variant type, MxValue oneof field, MxArray repeated field)
_TYPES: dict[str, tuple[pb.MxDataType, str, str, str]] = {
    "bool": (pb.MxDataType.BOOLEAN, "VT_BOOL", "bool_value", "bool_values"),
    "int32": (pb.MxDataType.INTEGER, "VT_I4", "int32_value", "int32_values"),
    "int64": (pb.MxDataType.INTEGER, "VT_I8", "int64_value", "int64_values"),
    "float": (pb.MxDataType.FLOAT, "VT_R4", "float_value", "float_values"),
    "double": (pb.MxDataType.DOUBLE, "VT_R8", "double_value", "double_values"),
    "string": (pb.MxDataType.STRING, "VT_BSTR", "string_value", "string_values"),
    "datetime": (pb.MxDataType.TIME, "VT_DATE", "timestamp_value", "timestamp_values"),
    "duration": (pb.MxDataType.ELAPSED_TIME, "VT_R8", "elapsed_value", "elapsed_values"),
    "bytes": (pb.MxDataType.UNKNOWN, "VT_RECORD", "bytes_value", ""),
}
TYPE_NAMES = tuple(_TYPES)
"""Explicit type names accepted by `to_mx_value` (add `[]` for an array)."""

_ALIASES = {
    "boolean": "bool", "int": "int32", "integer": "int32", "i4": "int32", "i8": "int64",
    "long": "int64", "real": "float", "single": "float", "r4": "float", "r8": "double",
    "str": "string", "time": "datetime", "timestamp": "datetime", "elapsed": "duration",
    "timedelta": "duration", "elapsedtime": "duration", "record": "bytes",
}
"""Other spellings accepted for the type names (case does not matter)."""


def canonical_type(type_name: str) -> str:
    """The canonical spelling of a type name (`"Integer[]"` -> `"int32[]"`)."""
    text = type_name.strip().lower()
    array = text.endswith("[]")
    base = text[:-2] if array else text
    base = _ALIASES.get(base, base)
    return f"{base}[]" if array else base

_ELEMENT_TYPE_BY_DATA_TYPE = {
    pb.MxDataType.BOOLEAN: "bool",
    pb.MxDataType.INTEGER: "int32",
    pb.MxDataType.FLOAT: "float",
    pb.MxDataType.DOUBLE: "double",
    pb.MxDataType.STRING: "string",
    pb.MxDataType.TIME: "datetime",
    pb.MxDataType.ELAPSED_TIME: "duration",
}


@dataclass(frozen=True)
class SparseArray:
    """A write that sets some positions of an array (0-based here) and resets the rest."""

    total_length: int
    values: Mapping[int, Any] = field(default_factory=dict)
    element_type: str | None = None


MxPython = (
    bool | int | float | str | dt.datetime | dt.timedelta | bytes | list[Any] | SparseArray | None
)
"""What `from_mx_value` returns."""


def infer_type(value: Any) -> str:
    """The type name `to_mx_value` uses for `value` when none is given."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int32" if INT32_MIN <= value <= INT32_MAX else "int64"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.timedelta):
        return "duration"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes"
    raise ValueConversionError(f"no MxValue for a value of type {type(value).__name__}")


def _check(type_name: str, value: Any) -> Any:
    """Validate one scalar against a type name and return it in wire form."""
    if type_name == "bool":
        if not isinstance(value, bool):
            raise ValueConversionError(f"expected a bool, got {type(value).__name__}")
        return value
    if type_name in ("int32", "int64"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueConversionError(f"expected an integer, got {type(value).__name__}")
        low, high = (INT32_MIN, INT32_MAX) if type_name == "int32" else (INT64_MIN, INT64_MAX)
        if not low <= value <= high:
            raise ValueConversionError(f"{value} is out of range for {type_name}")
        return value
    if type_name in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueConversionError(f"expected a number, got {type(value).__name__}")
        try:
            number = float(value)
        except OverflowError:
            raise ValueConversionError(f"{value} is out of range for {type_name}") from None
        if not math.isfinite(number):
            raise ValueConversionError(f"{number} has no MXAccess representation")
        if type_name == "float" and abs(number) > FLOAT32_MAX:
            raise ValueConversionError(f"{number} is out of range for float")
        return number
    if type_name == "string":
        if not isinstance(value, str):
            raise ValueConversionError(f"expected a str, got {type(value).__name__}")
        return value
    if type_name == "datetime":
        if not isinstance(value, dt.datetime):
            raise ValueConversionError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueConversionError(
                "naive datetime: give a timezone, e.g. datetime.now(timezone.utc)"
            )
        return value.astimezone(dt.timezone.utc)
    if type_name == "duration":
        if not isinstance(value, dt.timedelta):
            raise ValueConversionError(f"expected a timedelta, got {type(value).__name__}")
        micros = value // _MICROSECOND
        if abs(micros) > 2**53:
            raise ValueConversionError(f"{value} is out of range for duration")
        if micros < 0 and micros % 1_000_000:
            # betterproto2's Duration encoder gets these wrong by one second.
            raise ValueConversionError(
                f"a negative duration must be whole seconds, got {value}"
            )
        return value
    if type_name == "bytes":
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise ValueConversionError(f"expected bytes, got {type(value).__name__}")
        return bytes(value)
    raise ValueConversionError(
        f"unknown type {type_name!r}; expected one of {', '.join(TYPE_NAMES)} (or NAME[])"
    )


def _scalar(type_name: str, value: Any) -> pb.MxValue:
    data_type, variant, oneof_field, _ = _TYPES[type_name]
    message = pb.MxValue(data_type=data_type, variant_type=variant)
    setattr(message, oneof_field, _check(type_name, value))
    return message


def _array(type_name: str, values: Sequence[Any]) -> pb.MxValue:
    data_type, variant, _, repeated_field = _TYPES[type_name]
    if not repeated_field:
        raise ValueConversionError(f"arrays of {type_name} are not supported")
    array = pb.MxArray(element_data_type=data_type)
    setattr(array, repeated_field, [_check(type_name, v) for v in values])
    return pb.MxValue(
        data_type=data_type, variant_type=f"VT_ARRAY|{variant}", array_value=array
    )


def _sparse(sparse: SparseArray) -> pb.MxValue:
    length = sparse.total_length
    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= 2**32 - 1:
        raise ValueConversionError(f"a sparse array's total_length must be a uint32, got "
                                   f"{length!r}")
    present = list(sparse.values.values())
    declared = canonical_type(sparse.element_type) if sparse.element_type else None
    if declared is not None and declared not in _TYPES:
        _check(declared, None)  # raises the unknown-type error
    type_name = declared or (infer_type(present[0]) if present else "int32")
    if declared is None and type_name == "int32":
        if any(infer_type(v) == "int64" for v in present):
            type_name = "int64"
    for index in sparse.values:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < length:
            raise ValueConversionError(f"sparse index {index!r} is outside 0..{length - 1}")
    elements = [
        pb.MxSparseElement(index=index, value=_scalar(type_name, sparse.values[index]))
        for index in sorted(sparse.values)
    ]
    data_type, variant, _, _ = _TYPES[type_name]
    return pb.MxValue(
        data_type=data_type,
        variant_type=f"VT_ARRAY|{variant}",
        sparse_array_value=pb.MxSparseArray(
            element_data_type=data_type, total_length=sparse.total_length, elements=elements
        ),
    )


def to_mx_value(value: Any, type_name: str | None = None) -> pb.MxValue:
    """Convert a Python value to an MxValue, or raise ValueConversionError.

    `type_name` forces a type (`"int64"`, `"float"`, `"double[]"`...); without it the type
    follows the value: int32 when it fits, else int64; float is double.
    """
    if isinstance(value, pb.MxValue):
        return value
    if type_name is not None:
        type_name = canonical_type(type_name)
    if isinstance(value, SparseArray):
        return _sparse(value)
    if value is None:
        return pb.MxValue(data_type=pb.MxDataType.NO_DATA, variant_type="VT_EMPTY", is_null=True)
    if type_name is not None and type_name.endswith("[]"):
        if not isinstance(value, (list, tuple)):
            raise ValueConversionError(f"{type_name} needs a list, got {type(value).__name__}")
        return _array(type_name[:-2], value)
    if isinstance(value, (list, tuple)):
        if type_name is None:
            kinds = {infer_type(v) for v in value} or {"int32"}
            if kinds == {"int32", "int64"}:
                kinds = {"int64"}
            if len(kinds) != 1:
                raise ValueConversionError(
                    f"an array must be homogeneous; got {', '.join(sorted(kinds))}"
                )
            type_name = kinds.pop()
        return _array(type_name, value)
    if type_name is None:
        type_name = infer_type(value)
    if type_name not in _TYPES:
        _check(type_name, value)  # raises the unknown-type error
    return _scalar(type_name, value)


def from_mx_value(value: pb.MxValue | None) -> MxPython:
    """Convert an MxValue to the matching Python value (None for null or empty)."""
    if value is None or value.is_null:
        return None
    if value.array_value is not None:
        array = value.array_value
        element = _ELEMENT_TYPE_BY_DATA_TYPE.get(array.element_data_type)
        if element is not None:
            if element == "int32" and array.int64_values:
                return list(array.int64_values)
            return list(getattr(array, _TYPES[element][3]))
        for name in ("bool_values", "int32_values", "int64_values", "float_values",
                     "double_values", "string_values", "timestamp_values", "elapsed_values"):
            items = getattr(array, name)
            if items:
                return list(items)
        return []
    if value.sparse_array_value is not None:
        sparse = value.sparse_array_value
        return SparseArray(
            sparse.total_length,
            {e.index: from_mx_value(e.value) for e in sparse.elements},
            _ELEMENT_TYPE_BY_DATA_TYPE.get(sparse.element_data_type),
        )
    for _, _, oneof_field, _ in _TYPES.values():
        found = getattr(value, oneof_field)
        if found is not None:
            return found  # type: ignore[no-any-return]
    return None
