"""One exception tree for everything mxgw raises.

    MxGatewayError
    ├── ConfigurationError           bad options or input, found before anything is sent
    │   ├── ValueConversionError     a Python value that has no MxValue (also a ValueError)
    │   ├── BulkEntryError           one bulk entry is bad: .index, .reason (also a ValueError)
    │   ├── RequestTooLargeError     a request over the message size limit: .size, .limit
    │   └── RunningLoopError         mxgw.sync called inside a running event loop
    ├── TransportError               the connection itself
    │   ├── ConnectError             refused, unreachable, unknown host
    │   ├── TlsError                 handshake, certificate or ALPN failure
    │   └── ConnectionLostError      the connection dropped mid-call or mid-stream
    ├── DeadlineExceededError        the call's deadline passed (local or remote)
    ├── RpcError                     a gRPC status other than OK: .status_name, .grpc_message
    │   ├── UnauthenticatedError, PermissionDeniedError, NotFoundError,
    │   ├── InvalidArgumentError, AlreadyExistsError, UnavailableError,
    │   ├── FailedPreconditionError, UnimplementedError, InternalError,
    │   ├── AbortedError, OutOfRangeError, DataLossError, UnknownRpcError
    │   ├── RpcCancelledError        gRPC CANCELLED (not asyncio.CancelledError)
    │   └── ResourceExhaustedError
    │       └── ReplyTooLargeError   a reply over the message size limit, refused locally
    ├── ProtocolStatusError          reply.protocol_status not OK: .status, .reply
    │   ├── InvalidRequestError, SessionNotFoundError, SessionNotReadyError,
    │   ├── WorkerUnavailableError, GatewayTimeoutError, ProtocolViolationError
    │   │   └── MalformedMessageError  a reply or event that is not valid protobuf:
    │   │                              .message_type, .offset, .reason
    │   └── CommandCanceledError     protocol status CANCELED (the gateway canceled a command)
    ├── MxAccessError                MXAccess failed: .reply, .hresult, .statuses
    ├── BadQualityError              a value arrived Bad (smoke's check): .event, .quality
    ├── AlarmAcknowledgeError        the gateway refused an alarm acknowledge: .reply, .hresult
    ├── ReplayGapError               events were lost between two streams: .gap
    └── SessionLostError             a durable session is replacing its gateway session:
                                     nothing was sent (.session_id, .reason)

Every message is built from the call's facts; no exception ever holds the API key.

Deprecated names, kept for one release: `CancelledError` (now RpcCancelledError) and
`CanceledError` (now CommandCanceledError). They differed by one letter, and the first
shadowed asyncio's. Using either still works but warns (DeprecationWarning).
"""

from __future__ import annotations

import string
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._proto.mxaccess_gateway import v1 as pb


def enum_name(value: Any) -> str:
    """The full proto name of an enum value (`PROTOCOL_STATUS_CODE_OK`), or its number."""
    name = getattr(value, "proto_name", None)
    return str(name) if name else str(int(value))


class OptionText(str):
    """A message that names options of the library (`ca_file`, `plaintext`...).

    Built from a template in which each option is a `{name}` field and every other field
    is a keyword value (`OptionText("cannot load {ca_file} {path!r}", path=p)`). As a
    `str` it spells the options as the library does (`ca_file`); `spell(flag)` spells each
    as `flag(name)` (the CLI: `--ca-file`), so one message serves both without rewriting
    its words. `MxGatewayError.spelled` reads it from an exception.
    """

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, **values: Any) -> OptionText:
        text = super().__new__(cls, _fill(template, values, str))
        text.template, text.values = template, values
        return text

    @property
    def options(self) -> tuple[str, ...]:
        """The options named, in order."""
        return tuple(dict.fromkeys(_option_fields(self.template, self.values)))

    def spell(self, flag: Callable[[str], str]) -> str:
        """The message with each option spelled `flag(name)`."""
        return _fill(self.template, self.values, flag)

    def after(self, prefix: str) -> OptionText:
        """This message after `prefix` (which names no option)."""
        return OptionText("{_prefix}" + self.template, _prefix=prefix, **self.values)


def _option_fields(template: str, values: dict[str, Any]) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template)
            if name and name not in values]


def _fill(template: str, values: dict[str, Any], flag: Callable[[str], str]) -> str:
    names = {name: flag(name) for name in _option_fields(template, values)}
    return template.format(**values, **names)


