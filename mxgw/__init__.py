"""mxgw: a pure-Python asyncio client for the MXAccess Gateway."""

from typing import TYPE_CHECKING

from . import errors as _errors
from ._proto.galaxy_repository import v1 as gr
from ._proto.galaxy_repository.v1 import DeployEvent, GalaxyAttribute, GalaxyObject
from ._proto.mxaccess_gateway import v1 as pb
from .bulk import WriteItem
from .client import GatewayClient
from .errors import (
    AbortedError,
    AlreadyExistsError,
    BulkEntryError,
    CommandCanceledError,
    ConfigurationError,
    ConnectError,
    ConnectionLostError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    GatewayTimeoutError,
    InternalError,
    InvalidArgumentError,
    InvalidRequestError,
    MxAccessError,
    MxGatewayError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    ProtocolStatusError,
    ProtocolViolationError,
    ReplayGapError,
    ReplyTooLargeError,
    RequestTooLargeError,
    ResourceExhaustedError,
    RpcCancelledError,
    RpcError,
    SessionNotFoundError,
    SessionNotReadyError,
    TlsError,
    TransportError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    UnknownRpcError,
    ValueConversionError,
    WorkerUnavailableError,
)
from .events import EventStream
from .galaxy import GalaxyRepositoryClient
from .options import ApiKey, ClientOptions
from .session import Session
from .values import SparseArray, from_mx_value, to_mx_value

__version__ = "0.1.0"

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "ApiKey",
    "BulkEntryError",
    "ClientOptions",
    "CommandCanceledError",
    "ConfigurationError",
    "ConnectError",
    "ConnectionLostError",
    "DataLossError",
    "DeadlineExceededError",
    "DeployEvent",
    "EventStream",
    "FailedPreconditionError",
    "GalaxyAttribute",
    "GalaxyObject",
    "GalaxyRepositoryClient",
    "GatewayClient",
    "GatewayTimeoutError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "MxAccessError",
    "MxGatewayError",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "ProtocolStatusError",
    "ProtocolViolationError",
    "ReplayGapError",
    "ReplyTooLargeError",
    "RequestTooLargeError",
    "ResourceExhaustedError",
    "RpcCancelledError",
    "RpcError",
    "Session",
    "SessionNotFoundError",
    "SessionNotReadyError",
    "SparseArray",
    "TlsError",
    "TransportError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "UnknownRpcError",
    "ValueConversionError",
    "WorkerUnavailableError",
    "WriteItem",
    "__version__",
    "from_mx_value",
    "gr",
    "pb",
    "to_mx_value",
]

if TYPE_CHECKING:
    # The deprecated names (see mxgw.errors), visible to type checkers for this release.
    from .errors import CanceledError as CanceledError
    from .errors import CancelledError as CancelledError
else:
    def __getattr__(name: str) -> type[MxGatewayError]:
        """`mxgw.CancelledError` and `mxgw.CanceledError` still work, with a warning."""
        return _errors.deprecated_alias(__name__, name)
