"""mxgw: a pure-Python asyncio client for the MXAccess Gateway.

The client library's names and the generated code (`pb`, `gr`) load on first use
(PEP 562), so `import mxgw.sim` (the simulator, which never uses the client) loads none
of the client, and a CLI command pays only for what it runs (`mxgw version` loads no
generated code at all). Type checkers see plain imports.
"""

import importlib
from typing import TYPE_CHECKING, Any

from . import errors as _errors
from .errors import (
    AbortedError,
    AlarmAcknowledgeError,
    AlreadyExistsError,
    BadQualityError,
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
    MalformedMessageError,
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
    RunningLoopError,
    SessionLostError,
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

_LAZY = {
    "AlarmChange": "alarms", "AlarmView": "alarms", "Operator": "contract.commands",
    "BulkResults": "contract.bulk_replies",
    "WriteItem": "contract.commands", "SparseArray": "contract.values",
    "from_mx_value": "contract.values", "to_mx_value": "contract.values",
    "GatewayClient": "client", "EventStream": "events", "GalaxyRepositoryClient": "galaxy",
    "ApiKey": "options", "ClientOptions": "options", "Session": "session",
    "DurableSession": "durable", "DurableEvents": "durable", "DurableHealth": "durable",
    "DurableState": "durable", "SessionReplaced": "durable", "EventsLost": "durable",
    "DeployEvent": "_proto.galaxy_repository.v1", "GalaxyAttribute": "_proto.galaxy_repository.v1",
    "GalaxyObject": "_proto.galaxy_repository.v1",
    "DeployChange": "deploys", "DeployWatch": "deploys",
    "describe_status": "failures", "is_error_status": "failures",
}
"""Public name -> the module of ours that defines it, imported when the name is used."""

_MODULES = {"pb": "_proto.mxaccess_gateway.v1", "gr": "_proto.galaxy_repository.v1"}
"""Public name -> the generated module it stands for, imported when the name is used."""

if TYPE_CHECKING:
    from ._proto.galaxy_repository import v1 as gr
    from ._proto.galaxy_repository.v1 import DeployEvent, GalaxyAttribute, GalaxyObject
    from ._proto.mxaccess_gateway import v1 as pb
    from .alarms import AlarmChange, AlarmView
    from .client import GatewayClient
    from .contract.bulk_replies import BulkResults
    from .contract.commands import Operator, WriteItem
    from .contract.values import SparseArray, from_mx_value, to_mx_value
    from .deploys import DeployChange, DeployWatch
    from .durable import (
        DurableEvents,
        DurableHealth,
        DurableSession,
        DurableState,
        EventsLost,
        SessionReplaced,
    )
    from .events import EventStream
    from .failures import describe_status, is_error_status
    from .galaxy import GalaxyRepositoryClient
    from .options import ApiKey, ClientOptions
    from .session import Session

__version__ = "0.1.0"

# The library logs under "mxgw" and is silent until the application configures logging:
# mxgw.log gives "mxgw" its NullHandler, imported by every module that logs.

__all__ = [
    "AbortedError",
    "AlarmAcknowledgeError",
    "AlarmChange",
    "AlarmView",
    "AlreadyExistsError",
    "ApiKey",
    "BadQualityError",
    "BulkEntryError",
    "BulkResults",
    "ClientOptions",
    "CommandCanceledError",
    "ConfigurationError",
    "ConnectError",
    "ConnectionLostError",
    "DataLossError",
    "DeadlineExceededError",
    "DeployChange",
    "DeployEvent",
    "DeployWatch",
    "DurableEvents",
    "DurableHealth",
    "DurableSession",
    "DurableState",
    "EventStream",
    "EventsLost",
    "FailedPreconditionError",
    "GalaxyAttribute",
    "GalaxyObject",
    "GalaxyRepositoryClient",
    "GatewayClient",
    "GatewayTimeoutError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "MalformedMessageError",
    "MxAccessError",
    "MxGatewayError",
    "NotFoundError",
    "Operator",
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
    "RunningLoopError",
    "Session",
    "SessionLostError",
    "SessionNotFoundError",
    "SessionNotReadyError",
    "SessionReplaced",
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
    "describe_status",
    "from_mx_value",
    "gr",
    "is_error_status",
    "pb",
    "to_mx_value",
]

if TYPE_CHECKING:
    # The deprecated names (see mxgw.errors), visible to type checkers for this release.
    from .errors import CanceledError as CanceledError
    from .errors import CancelledError as CancelledError
else:
    def __getattr__(name: str) -> Any:
        """The client library's names on first use; `mxgw.CancelledError` and
        `mxgw.CanceledError` still work, with a warning."""
        if name in _MODULES:
            value: Any = importlib.import_module(f".{_MODULES[name]}", __name__)
        elif name in _LAZY:
            value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        else:
            return _errors.deprecated_alias(__name__, name)
        globals()[name] = value  # later lookups skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(_LAZY) | set(_MODULES))
