"""Session lifecycle: ids, open reply, close, unknown ids, limits, lease and detach grace."""

from __future__ import annotations

import asyncio
import gc
import re
import weakref

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw.sim import RuntimeConfig

from ..conftest import eventually
from .conftest import OK, Gateway, GatewayFactory


async def _closed_reason(gw: Gateway, session: str, timeout: float = 5.0) -> str:
    """Wait until the simulator has closed `session` (without renewing its lease, as a
    call would), then return what a command on it answers."""
    await eventually(lambda: gw.sim.runtime.find(session) is None, timeout)
    reply = await gw.invoke(session, pb.RegisterCommand(client_name="late"))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.SESSION_NOT_FOUND
    return reply.protocol_status.message


async def test_open_reply_carries_id_versions_and_capabilities(gw: Gateway) -> None:
    reply = await gw.stub.open_session(pb.OpenSessionRequest(client_session_name="n"))
    assert re.fullmatch(r"session-[0-9a-f]{32}", reply.session_id)
    assert reply.gateway_protocol_version == 3
    assert reply.worker_protocol_version == 1
    assert reply.backend_name == "mxaccess-worker"
    assert reply.protocol_status is not None and reply.protocol_status.code == OK
    assert "bulk" in reply.capabilities and "replay" in reply.capabilities
    other = await gw.open()
    assert other != reply.session_id


async def test_close_is_idempotent_and_unknown_ids_are_not_found(gw: Gateway) -> None:
    session = await gw.open()
    first = await gw.stub.close_session(pb.CloseSessionRequest(session_id=session))
    again = await gw.stub.close_session(pb.CloseSessionRequest(session_id=session))
    for reply in (first, again):
        assert reply.final_state == pb.SessionState.CLOSED
        assert reply.protocol_status is not None and reply.protocol_status.code == OK
    refused = await gw.invoke(session, pb.RegisterCommand(client_name="x"))
    assert refused.protocol_status is not None
    assert refused.protocol_status.code == pb.ProtocolStatusCode.SESSION_NOT_FOUND
    assert refused.session_id == session and refused.kind == pb.MxCommandKind.REGISTER

    unknown = "session-" + "0" * 32
    refused = await gw.invoke(unknown, pb.RegisterCommand(client_name="x"))
    assert refused.protocol_status is not None
    assert refused.protocol_status.code == pb.ProtocolStatusCode.SESSION_NOT_FOUND
    closed = await gw.stub.close_session(pb.CloseSessionRequest(session_id=unknown))
    assert closed.protocol_status is not None
    assert closed.protocol_status.code == pb.ProtocolStatusCode.SESSION_NOT_FOUND
    with pytest.raises(GRPCError) as caught:
        async for _ in gw.stub.stream_events(pb.StreamEventsRequest(session_id=unknown)):
            pass
    assert caught.value.status == Status.NOT_FOUND


async def test_session_count_is_capped(make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(runtime=RuntimeConfig(max_sessions=2))
    first = await gw.open()
    await gw.open()
    with pytest.raises(GRPCError) as caught:
        await gw.open()
    assert caught.value.status == Status.RESOURCE_EXHAUSTED
    await gw.stub.close_session(pb.CloseSessionRequest(session_id=first))
    await gw.open()  # a slot is free again


async def test_an_unused_session_is_closed_when_its_lease_expires(
    make_gateway: GatewayFactory,
) -> None:
    gw = await make_gateway(runtime=RuntimeConfig(first_value_delay=0.02, lease_seconds=0.3))
    session = await gw.open()
    assert "lease-expired" in await _closed_reason(gw, session)
    closed = await gw.stub.close_session(pb.CloseSessionRequest(session_id=session))
    assert closed.final_state == pb.SessionState.CLOSED
    assert closed.protocol_status is not None and "lease-expired" in closed.protocol_status.message


async def test_a_closed_session_is_not_kept_until_its_lease_timer_fires(gw: Gateway) -> None:
    """Its events (a whole ring of them) go with it: a gateway serving many short sessions
    must not hold each for the 30 minutes of its lease timer."""
    session = await gw.open()
    events = gw.events(session)
    server = await gw.register(session)
    await gw.subscribe(session, server, "TestMachine_001.TestInt")
    await events.next()  # a stream attached and detached: the detach grace timer runs too
    sim_session = weakref.ref(gw.sim.runtime.sessions[session])
    await gw.stub.close_session(pb.CloseSessionRequest(session_id=session))
    await events.ended()

    def collected() -> bool:
        gc.collect()
        return sim_session() is None
    await eventually(collected)


async def test_calls_and_an_attached_stream_renew_the_lease(make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(runtime=RuntimeConfig(first_value_delay=0.02, lease_seconds=0.25))
    session = await gw.open()
    loop = asyncio.get_running_loop()
    end = loop.time() + 0.6
    while loop.time() < end:  # unary calls keep it alive past two lease periods
        await gw.ok(session, pb.RegisterCommand(client_name="keepalive"))
        await asyncio.sleep(0.05)
    events = gw.events(session)
    server = await gw.register(session)
    item = await gw.subscribe(session, server, "TestMachine_001.TestInt")
    await events.next()
    # Only the stream is attached now: the session outlives two more lease periods.
    with pytest.raises(asyncio.TimeoutError):
        await events.ended(timeout=0.6)
    assert gw.sim.runtime.find(session) is not None
    await gw.ok(session, pb.UnAdviseCommand(server_handle=server, item_handle=item))


async def test_the_session_closes_after_the_detach_grace(make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(runtime=RuntimeConfig(first_value_delay=0.02,
                                                  detach_grace_seconds=0.3))
    session = await gw.open()
    events = gw.events(session)
    server = await gw.register(session)
    await gw.subscribe(session, server, "TestMachine_001.TestInt")
    await events.next()
    await events.close()
    assert "detach-grace-expired" in await _closed_reason(gw, session)


async def test_reattaching_within_the_grace_keeps_the_session(
    make_gateway: GatewayFactory,
) -> None:
    gw = await make_gateway(runtime=RuntimeConfig(first_value_delay=0.02,
                                                  detach_grace_seconds=0.3))
    session = await gw.open()
    first = gw.events(session)
    server = await gw.register(session)
    item = await gw.subscribe(session, server, "TestMachine_001.TestInt")
    seen = await first.next()
    await first.close()
    second = gw.events(session, after=seen.worker_sequence)
    await gw.ok(session, pb.SuspendCommand(server_handle=server, item_handle=item))
    assert (await second.next()).operation_complete is not None
    with pytest.raises(asyncio.TimeoutError):  # still open well past the grace
        await second.ended(timeout=0.8)
    await gw.ok(session, pb.ActivateCommand(server_handle=server, item_handle=item))


async def test_pending_commands_per_session_are_capped(make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(runtime=RuntimeConfig(first_value_delay=0.5,
                                                  max_pending_commands=2))
    session = await gw.open()
    server = await gw.register(session)
    read = pb.ReadBulkCommand(server_handle=server, tag_addresses=["TestMachine_001.TestInt"])
    slow = [asyncio.ensure_future(gw.invoke(session, read)) for _ in range(2)]
    live = gw.sim.runtime.find(session)
    assert live is not None
    await eventually(lambda: live.pending_commands == 2)  # both wait 0.5 s for a value
    with pytest.raises(GRPCError) as caught:
        await gw.invoke(session, read)
    assert caught.value.status == Status.RESOURCE_EXHAUSTED
    for reply in await asyncio.gather(*slow):
        assert reply.protocol_status is not None and reply.protocol_status.code == OK
