"""The two call shapes (unary, server stream) with one translation of failures into mxgw errors."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import h2.exceptions
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from .contract import codec
from .errors import (
    RPC_ERRORS,
    ConnectError,
    ConnectionLostError,
    DeadlineExceededError,
    MalformedMessageError,
    MxGatewayError,
    OptionText,
    RequestTooLargeError,
    RpcError,
    TlsError,
)
from .received import received
from .transport import RequestHead, failure_of
from .unary import call as unary_call

ReplyT = TypeVar("ReplyT")


# OpenSSL's reasons when the peer answered a ClientHello with something that is not TLS
_NOT_TLS_REASONS = frozenset({
    "WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST",
    "UNKNOWN_PROTOCOL", "UNEXPECTED_EOF_WHILE_READING",
})


def translate(exc: BaseException, method: str, endpoint: str) -> MxGatewayError:
    """The mxgw error for a failure raised by grpclib, h2, ssl or the socket layer."""
    if isinstance(exc, MxGatewayError):
        return exc
    if isinstance(exc, GRPCError):
        if exc.status is Status.DEADLINE_EXCEEDED:
            return DeadlineExceededError(f"{method}: the gateway reports the deadline passed")
        cls = RPC_ERRORS.get(exc.status.name, RpcError)
        return cls(exc.status.name, exc.message, method)
    if isinstance(exc, asyncio.TimeoutError):
        return DeadlineExceededError(f"{method}: no reply from {endpoint} before the deadline")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TlsError(OptionText(
            "TLS certificate of {endpoint} not trusted: {why}; check {ca_file} and "
            "{server_name_override}", endpoint=endpoint, why=exc.verify_message), endpoint)
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.__class__.__name__
        hint = ""
        if reason in _NOT_TLS_REASONS or isinstance(exc, ssl.SSLEOFError):
            hint = "; if the gateway serves plaintext, connect with {plaintext}"
        return TlsError(OptionText("TLS handshake with {endpoint} failed: {reason}" + hint,
                                   endpoint=endpoint, reason=reason), endpoint)
    if isinstance(exc, StreamTerminatedError) and (failure := failure_of(exc, method)):
        return failure  # we closed the connection, and know why
    if isinstance(exc, (StreamTerminatedError, ProtocolError, h2.exceptions.ProtocolError)):
        return ConnectionLostError(f"{method}: connection to {endpoint} lost ({exc})", endpoint)
    if isinstance(exc, ConnectionRefusedError):
        return ConnectError(
            f"connection to {endpoint} refused: is the gateway running there?", endpoint
        )
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, EOFError)):
        return ConnectionLostError(f"{method}: connection to {endpoint} lost", endpoint)
    if isinstance(exc, OSError):
        reason = exc.strerror or exc.__class__.__name__
        return ConnectError(f"cannot reach {endpoint}: {reason}", endpoint)
    return MxGatewayError(f"{method}: unexpected {exc.__class__.__name__}: {exc}")


def call_failure(exc: BaseException, method: str, endpoint: str) -> MxGatewayError:
    """The mxgw error of a call that failed with `exc`, the calling task left as it was."""
    withdraw_wakeup(exc)
    return translate(exc, method, endpoint)


_WAKE_UP_ERRORS = (StreamTerminatedError, asyncio.TimeoutError)
"""What grpclib's `Wrapper.cancel` is given: a lost stream, a local deadline."""


def withdraw_wakeup(exc: BaseException) -> None:
    """Withdraw the cancel request grpclib made to wake this task, if `exc` is its doing.

    grpclib wakes a task waiting on a call whose connection is lost, or whose local
    deadline passed, with `task.cancel()` (`grpclib.utils.Wrapper`), raises its own error
    (StreamTerminatedError, TimeoutError) in place of the CancelledError, and never
    withdraws the request. From Python 3.11 the task then counts as being cancelled for
    the rest of its life: a TaskGroup in it turns a child's failure into a CancelledError,
    and asyncio.run takes Ctrl-C for someone else's cancel. The sign of grpclib's doing is
    the CancelledError it replaced, the error's `__context__`.
    tests/client/test_task_state.py fails if grpclib changes this.

    Only the errors grpclib wakes a task with count: any other (a failure status) raised
    while the task handles a CancelledError of its own (a cleanup call in `except
    CancelledError`) has that one as its context, and that request is not grpclib's."""
    if not isinstance(exc, _WAKE_UP_ERRORS) or not isinstance(exc.__context__,
                                                              asyncio.CancelledError):
        return
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+; 3.10 does not count
    if cancelling is not None and cancelling() > 0:
        task.uncancel()  # type: ignore[union-attr]


_TRANSLATED = (
    GRPCError, asyncio.TimeoutError, OSError, StreamTerminatedError, ProtocolError,
    h2.exceptions.ProtocolError, EOFError,
)


def encode_checked(message: Any, limit: int, method: str) -> bytes:
    """The request's bytes; RequestTooLargeError, before any call is opened, when they
    exceed the message size limit."""
    data = codec.encode(message)
    if len(data) > limit:
        raise RequestTooLargeError(method, len(data), limit)
    return data


