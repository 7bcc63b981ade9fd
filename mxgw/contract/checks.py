"""Input checks with one behaviour each: the rules every builder applies before sending.

Each check returns the value in wire form or raises `error` (ConfigurationError unless
the caller asks for a subclass) with a message naming the input. Bulk builders catch it
and raise BulkEntryError with the entry's index (see `commands`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..errors import ConfigurationError

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
UINT32_MAX = 2**32 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Error = type[ConfigurationError]


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def int_in(name: str, value: Any, minimum: int, maximum: int = INT32_MAX, *,
           error: Error = ConfigurationError) -> int:
    """An int (not a bool) between `minimum` and `maximum`."""
    if not is_int(value):
        raise error(f"{name} must be an int, got {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise error(f"{name} must be between {minimum} and {maximum}, got {value}")
    return int(value)


def handle(name: str, value: Any, *, error: Error = ConfigurationError) -> int:
    """A server or item handle: a positive int32."""
    if not is_int(value) or not 0 < value <= INT32_MAX:
        raise error(f"{name} must be a positive int32, got {value!r}")
    return int(value)


def user_id(name: str, value: Any, *, error: Error = ConfigurationError) -> int:
    """A user id, a timeout in ms...: an int32 >= 0."""
    if not is_int(value) or not 0 <= value <= INT32_MAX:
        raise error(f"{name} must be an int32 >= 0, got {value!r}")
    return int(value)


non_negative_int32 = user_id


def text(name: str, value: Any, *, error: Error = ConfigurationError) -> str:
    """A non-empty string (not only blanks)."""
    if not isinstance(value, str) or not value.strip():
        raise error(f"{name} must be a non-empty string, got {value!r}")
    return value


def aware_utc(name: str, value: Any, *, error: Error = ConfigurationError) -> dt.datetime:
    """A timezone-aware datetime, converted to UTC."""
    if not isinstance(value, dt.datetime):
        raise error(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise error(f"{name} must be timezone-aware: a naive datetime is ambiguous (use e.g. "
                    "datetime.now(timezone.utc))")
    return value.astimezone(dt.timezone.utc)


ALARM_COMMENT_MAX = 1024
"""The longest acknowledge comment sent (ours: the gateway documents no limit)."""


def alarm_reference(name: str, value: Any, *,
                    error: Error = ConfigurationError) -> tuple[str, str, str]:
    """An alarm reference `Provider!Group.Tag` split as the gateway splits it: the first
    `!` ends the provider, the first `.` after it ends the group (the area)."""
    if not isinstance(value, str) or not value.strip():
        raise error(f"{name} must be a non-empty alarm reference such as "
                    f"Galaxy!Area.Object.Alarm, got {value!r}")
    provider, bang, rest = value.partition("!")
    group, dot, tag = rest.partition(".")
    if not bang or not provider or not dot or not group or not tag:
        raise error(f"{name} {value!r} is not Provider!Group.Tag "
                    "(e.g. Galaxy!TestArea.TestMachine_001.TestAlarm001)")
    return provider, group, tag


def alarm_comment(value: Any, *, error: Error = ConfigurationError) -> str:
    """An acknowledge comment: a string of at most ALARM_COMMENT_MAX characters."""
    if not isinstance(value, str):
        raise error(f"comment must be a string, got {type(value).__name__}")
    if len(value) > ALARM_COMMENT_MAX:
        raise error(f"comment is {len(value)} characters, over the {ALARM_COMMENT_MAX} "
                    "sent at most")
    return value