class MxGatewayError(Exception):
    """Root of every mxgw error."""

    def spelled(self, flag: Callable[[str], str]) -> str:
        """The message, with each library option it names (see OptionText) spelled
        `flag(name)`: the CLI names its flags instead (`--ca-file` for `ca_file`)."""
        text = self.args[0] if len(self.args) == 1 else None
        return text.spell(flag) if isinstance(text, OptionText) else str(self)

    kind = "error"
    """A short machine name for the failing layer (used by the CLI's error envelope)."""

    partial_results: list[Any] | None = None
    """For a bulk call split into several requests that failed part way: the results of
    the requests already applied, in input order, up to the first malformed one if any
    (None otherwise)."""

    @property
    def code(self) -> str:
        """The gRPC or protocol status name; for a local failure its kind in capitals
        (`CONFIGURATION`, `CONNECT`, `TLS`...), so every code reads like a status name."""
        return self.kind.upper()


class ConfigurationError(MxGatewayError):
    """Options or arguments are wrong; nothing was sent."""

    kind = "configuration"


class ValueConversionError(ConfigurationError, ValueError):
    """A Python value cannot be represented as an MxValue."""

    kind = "value"


class BulkEntryError(ConfigurationError, ValueError):
    """One entry of a bulk call is bad; nothing of the call was sent."""

    kind = "bulk_entry"

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(f"bulk entry {index}: {reason}")


class RequestTooLargeError(ConfigurationError):
    """A request is larger than the message size limit; it was not sent."""

    kind = "request_too_large"

    def __init__(self, method: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"{method}: request is {size} bytes, over the {limit}-byte message limit")


class RunningLoopError(ConfigurationError):
    """A blocking `mxgw.sync` call was made inside a running event loop (async code, a
    notebook cell): blocking there would stall that loop; use the async API."""

    kind = "running_loop"


class TransportError(MxGatewayError):
    """The connection to the gateway failed."""

    kind = "transport"

    def __init__(self, message: str, endpoint: str = "") -> None:
        super().__init__(message)
        self.endpoint = endpoint


class ConnectError(TransportError):
    """The gateway could not be reached."""

    kind = "connect"


class TlsError(TransportError):
    """The TLS handshake or certificate check failed."""

    kind = "tls"


class ConnectionLostError(TransportError):
    """The connection dropped during a call or stream."""

    kind = "connection_lost"


class DeadlineExceededError(MxGatewayError, TimeoutError):
    """The call's deadline passed; after a command the session's state is unknown."""

    kind = "deadline"

    @property
    def code(self) -> str:
        return "DEADLINE_EXCEEDED"


class RpcError(MxGatewayError):
    """The gateway answered with a gRPC status other than OK."""

    kind = "grpc"
    status_name = "UNKNOWN"

    def __init__(self, status_name: str, grpc_message: str | None, method: str = "") -> None:
        self.status_name = status_name
        self.grpc_message = grpc_message or ""
        self.method = method
        where = f" on {method}" if method else ""
        if isinstance(grpc_message, OptionText):  # keeps the options it names (spelled)
            super().__init__(grpc_message.after(f"gRPC {status_name}{where}: "))
            return
        text = f": {self.grpc_message}" if self.grpc_message else ""
        super().__init__(f"gRPC {status_name}{where}{text}")

    @property
    def code(self) -> str:
        return self.status_name


class UnauthenticatedError(RpcError):
    """The API key is missing or not valid."""


class PermissionDeniedError(RpcError):
    """The API key lacks the scope this call needs."""


class NotFoundError(RpcError):
    """The session (or another named thing) does not exist."""


class InvalidArgumentError(RpcError):
    """The gateway refused the request as malformed (or a page token as stale)."""


class AlreadyExistsError(RpcError):
    """Another subscriber already streams this session's events."""


class UnavailableError(RpcError):
    """The gateway is not available."""


class RpcCancelledError(RpcError):
    """The call ended with gRPC status CANCELLED. Not asyncio.CancelledError: cancelling a
    task that awaits a call raises that one as usual, never an mxgw error."""


class ResourceExhaustedError(RpcError):
    """A gateway limit was reached (sessions, pending commands, message size)."""


