"""Unary calls on the connection's HTTP/2 streams (`mxgw.unary`): replies and requests
larger than the flow-control windows, a failure status after the reply, a reply that is
not gRPC; and the grpclib internals the path relies on are still the pinned grpclib's."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import grpclib
import grpclib.protocol
import h2.config
import h2.connection
import h2.events
import pytest
from grpclib.const import Cardinality, Handler, Status
from grpclib.exceptions import GRPCError, StreamTerminatedError
from grpclib.server import Server, Stream
from grpclib.utils import Wrapper

from mxgw import (
    GatewayClient,
    InternalError,
    NotFoundError,
    ResourceExhaustedError,
    UnavailableError,
    pb,
)
from mxgw.sim import SimServer
from mxgw.transport import _Channel
from mxgw.unary import _Arrivals, _UnaryStream

from ..conftest import TEST_KEY
from .peers import h2_peer

SERVICE = "/mxaccess_gateway.v1.MxAccessGateway/"
WINDOW = 65_535  # the smallest stream window HTTP/2 allows


class _Gateway:
    """OpenSession answers with a session id as long as the name asked for is (`big:N`),
    fails after its reply (`then-fail`), or after its headers with no reply at all
    (`headers-then-fail`)."""

    def __init__(self) -> None:
        self.names: list[int] = []

    async def _open(self, stream: Stream[Any, Any]) -> None:
        request = await stream.recv_message()
        assert request is not None
        name = request.client_session_name
        self.names.append(len(name))
        if name == "then-fail":
            await stream.send_message(pb.OpenSessionReply(session_id="s"))
            raise GRPCError(Status.NOT_FOUND, "gone after all")
        if name == "headers-then-fail":
            await stream.send_initial_metadata()  # the status comes in trailers, not alone
            raise GRPCError(Status.NOT_FOUND, "no such session")
        size = int(name.split(":")[1]) if name.startswith("big:") else 1
        await stream.send_message(pb.OpenSessionReply(session_id="x" * size))

    def __mapping__(self) -> dict[str, Handler]:
        return {SERVICE + "OpenSession": Handler(self._open, Cardinality.UNARY_UNARY,
                                                 pb.OpenSessionRequest, pb.OpenSessionReply)}


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[_Gateway, str]]:
    gateway = _Gateway()
    server = Server([gateway])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    await server.start(sock=sock)
    try:
        yield gateway, f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def test_replies_and_requests_larger_than_the_windows_arrive_whole(
    gateway: tuple[_Gateway, str],
) -> None:
    server, endpoint = gateway
    async with GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True,
                                     stream_window_bytes=WINDOW) as client:
        for size in (1, 20_000, 300_000):  # one frame, several, several windows
            reply = await client.open_session_raw(f"big:{size}")
            assert len(reply.session_id) == size
        name = "big:5:" + "n" * 200_000  # the gateway's windows are 64 KiB too
        replies = await asyncio.gather(*(client.open_session_raw(name) for _ in range(4)))
        assert [len(r.session_id) for r in replies] == [5] * 4
        assert server.names[-4:] == [len(name)] * 4


async def test_a_failure_status_after_the_reply_is_the_calls_failure(
    gateway: tuple[_Gateway, str],
) -> None:
    _, endpoint = gateway
    async with GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True) as client:
        with pytest.raises(NotFoundError, match="gone after all"):
            await client.open_session_raw("then-fail")
        assert (await client.open_session_raw("big:3")).session_id == "xxx"


async def test_a_failure_status_in_trailers_after_headers_and_no_reply_is_raised(
    gateway: tuple[_Gateway, str],
) -> None:
    """Headers, then trailers with a failure status and no message between (what a
    server sends when it fails after sending its headers): the status, not a lost call."""
    _, endpoint = gateway
    async with GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True) as client:
        with pytest.raises(NotFoundError, match="no such session"):
            await client.open_session_raw("headers-then-fail")
        assert (await client.open_session_raw("big:3")).session_id == "xxx"


@pytest.mark.skipif(not hasattr(asyncio.Task, "cancelling"),
                    reason="tasks count cancel requests from Python 3.11")
async def test_a_call_failing_in_a_cancelled_tasks_cleanup_keeps_its_cancel(
    gateway: tuple[_Gateway, str],
) -> None:
    """A task being cancelled that makes a call in its `except CancelledError` cleanup,
    and the call fails with the gateway's status: the cancel request is the task's
    canceller's, not grpclib's wake-up, and stays counted (asyncio.timeout, TaskGroup
    and asyncio.run read the count)."""
    _, endpoint = gateway
    counts: list[int] = []
    async with GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True) as client:

        async def worker(started: asyncio.Event) -> None:
            try:
                started.set()
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                with contextlib.suppress(NotFoundError):
                    await client.open_session_raw("then-fail")
                task: Any = asyncio.current_task()
                counts.append(task.cancelling())
                raise

        started = asyncio.Event()
        task = asyncio.create_task(worker(started))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert counts == [1]


GRPC_HEADERS = [(":status", "200"), ("content-type", "application/grpc")]


async def test_a_reply_ended_without_trailers_fails_at_once() -> None:
    """A message and END_STREAM on its DATA, no trailers: the call has no status, and
    nothing more can come on its stream; it fails as gRPC's clients fail it."""
    reply = bytes(pb.OpenSessionReply(session_id="s"))

    def answer(conn: h2.connection.H2Connection, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.StreamEnded):
            conn.send_headers(event.stream_id, GRPC_HEADERS)
            conn.send_data(event.stream_id, b"\0" + len(reply).to_bytes(4, "big") + reply,
                           end_stream=True)

    async with h2_peer(answer) as endpoint:
        async with GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True) as c:
            with pytest.raises(InternalError, match="without sending trailers"):
                await c.open_session_raw("x")