async def _receive(stream: Any, reply_type: type[ReplyT]) -> ReplyT | None:
    """The next message of a call, or None at its end. grpclib checks a message's gRPC
    frame with `assert` and `struct`: a frame shorter than its length prefix, or a
    compressed one (which we never asked for), is one MalformedMessageError here."""
    try:
        message: ReplyT | None = await stream.recv_message()
    except (AssertionError, struct.error) as exc:
        raise MalformedMessageError(reply_type.__name__, -1,
                                    f"gRPC frame shorter than its length prefix ({exc})"
                                    ) from None
    except NotImplementedError:
        raise MalformedMessageError(reply_type.__name__, -1,
                                    "a compressed gRPC frame, which was not asked for") from None
    return message


async def unary(
    head: RequestHead,
    route: str,
    request: Any,
    reply_type: type[ReplyT],
    *,
    timeout: float | None,
    endpoint: str,
    max_bytes: int,
) -> ReplyT:
    """One unary call; every failure comes out as an MxGatewayError."""
    method = route.rsplit("/", 1)[-1]
    data = encode_checked(request, max_bytes, method)
    try:
        reply = await unary_call(head, route, data, reply_type, timeout)
    except _TRANSLATED as exc:
        raise call_failure(exc, method, endpoint) from None
    if reply is None:
        raise ConnectionLostError(f"{method}: the gateway closed the call with no reply", endpoint)
    return reply


async def server_stream(
    channel: Channel,
    route: str,
    request: Any,
    reply_type: type[ReplyT],
    *,
    timeout: float | None,
    endpoint: str,
) -> AsyncIterator[ReplyT]:
    """A server stream as an async generator.

    Closing the generator (break, aclose, task cancel) resets the HTTP/2 stream at once
    instead of waiting for the server's trailers. A failure status is raised as soon as
    the trailers carrying it arrive, before the messages still buffered ahead of them:
    a slow reader of a faulted session's events must not go on reading them as live.
    """
    method = route.rsplit("/", 1)[-1]
    trailers: asyncio.Future[None] | None = None
    try:
        async with channel.request(
            route, Cardinality.UNARY_STREAM, type(request), reply_type, timeout=timeout
        ) as stream:
            await stream.send_message(request, end=True)
            await stream.recv_initial_metadata()
            # grpclib reads the trailers only after the last message; this waits for
            # them beside the reader (they raise GRPCError for a failure status).
            trailers = asyncio.ensure_future(stream.recv_trailing_metadata())
            trailers.add_done_callback(_retrieve)
            # Leave only by exception (GeneratorExit on break/aclose, CancelledError) or at
            # the end of the stream: grpclib's __aexit__ resets the HTTP/2 stream at once
            # on an exception, and only a normal exit waits for the trailers.
            while True:
                if trailers.done() and trailers.exception() is not None:
                    raise trailers.exception()  # type: ignore[misc]
                message = await _receive(stream, reply_type)
                if message is None:
                    break
                yield message
                for message in received(stream, reply_type):  # the rest of its DATA frame
                    if trailers.done() and trailers.exception() is not None:
                        raise trailers.exception()  # type: ignore[misc]
                    yield message
            await trailers
    except _TRANSLATED as exc:
        raise call_failure(exc, method, endpoint) from None
    finally:
        if trailers is not None:
            trailers.cancel()


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark a side task's failure as seen (the reader raises it, or has gone)."""
    if not future.cancelled():
        future.exception()


class Exchange:
    """One bidirectional call in which each request gets one reply (`ask`), such as gRPC
    server reflection's. Failures come out of the `exchange` block as mxgw errors."""

    def __init__(self, stream: Any, reply_type: type[Any], method: str, endpoint: str,
                 max_bytes: int) -> None:
        self._stream = stream
        self._reply_type = reply_type
        self._method = method
        self._endpoint = endpoint
        self._max_bytes = max_bytes

    async def ask(self, request: Any) -> Any:
        """Send `request` and return the reply to it."""
        data = encode_checked(request, self._max_bytes, self._method)
        # grpclib's errors are left to leave the call's block: on a reset stream its exit
        # raises the status the server sent (UNIMPLEMENTED for an unknown service).
        await self._stream.send_message(data)
        reply = await _receive(self._stream, self._reply_type)
        if reply is None:
            raise ConnectionLostError(
                f"{self._method}: the gateway ended the call before replying", self._endpoint)
        return reply


@contextlib.asynccontextmanager
async def exchange(channel: Channel, route: str, request_type: type[Any],
                   reply_type: type[Any], *, timeout: float | None, endpoint: str,
                   max_bytes: int) -> AsyncIterator[Exchange]:
    """A bidirectional call for the block's requests; it is ended (and its trailers read)
    when the block leaves normally, reset at once when it raises."""
    method = route.rsplit("/", 1)[-1]
    try:
        async with channel.request(route, Cardinality.STREAM_STREAM, request_type, reply_type,
                                   timeout=timeout) as stream:
            await stream.send_request()
            yield Exchange(stream, reply_type, method, endpoint, max_bytes)
            await stream.end()
            while await _receive(stream, reply_type) is not None:
                pass  # replies to nothing: the server has nothing left to say
    except _TRANSLATED as exc:
        raise call_failure(exc, method, endpoint) from None
