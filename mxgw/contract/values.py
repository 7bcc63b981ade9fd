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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._proto.mxaccess_gateway import v1 as pb
from ..errors import ValueConversionError
from .checks import (
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    UINT32_MAX,
    aware_utc,
    is_int,
)
from .encode import encode, field_encoder
from .fields import constructor

FLOAT32_MAX = 3.4028234663852886e38

_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class MxType:
    """How one value type travels in an MxValue."""

    name: str
    """The type name `to_mx_value` takes (`"int32"`; `"int32[]"` for its array)."""
    data_type: pb.MxDataType
    variant: str
    """The COM VARIANT type name (`VT_I4`); an array is `VT_ARRAY|VT_I4`."""
    scalar_field: str
    """The MxValue oneof arm holding one value."""
    array_field: str
    """The MxArray repeated field holding an array of it ("" when arrays are not allowed)."""


TYPES: dict[str, MxType] = {t.name: t for t in (
    MxType("bool", pb.MxDataType.BOOLEAN, "VT_BOOL", "bool_value", "bool_values"),
    MxType("int32", pb.MxDataType.INTEGER, "VT_I4", "int32_value", "int32_values"),
    MxType("int64", pb.MxDataType.INTEGER, "VT_I8", "int64_value", "int64_values"),
    MxType("float", pb.MxDataType.FLOAT, "VT_R4", "float_value", "float_values"),
    MxType("double", pb.MxDataType.DOUBLE, "VT_R8", "double_value", "double_values"),
    MxType("string", pb.MxDataType.STRING, "VT_BSTR", "string_value", "string_values"),
    MxType("datetime", pb.MxDataType.TIME, "VT_DATE", "timestamp_value", "timestamp_values"),
    MxType("duration", pb.MxDataType.ELAPSED_TIME, "VT_R8", "elapsed_value", "elapsed_values"),
    MxType("bytes", pb.MxDataType.UNKNOWN, "VT_RECORD", "bytes_value", ""),
)}
"""The MxValue table: every value type, its MxDataType, VARIANT name and fields."""

TYPE_NAMES = tuple(TYPES)
"""Explicit type names accepted by `to_mx_value` (add `[]` for an array)."""

BY_DATA_TYPE: dict[pb.MxDataType, MxType] = {}
"""The type an attribute of each MxDataType has (INTEGER: int32)."""
for _type in TYPES.values():
    BY_DATA_TYPE.setdefault(_type.data_type, _type)
del BY_DATA_TYPE[pb.MxDataType.UNKNOWN]

SCALAR_FIELDS = tuple(t.scalar_field for t in TYPES.values())
"""The MxValue oneof arms holding one value, in table order."""
ARRAY_FIELDS = tuple(t.array_field for t in TYPES.values() if t.array_field)
"""The MxArray repeated fields, in table order."""

ALIASES = {
    "boolean": "bool", "int": "int32", "integer": "int32", "i4": "int32", "i8": "int64",
    "long": "int64", "real": "float", "single": "float", "r4": "float", "r8": "double",
    "str": "string", "bstr": "string", "time": "datetime", "timestamp": "datetime",
    "date": "datetime", "elapsed": "duration", "timedelta": "duration",
    "elapsedtime": "duration", "timespan": "duration", "record": "bytes",
}
"""Other spellings accepted for the type names (case does not matter)."""


def canonical_type(type_name: str) -> str:
    """The canonical spelling of a type name (`"Integer[]"` -> `"int32[]"`)."""
    text = type_name.strip().lower()
    array = text.endswith("[]")
    base = text[:-2] if array else text
    base = ALIASES.get(base, base)
    return f"{base}[]" if array else base


def array_items(value: pb.MxValue) -> list[Any] | None:
    """The items of an array MxValue (from whichever field holds them), or None if it is
    not an array."""
    array = value.array_value
    if array is None:
        return None
    for name in ARRAY_FIELDS:
        items = getattr(array, name)
        if items:
            return list(items)
    return []


def scalar_of(value: pb.MxValue) -> Any:
    """The one value of a scalar MxValue (None when no arm is set)."""
    for name in SCALAR_FIELDS:
        found = getattr(value, name)
        if found is not None:
            return found
    return None


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


_INT_RANGES = {"int32": (INT32_MIN, INT32_MAX), "int64": (INT64_MIN, INT64_MAX)}


