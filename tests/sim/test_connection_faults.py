"""Run-time fault control for client tests: dropped connections, GOAWAY, faulted sessions."""

from __future__ import annotations

import asyncio

from grpclib.const import Status

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw.sim.faults import FaultConfig

from .conftest import OK, Gateway, GatewayFactory, is_data_change


async def _streaming_session(gw: Gateway, reference: str = "TestMachine_001.TestChangingInt",
                             ) -> tuple[str, int]:
    session = await gw.open()
    server = await gw.register(session)
    item = await gw.subscribe(session, server, reference)
    return session, item


async def test_drop_connections_cuts_the_stream_and_the_session_resumes(gw: Gateway) -> None:
    session, item = await _streaming_session(gw)
    events = gw.events(session)
    first = await events.until(is_data_change(item))
    assert await gw.sim.drop_connections() >= 1
    assert await events.ended() is not None  # the stream failed, it did not end cleanly
    # A new connection (grpclib reconnects on the next call) resumes after what was seen.
    resumed = gw.events(session, after=first.worker_sequence)
    await gw.ok(session, pb.WriteCommand(server_handle=1, item_handle=item,
                                         value=pb.MxValue(int32_value=7)))
    event = await resumed.next()
    assert event.worker_sequence == first.worker_sequence + 1
    assert event.replay_gap is None


async def test_send_goaway_fails_open_streams_and_new_calls_reconnect(gw: Gateway) -> None:
    session, item = await _streaming_session(gw)
    events = gw.events(session)
    await events.until(is_data_change(item))
    assert await gw.sim.send_goaway() == 1
    assert await events.ended() is not None
    reply = await gw.invoke(session, pb.RegisterCommand(client_name="after-goaway"))
    assert reply.protocol_status is not None and reply.protocol_status.code == OK


async def test_fault_session_cuts_the_stream_and_refuses_commands(gw: Gateway) -> None:
    session, item = await _streaming_session(gw)
    events = gw.events(session)
    await events.until(is_data_change(item))
    assert gw.sim.runtime.fault_session(session)
    error = await events.ended()
    assert error is not None and error.status == Status.ABORTED
    reply = await gw.invoke(session, pb.RegisterCommand(client_name="x"))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.SESSION_NOT_READY
    again = gw.events(session)
    error = await again.ended()
    assert error is not None and error.status == Status.FAILED_PRECONDITION
    # FAULTED only moves to CLOSED.
    assert not gw.sim.runtime.fault_session(session)
    closed = await gw.stub.close_session(pb.CloseSessionRequest(session_id=session))
    assert closed.final_state == pb.SessionState.CLOSED


async def test_drop_after_events_drops_the_stream_connection(make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(faults=FaultConfig(drop_after_events=2))
    session, item = await _streaming_session(gw, "TestMachine_001.TestInt")
    events = gw.events(session)
    await events.until(is_data_change(item))
    await gw.ok(session, pb.SuspendCommand(server_handle=1, item_handle=item))
    assert await events.ended() is not None
    assert [e.worker_sequence for e in events.received] == [1, 2]
    await gw.ok(session, pb.ActivateCommand(server_handle=1, item_handle=item))
    gw.sim.faults.drop_after_events = 0  # switched off at run time
    resumed = gw.events(session, after=2)
    third = await resumed.next()
    assert third.worker_sequence == 3


async def test_injected_latency_and_failures_switch_at_run_time(gw: Gateway) -> None:
    session = await gw.open()
    gw.sim.faults.fail_fraction = 1.0
    gw.sim.faults.fail_status = pb.ProtocolStatusCode.TIMEOUT
    reply = await gw.invoke(session, pb.RegisterCommand(client_name="x"))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.TIMEOUT
    gw.sim.faults.fail_fraction = 0.0
    gw.sim.faults.latency_ms = 200
    call = asyncio.ensure_future(gw.invoke(session, pb.RegisterCommand(client_name="x")))
    done, _ = await asyncio.wait({call}, timeout=0.05)
    assert not done  # still held back by the injected latency
    reply = await asyncio.wait_for(call, 5)
    assert reply.protocol_status is not None and reply.protocol_status.code == OK


async def test_a_session_faults_after_n_commands_when_asked(make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(faults=FaultConfig(fault_after_commands=2))
    session = await gw.open()
    await gw.ok(session, pb.RegisterCommand(client_name="one"))
    await gw.ok(session, pb.RegisterCommand(client_name="two"))
    reply = await gw.invoke(session, pb.RegisterCommand(client_name="three"))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.SESSION_NOT_READY
    assert "FAULTED" in reply.protocol_status.message


def test_the_adopted_server_internals_are_the_pinned_grpclibs() -> None:
    """`connections._adopt` reaches into grpclib's Server and Connection: this fails when
    a grpclib upgrade changes what it uses."""
    import grpclib
    import grpclib.protocol
    import grpclib.server

    assert grpclib.__version__.startswith("0.4."), grpclib.__version__
    assert "_protocol_factory" in vars(grpclib.server.Server)
    init = grpclib.protocol.Connection.__init__.__code__
    assert "_transport" in init.co_names and "_connection" in init.co_names


async def test_stopping_the_simulator_ends_open_streams_and_closes_connections(
        gw: Gateway) -> None:
    """A gateway that shuts down closes its connections: a client's open stream ends at
    once instead of waiting on a connection nobody serves (until its keepalive notices)."""
    session, item = await _streaming_session(gw)
    events = gw.events(session)
    await events.until(is_data_change(item))
    assert gw.sim.connection_count == 1
    await asyncio.wait_for(gw.sim.stop(), 10)
    assert await events.ended() is not None  # failed: the gateway went away mid-stream
    assert gw.sim.connection_count == 0
