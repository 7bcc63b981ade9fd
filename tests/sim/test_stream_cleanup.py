"""A server stream whose send fails detaches its subscriber at once, not at garbage collection."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw.sim import SimConfig, SimServer


class _PeerGone:
    """A grpclib server stream whose peer vanished after its request: every send fails."""

    def __init__(self, request: Any) -> None:
        self.request = request

    async def recv_message(self) -> Any:
        return self.request

    async def send_message(self, message: Any) -> None:
        raise ConnectionResetError("peer went away")


async def test_failed_send_detaches_the_subscriber_before_any_gc() -> None:
    async with SimServer(SimConfig()) as sim:
        session = sim.runtime.open_session("ghost")
        session.emit(pb.MxEventFamily.OPERATION_COMPLETE, None,
                     operation_complete=pb.OperationCompleteEvent())
        gc.disable()  # the old code detached only when the collector found the generator
        try:
            route = sim.gateway.__mapping__()["/mxaccess_gateway.v1.MxAccessGateway/StreamEvents"]
            with pytest.raises(ConnectionResetError):
                await route.func(_PeerGone(pb.StreamEventsRequest(session_id=session.id)))
            assert session.events.subscribed is False
            session.events.attach(0)  # a resume is accepted, not ALREADY_EXISTS
        finally:
            gc.enable()
