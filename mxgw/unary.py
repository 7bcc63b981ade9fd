"""A unary call on its connection's HTTP/2 stream, without grpclib's per-call machinery.

grpclib's client `Stream` dispatches four channel events, builds metadata multidicts, a
peer and a deadline wrapper per call, and its protocol-level stream keeps an asyncio
Queue and three Events that a unary call wakes on one by one: together they cost more
than the call's HTTP/2 itself. `call` does what they do for one request and one reply,
with one wake-up when everything it waits for arrived at once (the usual case: HEADERS,
DATA and trailers in one read), and fails the same ways: GRPCError for a failure status,
StreamTerminatedError for a lost connection, asyncio.TimeoutError at the local deadline
(`mxgw.calls.translate` maps them all).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypeVar, cast

import grpclib.protocol
from grpclib.const import Status
from grpclib.encoding.base import GRPC_CONTENT_TYPE
from grpclib.exceptions import GRPCError, StreamTerminatedError
from grpclib.metadata import decode_grpc_message
from grpclib.utils import Wrapper
from h2.exceptions import TooManyStreamsError

from .errors import MalformedMessageError
from .transport import RequestHead

ReplyT = TypeVar("ReplyT")

GRPC_PROTO_TYPE = GRPC_CONTENT_TYPE + "+proto"
# The HTTP status of a reply that is not gRPC, as gRPC status (gRPC's
# doc/http-grpc-status-mapping.md); any other one is UNKNOWN.
_HTTP_STATUS = {"400": Status.INTERNAL, "401": Status.UNAUTHENTICATED,
                "403": Status.PERMISSION_DENIED, "404": Status.UNIMPLEMENTED,
                "429": Status.UNAVAILABLE, "502": Status.UNAVAILABLE,
                "503": Status.UNAVAILABLE, "504": Status.UNAVAILABLE}


class _Arrivals:
    """What grpclib's events processor hands a unary call's stream, in place of the
    stream's Buffer and its three Events (`headers_received`, `trailers_received`,
    `window_updated`): the DATA received, and one waiter that any arrival wakes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.unacked = 0
        """Flow-controlled bytes received and not yet acknowledged to the peer."""
        self.ended = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:  # the three Events' `set`
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def add(self, data: bytes, ack_size: int) -> None:  # Buffer.add
        self.chunks.append(data)
        self.size += len(data)
        self.unacked += ack_size
        self.set()

    def eof(self) -> None:  # Buffer.eof, on END_STREAM
        self.ended = True
        self.set()

    def unacked_size(self) -> int:  # Buffer.unacked_size, acknowledged at release
        return self.unacked

    async def wait(self) -> None:
        """Until the next arrival."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


class _UnaryStream(grpclib.protocol.Stream):
    """grpclib's protocol-level stream with `_Arrivals` for its buffer and events; its
    own `closable`, `reset_nowait`, `__ended__` and `__terminated__` (which cancels the
    call's wrapper with StreamTerminatedError) are kept."""

    def __init__(self, connection: grpclib.protocol.Connection, h2: Any,
                 wrapper: Wrapper) -> None:
        # Not grpclib's __init__: it makes the Events and Buffer that _Arrivals replaces.
        self.connection = connection
        self._h2_connection = h2
        self._transport = connection._transport
        self.wrapper = wrapper
        self.headers = self.trailers = None
        self.arrivals = _Arrivals()
        self.buffer = self.headers_received = self.trailers_received = self.window_updated = \
            cast(Any, self.arrivals)


def _expire(wrapper: Wrapper) -> None:
    wrapper.cancel(asyncio.TimeoutError("Deadline exceeded"))


async def call(head: RequestHead, route: str, data: bytes, reply_type: type[ReplyT],
               timeout: float | None) -> ReplyT | None:
    """The reply to the request `data` (the encoded message), or None when the gateway
    sent none.

    The one function that drives grpclib's connection below its client `Stream`
    (grpclib is pinned to 0.4.x; tests/client/test_unary_path.py fails when these change
    shape): a protocol's `processor` (`register(stream)` returns the stream's release;
    its `process_*` methods set a registered stream's `headers` and `trailers`, call
    `set()` on its `headers_received`, `trailers_received` and `window_updated`, `add`
    and `eof` on its `buffer`, and `__ended__` and `__terminated__` on it; the release
    acknowledges `buffer.unacked_size()`); `processor.connection`'s `_connection` (the
    h2 connection), `_transport`, `write_ready`, `stream_close_waiter` and `ack`; the
    protocol-level Stream's `closable`, `reset_nowait`, `__ended__` and `__terminated__`
    (`_UnaryStream`); and `grpclib.utils.Wrapper`, whose `cancel` the connection calls
    on the streams it loses, as the deadline's timer here does when it passes.
    """
    wrapper = Wrapper()
    timer = deadline = None
    if timeout is not None:
        if timeout <= 0:
            raise asyncio.TimeoutError("Deadline exceeded")
        deadline = time.monotonic() + timeout
        timer = asyncio.get_running_loop().call_later(timeout, _expire, wrapper)
    stream: _UnaryStream | None = None
    release = None
    try:
        with wrapper:
            protocol = await head.connect()
            processor = protocol.processor
            connection = processor.connection
            h2 = connection._connection
            stream = _UnaryStream(connection, h2, wrapper)
            fields = head.fields(route.encode(),
                                 None if deadline is None else deadline - time.monotonic())
            release = await _open(stream, processor, fields)
            await _send(stream, b"\0" + len(data).to_bytes(4, "big") + data)
            return await _reply(stream, head, reply_type)
    except StreamTerminatedError as exc:
        failure = None if release is None else _status_failure(stream)
        if failure is None:
            raise
        from .calls import withdraw_wakeup  # here: calls imports this module

        withdraw_wakeup(exc)  # the failure raised instead does not carry grpclib's cancel
        raise failure from None
    finally:
        if release is not None:
            assert stream is not None
            if stream.closable:
                stream.reset_nowait()
            release()
        if timer is not None:
            timer.cancel()


async def _open(stream: _UnaryStream, processor: Any, fields: list[tuple[bytes, bytes]]
                ) -> Any:
    """Send the request's HEADERS on a new stream id; the stream's release. At the
    connection's limit of concurrent streams, wait for one to close (as grpclib does)."""
    connection, h2 = stream.connection, stream._h2_connection
    while True:
        await connection.write_ready.wait()  # no await in between: ids go out in order
        stream_id = h2.get_next_available_stream_id()
        try:
            h2.send_headers(stream_id, fields)
        except TooManyStreamsError:
            connection.stream_close_waiter.clear()
            await connection.stream_close_waiter.wait()
            continue
        stream.id = stream_id
        return processor.register(stream)


async def _send(stream: _UnaryStream, frame: bytes) -> None:
    """Send the request message (with the HEADERS h2 holds, in one write while the
    peer's window has room for it), ending the stream; or stop when the gateway has
    ended the call already (a status sent at the request's headers: `_reply` reads it)."""
    connection, h2, stream_id = stream.connection, stream._h2_connection, stream.id
    assert stream_id is not None
    sent, size = 0, len(frame)
    while True:
        if stream.arrivals.ended:
            return  # the gateway answered and ended the call: it reads no more of it
        window = h2.local_flow_control_window(stream_id)
        if window > 0:
            end = sent + min(window, h2.max_outbound_frame_size, size - sent)
            h2.send_data(stream_id, frame[sent:end] if sent or end < size else frame,
                         end_stream=end == size)
            sent = end
        stream._transport.write(h2.data_to_send())
        if sent == size:
            return
        if window > 0:
            await connection.write_ready.wait()
        else:
            await stream.arrivals.wait()  # a window update, or any other arrival


async def _reply(stream: _UnaryStream, head: RequestHead, reply_type: type[ReplyT]
                 ) -> ReplyT | None:
    """Read the reply's headers, message and trailers (grpclib's order and checks)."""
    arrivals = stream.arrivals
    while stream.headers is None:
        await arrivals.wait()
    trailers_only = _check_headers(stream.headers)
    reply: ReplyT | None = None
    while True:
        if arrivals.size >= 5:
            prefix = arrivals.chunks[0][:5] if len(arrivals.chunks[0]) >= 5 else \
                b"".join(arrivals.chunks)[:5]
            if prefix[0]:
                raise MalformedMessageError(reply_type.__name__, -1,
                                            "a compressed gRPC frame, which was not asked for")
            need = 5 + int.from_bytes(prefix[1:], "big")
            if arrivals.size >= need:
                data = b"".join(arrivals.chunks)
                _ack(stream)
                reply = head.codec.decode(data[5:need], reply_type)
                break
        if arrivals.ended:
            if arrivals.size:
                raise MalformedMessageError(reply_type.__name__, -1,
                                            "gRPC frame shorter than its length prefix")
            if stream.trailers is not None:
                _check_status(stream.trailers)  # a failure status and no message
            return None
        _ack(stream)  # the rest of the message may need the window
        await arrivals.wait()
    if trailers_only or stream.connection.is_closing():
        return reply  # grpclib does not wait for trailers on a closing connection
    while stream.trailers is None:
        if arrivals.ended:  # trailers come before END_STREAM, or in its HEADERS
            raise GRPCError(Status.INTERNAL, "server closed the stream without sending "
                                             "trailers")
        await arrivals.wait()
    _check_status(stream.trailers)
    return reply


def _ack(stream: _UnaryStream) -> None:
    """Hand the peer back the window of the DATA received so far."""
    arrivals = stream.arrivals
    if arrivals.unacked:
        size, arrivals.unacked = arrivals.unacked, 0
        stream.connection.ack(stream.id, size)  # type: ignore[arg-type]


def _check_headers(headers: list[tuple[str, str]]) -> bool:
    """Raise GRPCError for a reply's headers that are not gRPC's, or carry a failure
    status (a trailers-only reply); True when they are the trailers too."""
    fields = dict(headers)
    status = fields.get(":status")
    if status != "200":
        raise _http_error(status)
    content_type = fields.get("content-type")
    if content_type is None:
        raise GRPCError(Status.UNKNOWN, "Missing content-type header")
    if content_type != GRPC_CONTENT_TYPE and content_type != GRPC_PROTO_TYPE:
        raise GRPCError(Status.UNKNOWN, f"Invalid content-type: {content_type!r}")
    if "grpc-status" not in fields:
        return False
    _check_status(headers)
    return True


def _http_error(status: str | None) -> GRPCError:
    return GRPCError(_HTTP_STATUS.get(status or "", Status.UNKNOWN),
                     f"Received :status = {status!r}")


def _check_status(trailers: list[tuple[str, str]]) -> None:
    """Raise GRPCError unless the trailers carry status OK."""
    error = _status_error(dict(trailers))
    if error is not None:
        raise error


def _status_error(fields: dict[str, str]) -> GRPCError | None:
    """The GRPCError for trailer fields without status OK, or None."""
    code = fields.get("grpc-status")
    if code == "0":
        return None
    if code is None:
        return GRPCError(Status.UNKNOWN, "Missing grpc-status header")
    try:
        status = Status(int(code))
    except ValueError:
        return GRPCError(Status.UNKNOWN, f"Invalid grpc-status: {code!r}")
    if status is Status.OK:
        return None
    message = fields.get("grpc-message")
    return GRPCError(status, None if message is None else decode_grpc_message(message))


def _status_failure(stream: _UnaryStream | None) -> GRPCError | None:
    """The failure status a lost call's stream received before it was lost, if any
    (the gateway's reason says more than the connection's end)."""
    if stream is None:
        return None
    headers, trailers = stream.headers, stream.trailers
    fields = None if headers is None else dict(headers)
    if fields is not None and fields.get(":status") != "200":
        return _http_error(fields.get(":status"))
    if trailers is not None:
        return _status_error(dict(trailers))
    if fields is not None and "grpc-status" in fields:
        return _status_error(fields)
    return None
