"""The keepalive keeps within a gRPC server's ping policy: a real grpcio server (the dev
extra) with its default enforcement (`grpc.http2.min_ping_interval_without_data_ms`, two
strikes, then GOAWAY `too_many_pings`), scaled down (keepalive 30 s, permit time 300 s as
the client is told to keep for such a server, server 300 s: all / 200 here), over a
stream that stays open without data while the client pings it (counted by a proxy in
between)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

import mxgw
from mxgw import ClientOptions, pb
from mxgw.calls import server_stream
from mxgw.transport import channel_for

from ..conftest import eventually
from .peers import StallProxy

SCALE = 1 / 200
SERVER_MIN_PING_MS = round(300_000 * SCALE)  # gRPC's default policy, scaled
SCALED = {"keepalive_time": 30 * SCALE, "keepalive_timeout": 5.0,
          "keepalive_permit_time": 300 * SCALE}
ROUTE = "/test.Idle/Stream"

# a dev extra: the lowest-versions run of tests/client (tests/packaging) has no grpcio
grpc = pytest.importorskip("grpc")


class IdleServer:
    """A grpcio server whose one server-streaming method sends one message, then
    nothing until `release` is set, then a second one."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.server: Any = None
        self.port = 0

    async def _stream(self, request: bytes, context: Any) -> AsyncIterator[bytes]:
        yield bytes(pb.MxEvent(worker_sequence=1))
        await self.release.wait()
        yield bytes(pb.MxEvent(worker_sequence=2))

    async def __aenter__(self) -> IdleServer:
        self.server = grpc.aio.server(options=[
            ("grpc.http2.min_ping_interval_without_data_ms", SERVER_MIN_PING_MS)])
        handler = grpc.method_handlers_generic_handler(
            "test.Idle", {"Stream": grpc.unary_stream_rpc_method_handler(self._stream)})
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        await self.server.stop(0)


@contextlib.asynccontextmanager
async def idle_stream(**options: Any) -> AsyncIterator[tuple[IdleServer, StallProxy, Any]]:
    async with IdleServer() as server, StallProxy(server.port) as proxy:
        channel = channel_for(ClientOptions(proxy.endpoint, plaintext=True, **options))
        try:
            yield server, proxy, channel
        finally:
            channel.close()


def open_stream(channel: Any, endpoint: str) -> Any:
    return server_stream(channel, ROUTE, pb.StreamEventsRequest(), pb.MxEvent,
                         timeout=None, endpoint=endpoint)


async def test_pings_kept_to_the_permit_time_get_no_goaway_from_a_grpcio_server() -> None:
    async with idle_stream(**SCALED) as (server, proxy, channel):
        stream = open_stream(channel, proxy.endpoint)
        first = await asyncio.wait_for(stream.__anext__(), 30)
        assert first.worker_sequence == 1
        # two pings right after the data, then one per permit time: without the policy
        # the fourth ping would be the third strike
        await eventually(lambda: proxy.pings >= 5, timeout=60)
        server.release.set()
        second = await asyncio.wait_for(stream.__anext__(), 30)
        assert second.worker_sequence == 2
        await stream.aclose()


async def test_a_too_many_pings_goaway_is_told_and_the_channel_pings_less_after_it() -> None:
    """The default (no ping policy, right for the gateway's Kestrel): pinging an idle
    stream at keepalive_time is refused once by a grpcio server; the channel then keeps
    to gRPC's default policy."""
    default = ClientOptions("gateway:5001").keepalive_permit_time
    async with idle_stream(**{**SCALED, "keepalive_permit_time": default}) as (
            server, proxy, channel):
        stream = open_stream(channel, proxy.endpoint)
        await asyncio.wait_for(stream.__anext__(), 30)
        with pytest.raises(mxgw.ConnectionLostError, match="too_many_pings"):
            await asyncio.wait_for(stream.__anext__(), 30)
        refused_at = proxy.pings
        again = open_stream(channel, proxy.endpoint)
        await asyncio.wait_for(again.__anext__(), 30)
        await eventually(lambda: proxy.pings >= refused_at + 2, timeout=30)
        server.release.set()
        assert (await asyncio.wait_for(again.__anext__(), 30)).worker_sequence == 2
        await again.aclose()
