"""A cut event stream is an ordinary event for the simulated gateway: one INFO line, no
traceback, no warning, however the stream is cut."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Iterator

import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.settings import SettingCodes

from mxgw import GatewayClient
from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw.errors import MxGatewayError
from mxgw.sim import SimConfig, SimServer
from mxgw.sim.session import SimSession

from ..conftest import eventually, first_data_change
from ..secret_scan import CaptureAll

KEY = "mxgw_cuts_S3cretForCutStreams"
STREAM_EVENTS = "/mxaccess_gateway.v1.MxAccessGateway/StreamEvents"


@pytest.fixture
def records() -> Iterator[CaptureAll]:
    root = logging.getLogger()
    capture, level = CaptureAll(), root.level
    root.addHandler(capture)
    root.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


SERVER_SIDE = ("mxgw.sim", "grpclib", "asyncio", "h2", "hpack")
"""Who logs for the simulator (the client's own mxgw.* warnings of a lost stream are its
business: they are meant for the user)."""


def _noise(capture: CaptureAll) -> list[str]:
    """Tracebacks from anyone, and warnings from the simulator's side."""
    return [f"{r.name} {r.levelname} {r.getMessage()}" for r in capture.records
            if r.exc_info or (r.levelno >= logging.WARNING and r.name.startswith(SERVER_SIDE))]


def _backlog(session: SimSession, events: int) -> None:
    for _ in range(events):
        session.emit(pb.MxEventFamily.OPERATION_COMPLETE, None,
                     operation_complete=pb.OperationCompleteEvent())


async def test_a_peer_reset_during_a_backlog_is_one_quiet_line(records: CaptureAll) -> None:
    """The peer resets the connection (a killed client) just as the gateway is free to send
    a backlog: the gateway notices at its first failed write, instead of writing every
    queued event into the dead connection (asyncio warned once per write)."""
    async with SimServer(SimConfig(api_keys=[KEY])) as sim:
        session = sim.runtime.open_session("cut")
        _backlog(session, 500)
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, ("127.0.0.1", sim.port))
            h2 = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
            h2.initiate_connection()
            h2.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: 0})  # nothing may flow yet
            h2.send_headers(1, [(":method", "POST"), (":scheme", "http"),
                                (":path", STREAM_EVENTS), (":authority", sim.endpoint),
                                ("content-type", "application/grpc"), ("te", "trailers"),
                                ("authorization", f"Bearer {KEY}")])
            body = bytes(pb.StreamEventsRequest(session_id=session.id))
            h2.send_data(1, b"\0" + struct.pack(">I", len(body)) + body, end_stream=True)
            await loop.sock_sendall(sock, h2.data_to_send())
            await eventually(lambda: session.events.subscribed)  # blocked on the window
            # Open the windows and reset the connection at once, as a dying peer would.
            h2.increment_flow_control_window(1 << 24, stream_id=1)
            h2.increment_flow_control_window(1 << 24)
            sock.send(h2.data_to_send())
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            sock.close()
        await eventually(lambda: not session.events.subscribed)
        assert sim.runtime.find(session.id) is not None  # detached only, as for any cut
    assert not _noise(records), _noise(records)[:3]
    (sent,) = [r.args[1] for r in records.records if isinstance(r.args, tuple)
               and r.msg == "session %s: event stream detached after %d events"]
    assert isinstance(sent, int) and sent < 10  # not the whole backlog of 500


@pytest.mark.parametrize("cut", ["client-cancel", "client-close", "server-drop", "goaway"])
async def test_every_kind_of_cut_is_quiet(records: CaptureAll, cut: str) -> None:
    async with SimServer(SimConfig(api_keys=[KEY])) as sim:
        async with GatewayClient.connect(sim.endpoint, api_key=KEY, plaintext=True) as client:
            session = await client.open_session("cuts")
            server = await session.register("cuts")
            (sub,) = await session.subscribe_bulk(server, ["TestMachine_001.TestChangingInt"])
            _backlog(sim.runtime.sessions[session.id], 200)
            stream = session.events(max_resume_attempts=0)
            await first_data_change(stream, sub.item_handle)
            if cut == "client-cancel":
                await stream.aclose()
            elif cut == "client-close":
                await client.close()
            elif cut == "server-drop":
                await sim.drop_connections()
            else:
                await sim.send_goaway(close_after=0.0)
            await eventually(lambda: not sim.runtime.sessions[session.id].events.subscribed)
            if cut in ("server-drop", "goaway"):
                with pytest.raises(MxGatewayError):  # the client was told
                    await first_data_change(stream, timeout=5)
    assert not _noise(records), _noise(records)[:3]
