"""Command-line text to values: every --type, arrays, lists, and the rejections."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from mxgw import ValueConversionError, from_mx_value, pb
from mxgw.cli.parsing import (
    int_list,
    normalize_type,
    parse_duration,
    parse_timestamp,
    parse_value,
    parse_values,
    str_list,
)
from mxgw.values import canonical_type

UTC = dt.timezone.utc


@pytest.mark.parametrize(("type_name", "text", "expected", "variant"), [
    ("bool", "yes", True, "VT_BOOL"),
    ("boolean", "False", False, "VT_BOOL"),
    ("int32", " -42 ", -42, "VT_I4"),
    ("int64", "9007199254740993", 9007199254740993, "VT_I8"),
    ("float", "1.5", 1.5, "VT_R4"),
    ("double", "-2e-3", -0.002, "VT_R8"),
    ("string", " keep spaces ", " keep spaces ", "VT_BSTR"),
    ("datetime", "2026-01-02T03:04:05+01:00", dt.datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC),
     "VT_DATE"),
    ("duration", "250ms", dt.timedelta(milliseconds=250), "VT_R8"),
    ("bytes-hex", "0x0a 0B", b"\n\x0b", "VT_RECORD"),
    ("int32[]", "1,2,3", [1, 2, 3], "VT_ARRAY|VT_I4"),
    ("string[]", '["a,b", "c"]', ["a,b", "c"], "VT_ARRAY|VT_BSTR"),
    ("double[]", "", [], "VT_ARRAY|VT_R8"),
])
def test_typed_values(type_name: str, text: str, expected: object, variant: str) -> None:
    value = parse_value(text, type_name)
    assert value.variant_type == variant
    assert from_mx_value(value) == expected


@pytest.mark.parametrize(("text", "variant"), [
    ("12", "VT_I4"), ("3000000000", "VT_I8"), ("1.25", "VT_R8"), ("true", "VT_BOOL"),
    ("nan", "VT_BSTR"), ("007x", "VT_BSTR"),
])
def test_without_a_type_the_text_decides(text: str, variant: str) -> None:
    assert parse_value(text, None).variant_type == variant


@pytest.mark.parametrize(("type_name", "text", "message"), [
    ("int32", "12.0", "not an integer"), ("int32", "2147483648", "out of range"),
    ("bool", "2", "not a bool"), ("double", "inf", "no MXAccess representation"),
    ("datetime", "2026-01-02 03:04", "no time zone"), ("duration", "1 fortnight", "duration"),
    ("bytes-hex", "abc", "hex"), ("int32[]", "[1, 2.5]", "not an integer"),
    ("string[]", "[1]", "not a string"), ("int32[]", "[1,", "JSON"), ("decimal", "1", "--type"),
])
def test_rejections_say_what_is_wrong(type_name: str, text: str, message: str) -> None:
    with pytest.raises(ValueConversionError, match=message):
        parse_value(text, type_name)


def test_bulk_values_one_per_item() -> None:
    values = parse_values("1,2,3", "int32", 3)
    assert [from_mx_value(v) for v in values] == [1, 2, 3]
    arrays = parse_values("[[1,2],[3]]", "int32[]", 2)
    assert [from_mx_value(v) for v in arrays] == [[1, 2], [3]]
    mixed = parse_values('[1, "x", true]', None, 3)
    assert [v.variant_type for v in mixed] == ["VT_I4", "VT_BSTR", "VT_BOOL"]
    with pytest.raises(ValueConversionError, match="2 value"):
        parse_values("1,2", "int32", 3)
    with pytest.raises(ValueConversionError, match="JSON array of arrays"):
        parse_values("1,2", "int32[]", 2)


def test_type_aliases_from_other_clis() -> None:
    assert [normalize_type(n) for n in ("Int", "LONG", "single", "Timestamp", "bytes",
                                        "Integer[]")] == [
        "int32", "int64", "float", "datetime", "bytes-hex", "int32[]"]


@pytest.mark.parametrize(("spelling", "cli_type"), [
    # the library's aliases (mxgw.values.canonical_type), bytes spelled bytes-hex
    ("timedelta", "duration"), ("Record", "bytes-hex"), ("r8[]", "double[]"),
    ("BSTR", "string"), ("date", "datetime"), ("timespan[]", "duration[]"),
    # the CLI's own: hex bytes
    ("hex", "bytes-hex"), ("bytes-hex[]", "bytes-hex[]"),
])
def test_type_names_are_the_librarys_plus_the_clis_own(spelling: str, cli_type: str) -> None:
    assert normalize_type(spelling) == cli_type
    if not cli_type.startswith("bytes"):
        assert canonical_type(cli_type) == cli_type  # a library type name as it is


def test_durations_and_timestamps() -> None:
    assert parse_duration("01:02:03.5") == dt.timedelta(hours=1, minutes=2, seconds=3.5)
    assert parse_duration("2.5") == dt.timedelta(seconds=2.5)
    assert parse_duration("1.02:00:00") == dt.timedelta(days=1, hours=2)
    assert parse_timestamp("2026-01-02T03:04:05Z") == dt.datetime(2026, 1, 2, 3, 4, 5,
                                                                  tzinfo=UTC)
    assert parse_timestamp("2026-01-02T03:04:05.5Z").microsecond == 500000
    assert parse_timestamp("2026-01-02T03:04:05.1234567-02:00") == dt.datetime(
        2026, 1, 2, 5, 4, 5, 123456, tzinfo=UTC)
    assert parse_timestamp("now").tzinfo is not None


def test_lists() -> None:
    assert int_list("1, 2,3") == [1, 2, 3]
    assert str_list("A.X,B.Y") == ["A.X", "B.Y"]
    for bad in ("1,,2", "", "1,x"):
        with pytest.raises(argparse.ArgumentTypeError):
            int_list(bad)


def test_values_are_mx_values() -> None:
    assert isinstance(parse_value("1", "int32"), pb.MxValue)
