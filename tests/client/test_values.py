"""Python values <-> MxValue: round trips (property-based) and every rejection rule."""

from __future__ import annotations

import datetime as dt
import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mxgw
from mxgw import SparseArray, from_mx_value, pb, to_mx_value

INT32 = st.integers(-(2**31), 2**31 - 1)
INT64_ONLY = st.one_of(st.integers(-(2**63), -(2**31) - 1), st.integers(2**31, 2**63 - 1))
FINITE = st.floats(allow_nan=False, allow_infinity=False)
AWARE = st.datetimes(
    min_value=dt.datetime(1601, 1, 2), max_value=dt.datetime(9998, 12, 31),
    timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=-5)),
                               dt.timezone(dt.timedelta(hours=5, minutes=30))]),
)
DURATIONS = st.one_of(
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=10**5)),
    st.integers(-(10**9), 0).map(lambda s: dt.timedelta(seconds=s)),
)
"""Durations the wire can carry: negative ones in whole seconds (see values.py)."""


def wire(value: pb.MxValue) -> pb.MxValue:
    """What the peer parses: the value through real protobuf bytes."""
    return pb.MxValue.parse(bytes(value))


def float32(x: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


@given(st.booleans())
def test_bool_round_trips(value: bool) -> None:
    mx = wire(to_mx_value(value))
    assert (mx.data_type, mx.variant_type) == (pb.MxDataType.BOOLEAN, "VT_BOOL")
    assert from_mx_value(mx) is value


@given(INT32)
def test_int_in_int32_range_is_vt_i4(value: int) -> None:
    mx = wire(to_mx_value(value))
    assert mx.variant_type == "VT_I4" and mx.int32_value == value
    assert from_mx_value(mx) == value


@given(INT64_ONLY)
def test_int_beyond_int32_is_vt_i8(value: int) -> None:
    mx = wire(to_mx_value(value))
    assert mx.variant_type == "VT_I8" and mx.int64_value == value
    assert from_mx_value(mx) == value


@given(INT32)
def test_explicit_int64_overrides_the_inferred_int32(value: int) -> None:
    mx = wire(to_mx_value(value, "int64"))
    assert mx.variant_type == "VT_I8" and from_mx_value(mx) == value


@given(FINITE)
def test_double_round_trips_exactly(value: float) -> None:
    mx = wire(to_mx_value(value))
    assert mx.variant_type == "VT_R8"
    assert from_mx_value(mx) == value


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_float_round_trips_at_float32_precision(value: float) -> None:
    mx = wire(to_mx_value(value, "float"))
    assert mx.variant_type == "VT_R4"
    assert from_mx_value(mx) == float32(value)


@given(st.text())
def test_str_round_trips(value: str) -> None:
    assert from_mx_value(wire(to_mx_value(value))) == value


@given(AWARE)
def test_aware_datetime_round_trips_as_the_same_instant(value: dt.datetime) -> None:
    back = from_mx_value(wire(to_mx_value(value)))
    assert isinstance(back, dt.datetime) and back.tzinfo is not None
    assert back == value


@given(DURATIONS)
def test_timedelta_round_trips(value: dt.timedelta) -> None:
    assert from_mx_value(wire(to_mx_value(value))) == value


@given(st.binary())
def test_bytes_are_an_opaque_vt_record(value: bytes) -> None:
    mx = wire(to_mx_value(value))
    assert mx.variant_type == "VT_RECORD"
    assert from_mx_value(mx) == value


@given(st.one_of(st.lists(st.booleans()), st.lists(INT32), st.lists(FINITE),
                 st.lists(st.text()), st.lists(AWARE), st.lists(DURATIONS)))
def test_homogeneous_lists_round_trip_as_arrays(values: list[Any]) -> None:
    mx = wire(to_mx_value(values))
    assert mx.variant_type.startswith("VT_ARRAY|")
    assert from_mx_value(mx) == values


@given(st.lists(INT32, min_size=1), INT64_ONLY)
def test_a_list_with_one_big_int_becomes_an_int64_array(values: list[int], big: int) -> None:
    mixed = [*values, big]
    mx = wire(to_mx_value(mixed))
    assert mx.variant_type == "VT_ARRAY|VT_I8"
    assert from_mx_value(mx) == mixed


@given(st.integers(1, 200).flatmap(lambda n: st.tuples(
    st.just(n), st.dictionaries(st.integers(0, n - 1), INT32, max_size=n))))
def test_sparse_arrays_round_trip(case: tuple[int, dict[int, int]]) -> None:
    length, values = case
    back = from_mx_value(wire(to_mx_value(SparseArray(length, values))))
    assert isinstance(back, SparseArray)
    assert back.total_length == length and dict(back.values) == values


def test_none_is_a_null_value() -> None:
    mx = wire(to_mx_value(None))
    assert mx.is_null and from_mx_value(mx) is None


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("type_name", [None, "float", "double"])
def test_nan_and_infinities_are_rejected_with_value_error(bad: float,
                                                          type_name: str | None) -> None:
    with pytest.raises(ValueError, match="no MXAccess representation"):
        to_mx_value(bad, type_name)
    with pytest.raises(mxgw.ValueConversionError):
        to_mx_value([1.0, bad])


@pytest.mark.parametrize(("value", "type_name"), [
    (2**31, "int32"), (-(2**31) - 1, "int32"), (2**63, None), (-(2**63) - 1, "int64"),
    (1e39, "float"), (10**400, "double"),
])
def test_out_of_range_numbers_are_rejected(value: Any, type_name: str | None) -> None:
    with pytest.raises(mxgw.ValueConversionError, match="out of range"):
        to_mx_value(value, type_name)


def test_naive_datetime_is_rejected_with_a_hint() -> None:
    with pytest.raises(mxgw.ValueConversionError, match="naive datetime"):
        to_mx_value(dt.datetime(2024, 1, 1))


@pytest.mark.parametrize(("value", "type_name", "message"), [
    ([1, "a"], None, "homogeneous"),
    ([True, 1], None, "homogeneous"),
    (1.5, "int32", "expected an integer"),
    (True, "int32", "expected an integer"),
    ("x", "bool", "expected a bool"),
    (1, "nonsense", "unknown type"),
    ({1: 2}, None, "no MxValue"),
    (1, "int32[]", "needs a list"),
    (SparseArray(3, {3: 1}), None, "outside"),
    (SparseArray(3, {0: 1}, "nonsense"), None, "unknown type"),
    (SparseArray(-1), None, "uint32"),
    (dt.timedelta(seconds=-1.5), None, "whole seconds"),
    (dt.timedelta(days=10**6), None, "out of range"),
])
def test_bad_values_get_a_clear_typed_error(value: Any, type_name: str | None,
                                            message: str) -> None:
    with pytest.raises(mxgw.ValueConversionError, match=message):
        to_mx_value(value, type_name)


@pytest.mark.parametrize(("alias", "variant"), [
    ("Integer", "VT_I4"), ("INT64", "VT_I8"), ("real", "VT_R4"), ("Double", "VT_R8"),
    ("int[]", "VT_ARRAY|VT_I4"),
])
def test_type_names_accept_common_spellings(alias: str, variant: str) -> None:
    value: Any = [3] if alias.endswith("[]") else 3
    assert to_mx_value(value, alias).variant_type == variant
