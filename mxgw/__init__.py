"""mxgw: a pure-Python asyncio client for the MXAccess Gateway."""

from ._proto.mxaccess_gateway import v1 as pb
from .client import GatewayClient
from .errors import (
    AlreadyExistsError,
    CanceledError,
    CancelledError,
    ConfigurationError,
    ConnectError,
    ConnectionLostError,
    DeadlineExceededError,
    FailedPreconditionError,
    GatewayTimeoutError,
    InternalError,
    InvalidArgumentError,
    InvalidRequestError,
    MxAccessError,
    MxGatewayError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolStatusError,
    ProtocolViolationError,
    ReplayGapError,
    ResourceExhaustedError,
    RpcError,
    SessionNotFoundError,
    SessionNotReadyError,
    TlsError,
    TransportError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    ValueConversionError,
    WorkerUnavailableError,
)
from .events import EventStream
from .options import ApiKey, ClientOptions
from .session import Session
from .values import SparseArray, from_mx_value, to_mx_value

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError", "ApiKey", "CanceledError", "CancelledError", "ClientOptions",
    "ConfigurationError", "ConnectError", "ConnectionLostError", "DeadlineExceededError",
    "EventStream", "FailedPreconditionError", "GatewayClient", "GatewayTimeoutError",
    "InternalError", "InvalidArgumentError", "InvalidRequestError", "MxAccessError",
    "MxGatewayError", "NotFoundError", "PermissionDeniedError", "ProtocolStatusError",
    "ProtocolViolationError", "ReplayGapError", "ResourceExhaustedError", "RpcError",
    "Session", "SessionNotFoundError", "SessionNotReadyError", "SparseArray", "TlsError",
    "TransportError", "UnauthenticatedError", "UnavailableError", "UnimplementedError",
    "ValueConversionError", "WorkerUnavailableError", "__version__", "from_mx_value", "pb",
    "to_mx_value",
]
