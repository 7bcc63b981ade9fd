"""Command-line text to typed values: `--type`/`--value`, comma-separated lists, timestamps.

Text is parsed here; the conversion to an MxValue (range checks, NaN, ...) is
`mxgw.values.to_mx_value`'s job, so no rule exists twice.

    --type int32 --value 123          --type double[] --value 1.5,2.5
    --type bool --value true          --type string[] --value '["a,b", "c"]'
    --type datetime --value 2026-01-02T03:04:05Z
    --type duration --value 1.5s      --type bytes-hex --value 0a0b0c
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from .._proto.mxaccess_gateway import v1 as pb
from ..contract.checks import INT32_MAX, INT32_MIN
from ..errors import ValueConversionError
from ..values import TYPE_NAMES, canonical_type, to_mx_value

CLI_TYPES = ("bool", "int32", "int64", "float", "double", "string", "datetime", "duration",
             "bytes-hex")
"""Type names on the command line (each also as an array, `int32[]`)."""

_CLI_ALIASES = {"bytes-hex": "bytes", "hex": "bytes"}
"""The CLI's own spellings (bytes are hex text on the command line), mapped to library type
names; every other alias is the library's (`mxgw.values.canonical_type`)."""
_CLI_NAMES = {"bytes": "bytes-hex"}
"""Library type names spelled otherwise on the command line."""
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_DURATION = re.compile(r"^([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*(ms|s|m|h|d)?$")
_CLOCK = re.compile(r"^(?:(\d+)\.)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def normalize_type(name: str) -> str:
    """A CLI type name (aliases and case accepted) in its canonical spelling."""
    text = name.strip().lower()
    array = text.endswith("[]")
    base = text.removesuffix("[]").strip()
    base = canonical_type(_CLI_ALIASES.get(base, base))  # one table of spellings: the library's
    base = _CLI_NAMES.get(base, base)
    if base not in CLI_TYPES:
        raise ValueConversionError(
            f"unknown --type {name!r}; expected one of {', '.join(CLI_TYPES)} "
            "(add [] for an array, e.g. int32[])")
    return base + ("[]" if array else "")


def _library_type(cli_type: str) -> str:
    base = cli_type.removesuffix("[]")
    name = _CLI_ALIASES.get(base, base)
    assert name in TYPE_NAMES, name
    return name + ("[]" if cli_type.endswith("[]") else "")


def parse_timestamp(text: str, what: str = "timestamp") -> dt.datetime:
    """An ISO 8601 / RFC 3339 time with a zone (`Z` or `+01:00`), or `now`."""
    raw = text.strip()
    if raw.lower() == "now":
        return dt.datetime.now(dt.timezone.utc)
    iso = re.sub(r"[zZ]$", "+00:00", raw)
    # Python 3.10 reads only 3 or 6 fraction digits: make them 6.
    iso = re.sub(r"\.(\d+)", lambda m: "." + m[1][:6].ljust(6, "0"), iso, count=1)
    try:
        value = dt.datetime.fromisoformat(iso)
    except ValueError:
        raise ValueConversionError(
            f"{what} {text!r} is not an ISO 8601 time (e.g. 2026-01-02T03:04:05Z)") from None
    if value.tzinfo is None:
        raise ValueConversionError(f"{what} {text!r} has no time zone: add Z or +HH:MM")
    return value


def parse_duration(text: str) -> dt.timedelta:
    """`1.5s`, `250ms`, `2m`, `1h`, plain seconds, or `[D.]HH:MM:SS[.fff]`."""
    raw = text.strip()
    try:
        match = _DURATION.match(raw)
        if match:
            return dt.timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2] or "s"])
        clock = _CLOCK.match(raw)
        if clock:
            days, hours, minutes, seconds = clock.groups()
            return dt.timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                                seconds=float(seconds))
    except OverflowError:
        raise ValueConversionError(f"{text!r} is beyond the longest duration (about "
                                   "2.7 million years)") from None
    raise ValueConversionError(
        f"{text!r} is not a duration (e.g. 1.5s, 250ms, 2m, 01:02:03.5)")