class ReplyTooLargeError(ResourceExhaustedError):
    """A reply was larger than the message size limit and was refused locally."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            "RESOURCE_EXHAUSTED", f"reply of {size} bytes is over the {limit}-byte message limit"
        )


class FailedPreconditionError(RpcError):
    """The gateway is not in a state to run the call."""


class UnimplementedError(RpcError):
    """The gateway does not implement this RPC."""


class InternalError(RpcError):
    """The gateway failed internally."""


class AbortedError(RpcError):
    """The gateway aborted the call."""


class OutOfRangeError(RpcError):
    """An argument was outside the range the gateway accepts."""


class DataLossError(RpcError):
    """The gateway reports unrecoverable data loss."""


class UnknownRpcError(RpcError):
    """The gateway failed with gRPC status UNKNOWN."""


RPC_ERRORS: dict[str, type[RpcError]] = {
    "UNAUTHENTICATED": UnauthenticatedError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "INVALID_ARGUMENT": InvalidArgumentError,
    "ALREADY_EXISTS": AlreadyExistsError,
    "UNAVAILABLE": UnavailableError,
    "CANCELLED": RpcCancelledError,
    "RESOURCE_EXHAUSTED": ResourceExhaustedError,
    "FAILED_PRECONDITION": FailedPreconditionError,
    "UNIMPLEMENTED": UnimplementedError,
    "INTERNAL": InternalError,
    "ABORTED": AbortedError,
    "OUT_OF_RANGE": OutOfRangeError,
    "DATA_LOSS": DataLossError,
    "UNKNOWN": UnknownRpcError,
}
"""gRPC status name -> exception (DEADLINE_EXCEEDED is DeadlineExceededError)."""


class ProtocolStatusError(MxGatewayError):
    """The reply's protocol_status is neither OK nor MXACCESS_FAILURE."""

    kind = "protocol"

    def __init__(self, code: pb.ProtocolStatusCode, message: str, reply: Any = None) -> None:
        self.status = code
        self.status_message = message
        self.reply = reply
        text = f": {message}" if message else ""
        super().__init__(f"gateway protocol status {enum_name(code)}{text}")

    @property
    def code(self) -> str:
        return enum_name(self.status)


class InvalidRequestError(ProtocolStatusError):
    """The gateway found the request invalid."""


class SessionNotFoundError(ProtocolStatusError):
    """The gateway does not know the session."""

    def __init__(self, code: pb.ProtocolStatusCode, message: str, reply: Any = None) -> None:
        super().__init__(code, message, reply)
        # The usual causes, so that a reader knows where to look (docs/mxaccess.md).
        self.args = (f"{self.args[0]} (closed, or ended by the gateway: its lease expired or "
                     "the detach grace after its last event stream passed; open a new "
                     "session)",)


class SessionNotReadyError(ProtocolStatusError):
    """The session exists but is not READY."""


class WorkerUnavailableError(ProtocolStatusError):
    """The session's worker process is gone."""


class GatewayTimeoutError(ProtocolStatusError):
    """The gateway stopped waiting for the worker."""


class CommandCanceledError(ProtocolStatusError):
    """The gateway canceled the command (protocol status CANCELED)."""


class ProtocolViolationError(ProtocolStatusError):
    """The worker broke the gateway's protocol."""


class MalformedMessageError(ProtocolViolationError):
    """A message received is not valid protobuf of its type: `.message_type`, `.offset`
    (the byte where decoding stopped, -1 when unknown), `.reason`. Nothing of it is used."""

    kind = "malformed"

    def __init__(self, message_type: str, offset: int, reason: str) -> None:
        self.message_type = message_type
        self.offset = offset
        self.reason = reason
        where = f" at byte {offset}" if offset >= 0 else ""
        from ._proto.mxaccess_gateway import v1 as pb  # see PROTOCOL_ERRORS

        super().__init__(pb.ProtocolStatusCode.PROTOCOL_VIOLATION,
                         f"malformed {message_type}{where}: {reason}")


PROTOCOL_ERRORS: dict[str, type[ProtocolStatusError]] = {
    "INVALID_REQUEST": InvalidRequestError,
    "SESSION_NOT_FOUND": SessionNotFoundError,
    "SESSION_NOT_READY": SessionNotReadyError,
    "WORKER_UNAVAILABLE": WorkerUnavailableError,
    "TIMEOUT": GatewayTimeoutError,
    "CANCELED": CommandCanceledError,
    "PROTOCOL_VIOLATION": ProtocolViolationError,
}
"""ProtocolStatusCode member name -> exception. By name, as RPC_ERRORS: importing the
errors loads no generated code (`mxgw version` never needs it), so the few places that
need the enum import it when they run, by which time a reply has loaded it anyway."""