def _check(type_name: str, value: Any) -> Any:
    """Validate one scalar against a type name and return it in wire form."""
    if type_name == "bool":
        if not isinstance(value, bool):
            raise ValueConversionError(f"expected a bool, got {type(value).__name__}")
        return value
    if type_name in ("int32", "int64"):
        if not is_int(value):
            raise ValueConversionError(f"expected an integer, got {type(value).__name__}")
        low, high = _INT_RANGES[type_name]
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
        return aware_utc("a datetime value", value, error=ValueConversionError)
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


_NEW_VALUE: Callable[[dict[str, Any]], pb.MxValue] = constructor(pb.MxValue)


def _type_fields(type_name: str) -> dict[str, Any]:
    mx_type = TYPES[type_name]
    return {"data_type": mx_type.data_type, "variant_type": mx_type.variant}


_INT32_VALUE, _DOUBLE_VALUE = _type_fields("int32"), _type_fields("double")
_STRING_VALUE, _BOOL_VALUE = _type_fields("string"), _type_fields("bool")


def _scalar(type_name: str, value: Any) -> pb.MxValue:
    mx_type = TYPES[type_name]
    built: pb.MxValue = _NEW_VALUE({"data_type": mx_type.data_type,
                                    "variant_type": mx_type.variant,
                                    mx_type.scalar_field: _check(type_name, value)})
    return built


def _array(type_name: str, values: Sequence[Any]) -> pb.MxValue:
    mx_type = TYPES[type_name]
    if not mx_type.array_field:
        raise ValueConversionError(f"arrays of {type_name} are not supported")
    array = pb.MxArray(element_data_type=mx_type.data_type)
    setattr(array, mx_type.array_field, [_check(type_name, v) for v in values])
    return pb.MxValue(data_type=mx_type.data_type, variant_type=f"VT_ARRAY|{mx_type.variant}",
                      array_value=array)


def _sparse(sparse: SparseArray) -> pb.MxValue:
    length = sparse.total_length
    if not is_int(length) or not 0 <= length <= UINT32_MAX:
        raise ValueConversionError(f"a sparse array's total_length must be a uint32, got "
                                   f"{length!r}")
    present = list(sparse.values.values())
    declared = canonical_type(sparse.element_type) if sparse.element_type else None
    if declared is not None and declared not in TYPES:
        _check(declared, None)  # raises the unknown-type error
    type_name = declared or (infer_type(present[0]) if present else "int32")
    if declared is None and type_name == "int32":
        if any(infer_type(v) == "int64" for v in present):
            type_name = "int64"
    for index in sparse.values:
        if not is_int(index) or not 0 <= index < length:
            raise ValueConversionError(f"sparse index {index!r} is outside 0..{length - 1}")
    elements = [
        pb.MxSparseElement(index=index, value=_scalar(type_name, sparse.values[index]))
        for index in sorted(sparse.values)
    ]
    mx_type = TYPES[type_name]
    return pb.MxValue(
        data_type=mx_type.data_type,
        variant_type=f"VT_ARRAY|{mx_type.variant}",
        sparse_array_value=pb.MxSparseArray(
            element_data_type=mx_type.data_type, total_length=sparse.total_length, elements=elements
        ),
    )


def to_mx_value(value: Any, type_name: str | None = None) -> pb.MxValue:
    """Convert a Python value to an MxValue, or raise ValueConversionError.

    `type_name` forces a type (`"int64"`, `"float"`, `"double[]"`...); without it the type
    follows the value: int32 when it fits, else int64; float is double.
    """
    if type_name is None:
        # The usual values, typed by themselves: no type name to read, nothing to check
        # but an int's range and a float's finiteness.
        kind = type(value)
        if kind is int and INT32_MIN <= value <= INT32_MAX:
            return _NEW_VALUE({**_INT32_VALUE, "int32_value": value})
        if kind is float and math.isfinite(value):
            return _NEW_VALUE({**_DOUBLE_VALUE, "double_value": value})
        if kind is str:
            return _NEW_VALUE({**_STRING_VALUE, "string_value": value})
        if kind is bool:
            return _NEW_VALUE({**_BOOL_VALUE, "bool_value": value})
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
    if type_name not in TYPES:
        _check(type_name, value)  # raises the unknown-type error
    return _scalar(type_name, value)