async def test_a_status_sent_while_the_request_waits_for_the_window_is_raised() -> None:
    """The gateway refuses a request larger than its windows at its headers
    (trailers-only, END_STREAM, no reset) and reads no more of it: the call fails with
    that status instead of waiting for window that never comes until its deadline."""

    def answer(conn: h2.connection.H2Connection, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            conn.send_headers(event.stream_id, [
                *GRPC_HEADERS, ("grpc-status", "8"), ("grpc-message", "request too big")],
                end_stream=True)

    async with h2_peer(answer) as endpoint:
        async with GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True) as c:
            with pytest.raises(ResourceExhaustedError, match="request too big"):
                await c.open_session_raw("n" * 200_000)


@contextlib.asynccontextmanager
async def http_server(status: str) -> AsyncIterator[str]:
    """An HTTP/2 server of the test's own that answers every request with `status`."""

    def answer(conn: h2.connection.H2Connection, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.StreamEnded):
            conn.send_headers(event.stream_id, [(":status", status)], end_stream=True)

    async with h2_peer(answer) as endpoint:
        yield endpoint


async def test_a_reply_that_is_not_grpc_fails_with_the_status_grpc_maps_it_to() -> None:
    async with http_server("503") as endpoint:
        async with GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True) as c:
            with pytest.raises(UnavailableError, match="503"):
                await c.open_session_raw("x")


async def test_the_grpclib_internals_the_unary_path_relies_on_are_the_pinned_ones(
    sim: SimServer,
) -> None:
    assert grpclib.__version__.startswith("0.4."), grpclib.__version__
    for name in ("closable", "reset_nowait", "__ended__", "__terminated__"):
        assert name in vars(grpclib.protocol.Stream)
    for name in ("register", "process_response_received", "process_data_received",
                 "process_trailers_received", "process_stream_ended",
                 "process_window_updated", "close"):
        assert name in vars(grpclib.protocol.EventsProcessor)
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as c:
        await c.open_session_raw("unary-path")
        channel = c._grpc
        assert isinstance(channel, _Channel)
        protocol = channel.link.protocol
        assert protocol is not None
        connection = protocol.processor.connection
        assert isinstance(connection._connection, h2.connection.H2Connection)
        for part in ("_transport", "write_ready", "stream_close_waiter"):
            assert part in vars(connection)
        # a stream's END_STREAM, and its connection's loss, reach _Arrivals and the wrapper
        wrapper = Wrapper()
        stream = _UnaryStream(connection, connection._connection, wrapper)
        assert isinstance(stream.buffer, _Arrivals) and stream.buffer is stream.arrivals
        stream.__ended__()
        assert stream.arrivals.ended
        with pytest.raises(StreamTerminatedError, match="lost"):
            with wrapper:
                stream.__terminated__("lost")
                await asyncio.sleep(0)  # the wrapper's cancel lands here
        task = asyncio.current_task()
        if task is not None and hasattr(task, "uncancel"):
            task.uncancel()  # what mxgw.calls.withdraw_wakeup does for a call
