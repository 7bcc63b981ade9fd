"""MXAccess failure detection: decide on protocol status, hresult and status category."""

from __future__ import annotations

from ._proto.mxaccess_gateway import v1 as pb
from .errors import AlarmAcknowledgeError, MxAccessError, enum_name, protocol_error

ERROR_CATEGORIES = frozenset(
    {
        pb.MxStatusCategory.COMMUNICATION_ERROR,
        pb.MxStatusCategory.CONFIGURATION_ERROR,
        pb.MxStatusCategory.OPERATIONAL_ERROR,
        pb.MxStatusCategory.SECURITY_ERROR,
        pb.MxStatusCategory.SOFTWARE_ERROR,
        pb.MxStatusCategory.OTHER_ERROR,
    }
)
"""Categories that mean failure. Ok, Pending, Warning, Unknown and an all-default status
(UNSPECIFIED) do not: `success` alone is never trusted."""


def is_error_status(status: pb.MxStatusProxy) -> bool:
    """True when an MXAccess status (of an OnWriteComplete or a data change, or in
    `MxAccessError.statuses`) reports a failure: an error category. Ok, Pending (a
    write's first completion, often), Warning and Unknown do not."""
    return status.category in ERROR_CATEGORIES


def describe_status(status: pb.MxStatusProxy) -> str:
    """One readable line for an MXAccess status: `MX_STATUS_CATEGORY_SECURITY_ERROR
    detected by MX_STATUS_SOURCE_REQUESTING_LMX detail 5 (its diagnostic text)`."""
    text = (
        f"{enum_name(status.category)} detected by {enum_name(status.detected_by)} "
        f"detail {status.detail}"
    )
    return f"{text} ({status.diagnostic_text})" if status.diagnostic_text else text


def check_protocol(reply: pb.MxCommandReply) -> None:
    """Raise the typed ProtocolStatusError unless the status is OK or MXACCESS_FAILURE."""
    status = reply.protocol_status
    code = status.code if status is not None else pb.ProtocolStatusCode.UNSPECIFIED
    if code not in (pb.ProtocolStatusCode.OK, pb.ProtocolStatusCode.MXACCESS_FAILURE):
        raise protocol_error(status, reply)


def mxaccess_failure(reply: pb.MxCommandReply) -> MxAccessError | None:
    """The MxAccessError a reply carries, or None when MXAccess succeeded."""
    status = reply.protocol_status
    flagged = status is not None and status.code == pb.ProtocolStatusCode.MXACCESS_FAILURE
    failing = [s for s in reply.statuses if is_error_status(s)]
    if not (flagged or reply.hresult < 0 or failing):
        return None
    parts = [f"MXAccess failure on {enum_name(reply.kind)}"]
    if reply.hresult < 0:
        parts.append(f"hresult 0x{reply.hresult & 0xFFFFFFFF:08X}")
    parts += [describe_status(s) for s in failing]
    # The gateway often repeats a status's diagnostic text as the reply's diagnostic or
    # protocol message: print each text once.
    said = {s.diagnostic_text for s in failing}
    diagnostic = reply.diagnostic_message or (status.message if status is not None else "")
    if diagnostic and diagnostic not in said:
        parts.append(diagnostic)
    return MxAccessError("; ".join(parts), reply)


def raise_for_mxaccess(reply: pb.MxCommandReply) -> pb.MxCommandReply:
    """Raise MxAccessError for an MXAccess failure; return the reply otherwise.

    The protocol status is checked once, where the reply is received
    (`GatewayClient.invoke_raw`)."""
    failure = mxaccess_failure(reply)
    if failure is not None:
        raise failure
    return reply


def check_reply(reply: pb.MxCommandReply) -> pb.MxCommandReply:
    """Raise for a protocol or MXAccess failure; return the reply otherwise (for a reply
    obtained without `invoke_raw`)."""
    check_protocol(reply)
    return raise_for_mxaccess(reply)


def check_acknowledge(reply: pb.AcknowledgeAlarmReply, reference: str) -> pb.AcknowledgeAlarmReply:
    """Return the reply of an acknowledge the gateway did; raise AlarmAcknowledgeError when
    it refused (a non-zero native status, or MXACCESS_FAILURE), or the typed
    ProtocolStatusError for any other failing protocol status."""
    status = reply.protocol_status
    code = status.code if status is not None else pb.ProtocolStatusCode.UNSPECIFIED
    if reply.hresult != 0 or code == pb.ProtocolStatusCode.MXACCESS_FAILURE:
        parts = [f"the gateway refused to acknowledge {reference}"]
        if reply.hresult != 0:
            parts.append(f"native status 0x{reply.hresult & 0xFFFFFFFF:08X}")
        if status is not None and status.message:
            parts.append(status.message)
        raise AlarmAcknowledgeError("; ".join(parts), reply)
    if code != pb.ProtocolStatusCode.OK:
        raise protocol_error(status, reply)
    return reply
