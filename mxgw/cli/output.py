"""Rendering: readable text or deterministic protobuf-JSON, the error envelope, exit codes.

Exit codes (the layer that failed):

    0  success
    1  unexpected error
    2  usage: bad flags or values (nothing was sent)
    3  transport: connect, TLS or connection lost
    4  gRPC status (UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, ...)
    5  gateway protocol status (SESSION_NOT_FOUND, INVALID_REQUEST, ...)
    6  MXAccess failure (hresult / status), or a refused alarm acknowledge (its native
       status): the native layer answered no
    7  deadline exceeded
    8  replay gap (events lost; take a fresh snapshot)
    9  contract drift: contract-check found the gateway's contract differs from ours
  130  interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM): 128 + the signal's number
"""

from __future__ import annotations

import datetime as dt
import json
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import (
    AlarmAcknowledgeError,
    BadQualityError,
    ConfigurationError,
    DeadlineExceededError,
    MxAccessError,
    MxGatewayError,
    ProtocolStatusError,
    ReplayGapError,
    RpcError,
    TransportError,
)
from .redaction import SECRET_FIELDS, redact_fields

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_TRANSPORT, EXIT_GRPC = 0, 1, 2, 3, 4
EXIT_PROTOCOL, EXIT_MXACCESS, EXIT_DEADLINE, EXIT_REPLAY_GAP = 5, 6, 7, 8
EXIT_CONTRACT_DRIFT = 9


@dataclass(frozen=True)
class Outcome:
    """A command's result printed as any other, with an exit code of its own (a check that
    found something to report)."""

    value: Any
    exit_code: int


class UsageError(Exception):
    """Bad command-line input; `prog` is the command it is about (`mxgw write`)."""

    def __init__(self, message: str, prog: str = "mxgw") -> None:
        super().__init__(message)
        self.prog = prog


def option_flag(option: str) -> str:
    """The flag that sets a library option: each connection flag is named after the option
    it sets (`ca_file` -> `--ca-file`)."""
    return "--" + option.replace("_", "-")


def error_message(exc: BaseException) -> str:
    """A failure's message, as the CLI says it: library options named by their flags."""
    if isinstance(exc, MxGatewayError):
        return exc.spelled(option_flag)
    return str(exc)


class Interrupted(Exception):
    """The command was stopped by SIGINT (Ctrl-C) or SIGTERM before it finished."""

    def __init__(self, signum: signal.Signals, message: str = "") -> None:
        self.signum = signum
        super().__init__(message or f"interrupted by {signum.name}")


def exit_code(exc: BaseException) -> int:
    """The exit code for a failure."""
    if isinstance(exc, Interrupted):
        return 128 + int(exc.signum)  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
    for kind, code in (
        (UsageError, EXIT_USAGE), (ConfigurationError, EXIT_USAGE),
        (TransportError, EXIT_TRANSPORT), (RpcError, EXIT_GRPC),
        (ProtocolStatusError, EXIT_PROTOCOL), (MxAccessError, EXIT_MXACCESS),
        (BadQualityError, EXIT_MXACCESS),
        (AlarmAcknowledgeError, EXIT_MXACCESS),
        (DeadlineExceededError, EXIT_DEADLINE), (ReplayGapError, EXIT_REPLAY_GAP),
    ):
        if isinstance(exc, kind):
            return code
    return EXIT_UNEXPECTED


def to_jsonable(value: Any) -> Any:
    """Messages as protobuf-JSON (lowerCamelCase, full enum names, every scalar field, unset
    messages and oneof arms left out); containers recursively; datetimes as RFC 3339."""
    cls = type(value)
    if cls in _PLAIN:
        return value
    converter = _MESSAGES.get(cls)
    if converter is not None:
        return converter(value)
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (  # and any other sequence (BulkResults)
            isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray))):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds():g}s"
    if isinstance(value, bytes):
        return value.hex()
    # Only now the message runtime: a result of plain values (`mxgw version`) never loads it.
    import betterproto2

    from ..contract.codec import to_json

    if isinstance(value, betterproto2.Message):
        _MESSAGES[cls] = to_json
        return to_json(value)
    if isinstance(value, betterproto2.Enum):
        return value.proto_name or int(value)
    return value


_PLAIN = (str, int, float, bool, type(None))
"""The types `to_jsonable` returns as they are (exact types: an enum is an int too)."""
_MESSAGES: dict[type[Any], Callable[[Any], Any]] = {}
"""The converter of each message class `to_jsonable` has met (found without the tests)."""


_json_line = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""One line of compact JSON (json.dumps with these options builds this encoder per call)."""


SECRET_KEY_MARKERS = tuple(_json_line(name) + ":" for name in sorted(SECRET_FIELDS))
"""How each secret field's key is written in a JSON line."""


def dumps(value: Any) -> str:
    """One line of deterministic JSON (secret fields redacted).

    Written once, and again redacted only when the line has a secret field's key in it:
    a key comes out as `"name":`, so a line without that text has no such field and
    `redact_fields` would return the data unchanged (a result is walked once, not twice)."""
    data = to_jsonable(value)
    line = _json_line(data)
    if any(marker in line for marker in SECRET_KEY_MARKERS):
        return _json_line(redact_fields(data))
    return line


def _text_lines(value: Any, indent: str = "") -> Iterable[str]:
    data = to_jsonable(value)
    if isinstance(data, dict):
        for key, item in data.items():
            if isinstance(item, (dict, list)) and item:
                yield f"{indent}{key}:"
                yield from _text_lines(item, indent + "  ")
            else:
                yield f"{indent}{key}: {json.dumps(item) if not isinstance(item, str) else item}"
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, (dict, list)):
                lines = list(_text_lines(item, indent + "  "))
                if lines:
                    yield f"{indent}- {lines[0].strip()}"
                    yield from lines[1:]
            else:
                yield f"{indent}- {item}"
    else:
        yield f"{indent}{data}"


def render(value: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> str:
    """A result as one JSON line, or readable text (`text(value)` when given)."""
    if as_json:
        return dumps(value)
    if text is not None:
        return text(value)
    return "\n".join(_text_lines(redact_fields(to_jsonable(value))))


def error_envelope(exc: BaseException) -> dict[str, Any]:
    """`{"error": message, "type": "error", "category": layer, "code": status}` for a
    failure: `"type": "error"` as the upstream CLIs print it, so their automation that
    tests for it keeps working; the failing layer is in `category`."""
    if isinstance(exc, MxGatewayError):
        envelope: dict[str, Any] = {"error": error_message(exc), "type": "error",
                                    "category": exc.kind, "code": exc.code}
        if isinstance(exc, (MxAccessError, AlarmAcknowledgeError)):
            envelope["hresult"] = exc.hresult
            envelope["reply"] = to_jsonable(exc.reply)
        return envelope
    if isinstance(exc, UsageError):
        return {"error": str(exc), "type": "error", "category": "usage", "code": "USAGE"}
    if isinstance(exc, Interrupted):
        return {"error": str(exc), "type": "error", "category": "interrupted",
                "code": exc.signum.name}
    return {"error": f"{exc.__class__.__name__}: {exc}", "type": "error",
            "category": "unexpected", "code": "UNEXPECTED"}