def _scalar(text: str, base: str) -> Any:
    """One scalar's text as the Python value `to_mx_value` expects for `base`."""
    raw = text.strip()
    try:
        if base == "bool":
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ValueError
        if base in ("int32", "int64"):
            return int(raw)
        if base in ("float", "double"):
            return float(raw)
    except ValueError:
        kind = {"bool": "a bool (true/false)", "int32": "an integer", "int64": "an integer",
                "float": "a number", "double": "a number"}[base]
        raise ValueConversionError(f"{text!r} is not {kind} (--type {base})") from None
    if base == "string":
        return text
    if base == "datetime":
        return parse_timestamp(text, "value")
    if base == "duration":
        return parse_duration(text)
    hex_text = re.sub(r"\s+", "", raw).removeprefix("0x")
    try:
        return bytes.fromhex(hex_text)
    except ValueError:
        raise ValueConversionError(f"{text!r} is not hex bytes (e.g. 0a0b0c)") from None


def _element(item: Any, base: str) -> Any:
    if isinstance(item, str):
        return _scalar(item, base)
    if base == "string":
        raise ValueConversionError(f"{json.dumps(item)} is not a string (--type string)")
    if isinstance(item, (list, dict)) or item is None:
        raise ValueConversionError(f"{json.dumps(item)} is not a {base}")
    return _scalar(json.dumps(item), base)


def _items(text: str) -> list[Any]:
    """A JSON array (when the text starts with `[`) or comma-separated text."""
    raw = text.strip()
    if raw.startswith("["):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueConversionError(f"{text!r} is not a JSON array: {exc.msg}") from None
        if not isinstance(parsed, list):
            raise ValueConversionError(f"{text!r} is not a JSON array")
        return parsed
    return [] if raw == "" else raw.split(",")


def infer_type(text: str) -> str:
    """The type of a `--value` given without `--type`: integer, number, bool, else string."""
    raw = text.strip()
    if re.fullmatch(r"[+-]?\d+", raw):
        return "int32" if INT32_MIN <= int(raw) <= INT32_MAX else "int64"
    try:
        float(raw)
    except ValueError:
        pass
    else:
        if raw.lower() not in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
            return "double"
    if raw.lower() in ("true", "false"):
        return "bool"
    return "string"


def _python_value(item: Any, cli_type: str) -> Any:
    if cli_type.endswith("[]"):
        base = cli_type[:-2]
        elements = item if isinstance(item, list) else _items(item)
        return [_element(e, base) for e in elements]
    return _element(item, cli_type)


def parse_value(text: str, type_name: str | None) -> pb.MxValue:
    """`--value TEXT` (with `--type`, or inferred without it) as an MxValue."""
    cli_type = normalize_type(type_name) if type_name else infer_type(text)
    return to_mx_value(_python_value(text, cli_type), _library_type(cli_type))


def parse_values(text: str, type_name: str | None, count: int) -> list[pb.MxValue]:
    """`--values A,B,...` (or a JSON array) as `count` MxValues, one per item."""
    items = _items(text)
    if len(items) != count:
        raise ValueConversionError(
            f"--values has {len(items)} value(s) for {count} item handle(s)")
    if type_name is None:
        return [to_mx_value(_python_value(item, infer_type(item)), None) if isinstance(item, str)
                else to_mx_value(item) for item in items]
    cli_type = normalize_type(type_name)
    if cli_type.endswith("[]") and not all(isinstance(i, list) for i in items):
        raise ValueConversionError(
            f"--type {cli_type} needs --values as a JSON array of arrays, e.g. '[[1,2],[3]]'")
    return [to_mx_value(_python_value(item, cli_type), _library_type(cli_type)) for item in items]


def _list_of(convert: Callable[[str], Any], what: str) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        parts = [p.strip() for p in text.split(",")]
        if not text.strip() or any(not p for p in parts):
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of {what}")
        try:
            return [convert(p) for p in parts]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a comma-separated list of {what}") from None
    parse.__name__ = f"{what} list"
    return parse


int_list = _list_of(int, "integers")
"""argparse `type` for `1,2,3`."""
str_list = _list_of(str, "names")
"""argparse `type` for `A.X,B.Y`."""
