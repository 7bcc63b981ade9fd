"""Simulator tests drive the generated stubs over a real grpclib Channel (never the client)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw._proto.mxaccess_gateway.v1.services import MxAccessGatewayStub
from mxgw.contract.commands import command
from mxgw.sim import RuntimeConfig, SimConfig, SimServer
from mxgw.sim.faults import FaultConfig
from mxgw.sim.variant import ContractVariant

KEY = "mxgw_simtest_S3cretForSimTests"
K = pb.MxCommandKind
OK = pb.ProtocolStatusCode.OK

def mx_int(value: int) -> pb.MxValue:
    return pb.MxValue(data_type=pb.MxDataType.INTEGER, variant_type="VT_I4", int32_value=value)


def mx_double(value: float) -> pb.MxValue:
    return pb.MxValue(data_type=pb.MxDataType.DOUBLE, variant_type="VT_R8", double_value=value)


def mx_str(value: str) -> pb.MxValue:
    return pb.MxValue(data_type=pb.MxDataType.STRING, variant_type="VT_BSTR", string_value=value)


class Events:
    """An event stream read in a task into a queue (cancel the task to leave it)."""

    def __init__(self, stub: MxAccessGatewayStub, session_id: str, after: int = 0) -> None:
        self.queue: asyncio.Queue[pb.MxEvent | None] = asyncio.Queue()
        self.error: GRPCError | None = None
        self.received: list[pb.MxEvent] = []
        self.done = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(stub, session_id, after))

    async def _run(self, stub: MxAccessGatewayStub, session_id: str, after: int) -> None:
        try:
            async for event in stub.stream_events(pb.StreamEventsRequest(
                    session_id=session_id, after_worker_sequence=after)):
                self.received.append(event)
                self.queue.put_nowait(event)
        except GRPCError as exc:
            self.error = exc
        except Exception as exc:  # connection lost, GOAWAY, ...
            self.error = GRPCError(Status.UNAVAILABLE, repr(exc))
        finally:
            self.done.set()
            self.queue.put_nowait(None)

    async def next(self, timeout: float = 5.0) -> pb.MxEvent:
        event = await asyncio.wait_for(self.queue.get(), timeout)
        if event is None:
            raise AssertionError(f"the stream ended: {self.error!r}")
        return event

    async def until(self, predicate: Callable[[pb.MxEvent], bool],
                    timeout: float = 5.0) -> pb.MxEvent:
        async def scan() -> pb.MxEvent:
            while True:
                event = await self.next(timeout)
                if predicate(event):
                    return event
        return await asyncio.wait_for(scan(), timeout)

    async def until_all(self, *predicates: Callable[[pb.MxEvent], bool],
                        timeout: float = 5.0) -> list[pb.MxEvent]:
        """The first event matching each predicate, in whatever order they arrive."""
        found: list[pb.MxEvent | None] = [None] * len(predicates)

        async def scan() -> None:
            while any(f is None for f in found):
                event = await self.next(timeout)
                for index, predicate in enumerate(predicates):
                    if found[index] is None and predicate(event):
                        found[index] = event
                        break
        await asyncio.wait_for(scan(), timeout)
        return [f for f in found if f is not None]

    async def ended(self, timeout: float = 5.0) -> GRPCError | None:
        """Wait for the stream to end; the error it ended with (None: ended normally)."""
        await asyncio.wait_for(self.done.wait(), timeout)
        return self.error

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


@dataclass
class Gateway:
    """A simulated gateway and a stub-level client of it."""

    sim: SimServer
    channel: Channel
    stub: MxAccessGatewayStub
    streams: list[Events] = field(default_factory=list)

    async def open(self, name: str = "sim-test") -> str:
        reply = await self.stub.open_session(pb.OpenSessionRequest(client_session_name=name))
        assert reply.protocol_status is not None and reply.protocol_status.code == OK
        return reply.session_id

    async def invoke(self, session_id: str, payload: Any,
                     correlation: str = "") -> pb.MxCommandReply:
        return await self.stub.invoke(pb.MxCommandRequest(
            session_id=session_id, command=command(payload), client_correlation_id=correlation))

    async def ok(self, session_id: str, payload: Any) -> pb.MxCommandReply:
        reply = await self.invoke(session_id, payload)
        assert reply.protocol_status is not None
        assert reply.protocol_status.code == OK, reply.protocol_status
        return reply

    async def register(self, session_id: str) -> int:
        reply = await self.ok(session_id, pb.RegisterCommand(client_name="t"))
        assert reply.register is not None
        return reply.register.server_handle

    async def add(self, session_id: str, server: int, reference: str) -> int:
        reply = await self.ok(session_id, pb.AddItemCommand(server_handle=server,
                                                            item_definition=reference))
        assert reply.add_item is not None
        return reply.add_item.item_handle

    async def subscribe(self, session_id: str, server: int, reference: str) -> int:
        item = await self.add(session_id, server, reference)
        await self.ok(session_id, pb.AdviseCommand(server_handle=server, item_handle=item))
        return item

    def events(self, session_id: str, after: int = 0) -> Events:
        stream = Events(self.stub, session_id, after)
        self.streams.append(stream)
        return stream


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def make_gateway() -> AsyncIterator[GatewayFactory]:
    """`await make_gateway(runtime=RuntimeConfig(...), faults=FaultConfig(...), key=...)`
    (`contract=`: a variant contract, see mxgw.sim.variant)."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(runtime: RuntimeConfig | None = None, faults: FaultConfig | None = None,
                       api_keys: list[str] | None = None, key: str | None = KEY,
                       contract: ContractVariant | None = None) -> Gateway:
            config = SimConfig(api_keys=api_keys or [KEY],
                               runtime=runtime or RuntimeConfig(first_value_delay=0.02),
                               faults=faults or FaultConfig(), contract=contract)
            sim = await stack.enter_async_context(SimServer(config))
            channel = Channel("127.0.0.1", sim.port)
            stack.callback(channel.close)
            metadata = {"authorization": f"Bearer {key}"} if key else None
            gateway = Gateway(sim, channel, MxAccessGatewayStub(channel, metadata=metadata))

            async def close_streams() -> None:
                for stream in gateway.streams:
                    await stream.close()
            stack.push_async_callback(close_streams)
            return gateway

        yield make


@pytest.fixture
async def gw(make_gateway: GatewayFactory) -> Gateway:
    return await make_gateway()


def is_data_change(item: int) -> Callable[[pb.MxEvent], bool]:
    return lambda e: e.on_data_change is not None and e.item_handle == item