Scalar = tuple[bytes, Callable[[Any], bytes], str]
"""How a scalar type's MxValue is encoded: its type fields' bytes, then its arm's; and
the canonical type name."""
_SCALARS: dict[str, Scalar | None] = {}
"""By type name as given: None for a type not encoded this way (arrays, timestamps...)."""


def _scalar_encoding(type_name: str) -> Scalar | None:
    found = _SCALARS.get(type_name)
    if found is None and type_name not in _SCALARS:
        name = canonical_type(type_name)
        mx_type = TYPES.get(name)
        arm = field_encoder(pb.MxValue, mx_type.scalar_field) if mx_type is not None else None
        # The type fields come first in MxValue, the oneof arms after them.
        found = _SCALARS[type_name] = (
            None if arm is None else (encode(_NEW_VALUE(_type_fields(name))), arm, name))
    return found


_SCALAR_KINDS = {int: "int32", float: "double", str: "string", bool: "bool"}
"""The type of a value given without a type name, for the usual values (to_mx_value's)."""


ValueEncoder = Callable[[Any], bytes]
"""The bytes of `to_mx_value(value, type_name)` for one type name, from the value."""
_ENCODERS: dict[str | None, ValueEncoder] = {}
_NOT_SCALAR = (list, tuple, pb.MxValue, SparseArray, type(None))
"""Values that to_mx_value does not convert by the type name alone."""


def value_encoder(type_name: str | None = None) -> ValueEncoder:
    """`lambda value: encode(to_mx_value(value, type_name))`, with no message for a scalar
    (a bulk write's usual value): the same checks, the same bytes, several times faster."""
    found = _ENCODERS.get(type_name)
    if found is None:
        found = _ENCODERS[type_name] = _new_value_encoder(type_name)
    return found


def _new_value_encoder(type_name: str | None) -> ValueEncoder:
    if type_name is None:
        def by_kind(value: Any) -> bytes:
            name = _SCALAR_KINDS.get(type(value))
            if name == "int32" and not INT32_MIN <= value <= INT32_MAX:
                name = None
            elif name == "double" and not math.isfinite(value):
                name = None
            scalar = _scalar_encoding(name) if name is not None else None
            if scalar is None:
                return encode(to_mx_value(value))
            return scalar[0] + scalar[1](value)
        return by_kind
    scalar = _scalar_encoding(type_name)
    if scalar is None:
        return lambda value: encode(to_mx_value(value, type_name))
    prefix, arm, name = scalar

    def checked(value: Any) -> bytes:
        if isinstance(value, _NOT_SCALAR):
            return encode(to_mx_value(value, type_name))
        return prefix + arm(_check(name, value))
    if name in _INT_RANGES:
        return _int_encoder(prefix, arm, *_INT_RANGES[name], checked)
    return checked


def _int_encoder(prefix: bytes, arm: ValueEncoder, low: int, high: int,
                 other: ValueEncoder) -> ValueEncoder:
    """An integer type's encoder: a plain int in range needs no other check (`_check`'s
    rule for it), anything else goes to `other` (which checks, and raises)."""
    def encoder(value: Any) -> bytes:
        if type(value) is int and low <= value <= high:
            return prefix + arm(value)
        return other(value)
    return encoder


def mx_value_bytes(value: Any, type_name: str | None = None) -> bytes:
    """`encode(to_mx_value(value, type_name))`, faster for a scalar (`value_encoder`)."""
    return value_encoder(type_name)(value)


def _element_type(data_type: pb.MxDataType) -> str | None:
    found = BY_DATA_TYPE.get(data_type)
    return found.name if found is not None else None


def from_mx_value(value: pb.MxValue | None) -> MxPython:
    """Convert an MxValue to the matching Python value (None for null or empty)."""
    if value is None or value.is_null:
        return None
    if value.array_value is not None:
        array = value.array_value
        element = _element_type(array.element_data_type)
        if element is not None:
            if element == "int32" and array.int64_values:
                return list(array.int64_values)
            return list(getattr(array, TYPES[element].array_field))
        return array_items(value)
    if value.sparse_array_value is not None:
        sparse = value.sparse_array_value
        return SparseArray(
            sparse.total_length,
            {e.index: from_mx_value(e.value) for e in sparse.elements},
            _element_type(sparse.element_data_type),
        )
    return scalar_of(value)  # type: ignore[no-any-return]
