"""The event stream: one subscriber, gapless sequence, resumption, replay gap, overflow."""

from __future__ import annotations

import asyncio

from grpclib.const import Status

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw.sim import RuntimeConfig
from mxgw.sim.event_log import EventLimits
from mxgw.sim.faults import FaultConfig

from ..conftest import eventually
from .conftest import Gateway, GatewayFactory, is_data_change

FAST = "TestMachine_001.TestDouble"  # changes every 500 ms / event_rate


async def _fast_session(gw: Gateway) -> tuple[str, int]:
    session = await gw.open()
    server = await gw.register(session)
    return session, await gw.subscribe(session, server, FAST)


def _runtime(**events: object) -> RuntimeConfig:
    return RuntimeConfig(first_value_delay=0.01, event_rate=100.0,
                         events=EventLimits(**events))  # type: ignore[arg-type]


async def test_sequence_is_gapless_and_a_second_subscriber_is_refused(
    make_gateway: GatewayFactory,
) -> None:
    gw = await make_gateway(runtime=_runtime())
    session, _ = await _fast_session(gw)
    events = gw.events(session)
    seen = [(await events.next()).worker_sequence for _ in range(20)]
    assert seen == list(range(1, 21))
    second = gw.events(session)
    error = await second.ended()
    assert error is not None and error.status == Status.ALREADY_EXISTS
    event = await events.next()  # the first subscriber is untouched
    assert event.worker_sequence == 21 and event.session_id == session
    assert event.gateway_receive_timestamp is not None and event.worker_timestamp is not None


async def test_resume_after_a_sequence_replays_what_was_missed(
    make_gateway: GatewayFactory,
) -> None:
    gw = await make_gateway(runtime=_runtime())
    session, _ = await _fast_session(gw)
    first = gw.events(session)
    for _ in range(5):
        last = await first.next()
    await first.close()  # cancelling a stream does not close the session
    live = gw.sim.runtime.find(session)
    assert live is not None
    await eventually(lambda: live.events.sequence >= last.worker_sequence + 10)
    resumed = gw.events(session, after=last.worker_sequence)
    seen = [(await resumed.next()).worker_sequence for _ in range(10)]
    assert seen == list(range(last.worker_sequence + 1, last.worker_sequence + 11))


async def test_lost_events_open_the_stream_with_a_replay_gap_sentinel(
    make_gateway: GatewayFactory,
) -> None:
    # Undelivered events wait in the queue (3 here) and delivered ones in the ring (4).
    gw = await make_gateway(runtime=_runtime(replay_capacity=4, queue_capacity=3))
    session = await gw.open()
    server = await gw.register(session)
    first = gw.events(session)
    item = await gw.subscribe(session, server, "TestMachine_001.TestInt")
    seen = await first.next()
    await first.close()
    live = gw.sim.runtime.find(session)
    assert live is not None
    await eventually(lambda: not live.events.subscribed)
    for _ in range(5):  # ten OperationComplete events while nobody listens
        await gw.ok(session, pb.SuspendCommand(server_handle=server, item_handle=item))
        await gw.ok(session, pb.ActivateCommand(server_handle=server, item_handle=item))
    await eventually(lambda: live.events.sequence == seen.worker_sequence + 10)
    resumed = gw.events(session, after=seen.worker_sequence)
    sentinel = await resumed.next()
    assert sentinel.family == pb.MxEventFamily.UNSPECIFIED
    assert sentinel.replay_gap is not None
    assert sentinel.replay_gap.requested_after_sequence == seen.worker_sequence
    assert sentinel.replay_gap.oldest_available_sequence == live.events.sequence - 3
    assert sentinel.on_data_change is None and sentinel.operation_complete is None
    following = [(await resumed.next()).worker_sequence for _ in range(4)]
    assert following == list(range(live.events.sequence - 3, live.events.sequence + 1))


async def test_overflow_faults_the_session_by_default(make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(runtime=_runtime(queue_capacity=5),
                            faults=FaultConfig(stall_after_events=1))
    session, _ = await _fast_session(gw)
    events = gw.events(session)
    error = await events.ended()
    assert error is not None and error.status == Status.RESOURCE_EXHAUSTED
    assert len(events.received) == 1
    reply = await gw.invoke(session, pb.RegisterCommand(client_name="x"))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.SESSION_NOT_READY
    assert "overflow" in reply.protocol_status.message


async def test_overflow_can_disconnect_the_subscriber_instead(
    make_gateway: GatewayFactory,
) -> None:
    gw = await make_gateway(runtime=_runtime(queue_capacity=5, overflow_policy="disconnect"),
                            faults=FaultConfig(stall_after_events=1))
    session, item = await _fast_session(gw)
    events = gw.events(session)
    error = await events.ended()
    assert error is not None and error.status == Status.RESOURCE_EXHAUSTED
    gw.sim.faults.stall_after_events = 0
    resumed = gw.events(session, after=events.received[-1].worker_sequence)
    event = await resumed.until(is_data_change(item))
    assert event.worker_sequence > 1  # the session lives on


async def test_closing_the_session_ends_its_stream_cleanly(gw: Gateway) -> None:
    session = await gw.open()
    server = await gw.register(session)
    events = gw.events(session)
    item = await gw.subscribe(session, server, "TestMachine_001.TestInt")
    await events.until(is_data_change(item))
    await gw.stub.close_session(pb.CloseSessionRequest(session_id=session))
    assert await events.ended() is None


async def test_events_older_than_the_replay_window_are_gone(make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(runtime=_runtime(replay_seconds=0.05))
    session = await gw.open()
    server = await gw.register(session)
    first = gw.events(session)
    item = await gw.subscribe(session, server, "TestMachine_001.TestInt")
    seen = await first.until(is_data_change(item))
    await gw.ok(session, pb.SuspendCommand(server_handle=server, item_handle=item))
    delivered = await first.next()
    await first.close()
    await asyncio.sleep(0.1)  # let both events age past the 50 ms replay window
    resumed = gw.events(session, after=seen.worker_sequence)
    sentinel = await resumed.next()
    assert sentinel.replay_gap is not None
    assert sentinel.replay_gap.requested_after_sequence == seen.worker_sequence
    assert sentinel.replay_gap.oldest_available_sequence == delivered.worker_sequence + 1