class MxAccessError(MxGatewayError):
    """MXAccess reported a failure: a failing hresult or an error status."""

    kind = "mxaccess"

    def __init__(self, message: str, reply: pb.MxCommandReply) -> None:
        super().__init__(message)
        self.reply = reply
        self.hresult = reply.hresult
        self.statuses = list(reply.statuses)

    @property
    def code(self) -> str:
        return "PROTOCOL_STATUS_CODE_MXACCESS_FAILURE"


class BadQualityError(MxGatewayError):
    """An item's value arrived with bad quality or an error status (an unknown reference,
    a configuration error...): `.event` holds the data change, `.quality` its quality."""

    kind = "quality"

    def __init__(self, message: str, event: pb.MxEvent, quality: int) -> None:
        super().__init__(message)
        self.event = event
        self.quality = quality

    @property
    def code(self) -> str:
        return "BAD_QUALITY"


class AlarmAcknowledgeError(MxGatewayError):
    """The gateway refused to acknowledge an alarm (not active, unknown reference...):
    `.reply` (the AcknowledgeAlarmReply), `.hresult` (the native acknowledge status),
    `.status` (the reply's protocol status code).

    Not an MxAccessError: that one carries a command reply; this one comes from the
    session-less AcknowledgeAlarm RPC. The CLI gives both the same exit code (6)."""

    kind = "alarm_acknowledge"

    def __init__(self, message: str, reply: pb.AcknowledgeAlarmReply) -> None:
        super().__init__(message)
        self.reply = reply
        self.hresult = reply.hresult
        from ._proto.mxaccess_gateway import v1 as pb  # see PROTOCOL_ERRORS

        status = reply.protocol_status
        self.status = status.code if status is not None else pb.ProtocolStatusCode.UNSPECIFIED

    @property
    def code(self) -> str:
        return enum_name(self.status)


class ReplayGapError(MxGatewayError):
    """The gateway no longer holds the events after the last one seen: take a fresh snapshot."""

    kind = "replay_gap"

    def __init__(self, requested_after: int, oldest_available: int) -> None:
        self.requested_after = requested_after
        self.oldest_available = oldest_available
        super().__init__(
            f"events after sequence {requested_after} are gone; "
            f"the oldest available is {oldest_available}"
        )

    @property
    def gap(self) -> tuple[int, int]:
        """(requested_after_sequence, oldest_available_sequence)."""
        return (self.requested_after, self.oldest_available)


class SessionLostError(MxGatewayError):
    """A DurableSession lost its gateway session and is opening and replaying a new one:
    the command was not sent. Retry it after the SessionReplaced marker."""

    kind = "session_lost"

    def __init__(self, session_id: str, reason: str) -> None:
        self.session_id = session_id
        self.reason = reason
        super().__init__(f"session {session_id} was lost ({reason}) and is being "
                         "replaced; nothing was sent")


def protocol_error(status: pb.ProtocolStatus | None, reply: Any) -> ProtocolStatusError:
    """The typed exception for a failing protocol status."""
    from ._proto.mxaccess_gateway import v1 as pb  # see PROTOCOL_ERRORS

    code = status.code if status is not None else pb.ProtocolStatusCode.UNSPECIFIED
    message = status.message if status is not None else "reply carries no protocol status"
    name = pb.ProtocolStatusCode(code).name  # "" for a value outside our enum
    return PROTOCOL_ERRORS.get(name, ProtocolStatusError)(code, message, reply)


# ---------------------------------------------------------------- deprecated names

DEPRECATED_ALIASES = {
    "CancelledError": "RpcCancelledError",
    "CanceledError": "CommandCanceledError",
}
"""Old name -> new name. The old names stay for one release; using one warns."""


def deprecated_alias(module: str, name: str) -> type[MxGatewayError]:
    """The class an old name stands for, after a DeprecationWarning (for a module's
    `__getattr__`, PEP 562); AttributeError for any other name."""
    new = DEPRECATED_ALIASES.get(name)
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(f"{module}.{name} is deprecated and will be removed in the next release; "
                  f"use {module}.{new}", DeprecationWarning,
                  stacklevel=3)  # 3: the code that named the alias, past __getattr__
    cls: type[MxGatewayError] = globals()[new]
    return cls


if TYPE_CHECKING:
    # Type checkers see plain aliases, so typed code keeps checking for this release.
    CancelledError = RpcCancelledError
    CanceledError = CommandCanceledError
else:
    def __getattr__(name: str) -> type[MxGatewayError]:
        return deprecated_alias(__name__, name)
