"""Alarms: the session-less RPCs (StreamAlarms, QueryActiveAlarms, AcknowledgeAlarm), the
alarm commands inside Invoke, scopes, capabilities, provider failover and the `mxgw sim`
flags. Alarms are driven by hand (alarm rate 0) unless a test is about the automatic ones."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw._proto.mxaccess_gateway.v1.services import MxAccessGatewayStub
from mxgw.contract import commands
from mxgw.sim import RuntimeConfig
from mxgw.sim.alarm_catalog import alarm_guid
from mxgw.sim.alarms import AlarmAlreadyActive, AlarmMonitor, AlarmNotActive, UnknownAlarm
from mxgw.sim.faults import FaultConfig
from mxgw.sim.session import E_FAIL, E_INVALIDARG

from ..conftest import eventually
from .conftest import KEY, OK, Gateway, GatewayFactory

ROOT = Path(__file__).resolve().parents[2]
PS = pb.ProtocolStatusCode
T = pb.AlarmTransitionKind
ACTIVE, ACKED = pb.AlarmConditionState.ACTIVE, pb.AlarmConditionState.ACTIVE_ACKED
SUBTAG, ALARMMGR = pb.AlarmProviderMode.SUBTAG, pb.AlarmProviderMode.ALARMMGR

ALARM_1 = "Galaxy!Plant.TestMachine_001.TestAlarm001"  # active at start
ALARM_2 = "Galaxy!Plant.TestMachine_002.TestAlarm001"  # active and acknowledged at start
IDLE = [f"Galaxy!Plant.TestMachine_00{n}.TestAlarm001" for n in (3, 4, 5, 6)]  # inactive
UNKNOWN = "Galaxy!NoSuchArea.NoSuchTag.NoAlarm"
OPERATOR = commands.Operator("jdoe", "NODE1", "PLANT", "Jane Doe")


def _by_hand(**options: object) -> RuntimeConfig:
    return RuntimeConfig(first_value_delay=0.02, alarm_rate=0, **options)  # type: ignore[arg-type]


@pytest.fixture
async def gw(make_gateway: GatewayFactory) -> Gateway:
    return await make_gateway(runtime=_by_hand())


def _double(value: pb.MxValue | None) -> float:
    assert value is not None and value.double_value is not None, value
    return value.double_value


def _monitor(gw: Gateway) -> AlarmMonitor:
    return gw.sim.runtime.alarms


class Feed:
    """One StreamAlarms call read in a task into a queue."""

    def __init__(self, stub: MxAccessGatewayStub, prefix: str = "") -> None:
        self.queue: asyncio.Queue[pb.AlarmFeedMessage | None] = asyncio.Queue()
        self.received: list[pb.AlarmFeedMessage] = []
        self.error: GRPCError | None = None
        self.done = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(stub, prefix))

    async def _run(self, stub: MxAccessGatewayStub, prefix: str) -> None:
        try:
            async for message in stub.stream_alarms(pb.StreamAlarmsRequest(
                    alarm_filter_prefix=prefix, client_correlation_id="feed")):
                self.received.append(message)
                self.queue.put_nowait(message)
        except GRPCError as exc:
            self.error = exc
        finally:
            self.done.set()
            self.queue.put_nowait(None)

    async def next(self, timeout: float = 10.0) -> pb.AlarmFeedMessage:
        message = await asyncio.wait_for(self.queue.get(), timeout)
        if message is None:
            raise AssertionError(f"the feed ended: {self.error!r}")
        return message

    async def initial(self) -> tuple[list[pb.ActiveAlarmSnapshot], pb.AlarmProviderStatus]:
        """The snapshot and the provider status, checking the order on the wire."""
        snapshots: list[pb.ActiveAlarmSnapshot] = []
        while (message := await self.next()).active_alarm is not None:
            snapshots.append(message.active_alarm)
        assert message.snapshot_complete is not None, message
        status = (await self.next()).provider_status
        assert status is not None
        return snapshots, status

    async def transition(self) -> pb.OnAlarmTransitionEvent:
        message = await self.next()
        assert message.transition is not None, message
        return message.transition

    async def transitions_until(self, last: pb.OnAlarmTransitionEvent
                                ) -> list[pb.OnAlarmTransitionEvent]:
        """Every transition up to and including `last`."""
        seen: list[pb.OnAlarmTransitionEvent] = []
        while not seen or seen[-1] != last:
            seen.append(await self.transition())
        return seen

    async def ended(self, timeout: float = 10.0) -> GRPCError | None:
        await asyncio.wait_for(self.done.wait(), timeout)
        return self.error

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


@pytest.fixture
async def feeds() -> AsyncIterator[Callable[..., Feed]]:
    opened: list[Feed] = []

    def feed(gw: Gateway, prefix: str = "") -> Feed:
        opened.append(Feed(gw.stub, prefix))
        return opened[-1]
    yield feed
    for f in opened:
        await f.close()


async def _query(gw: Gateway, prefix: str = "") -> list[pb.ActiveAlarmSnapshot]:
    return [s async for s in gw.stub.query_active_alarms(
        pb.QueryActiveAlarmsRequest(alarm_filter_prefix=prefix))]


async def _ack(gw: Gateway, reference: str, comment: str = "on it",
               correlation: str = "ack-1") -> pb.AcknowledgeAlarmReply:
    return await gw.stub.acknowledge_alarm(pb.AcknowledgeAlarmRequest(
        alarm_full_reference=reference, comment=comment, operator_user=OPERATOR.user,
        operator_node=OPERATOR.node, operator_domain=OPERATOR.domain,
        operator_full_name=OPERATOR.full_name, client_correlation_id=correlation))


async def _grpc_status(call: object) -> Status | None:
    try:
        result = await call  # type: ignore[misc]
        if isinstance(result, AsyncIterator):
            async for _ in result:
                pass
    except GRPCError as exc:
        return exc.status
    return None


async def _stream_status(iterator: AsyncIterator[object]) -> Status | None:
    try:
        async for _ in iterator:
            pass
    except GRPCError as exc:
        return exc.status
    return None


# ---------------------------------------------------------------------- the feed


async def test_feed_is_snapshot_marker_status_then_live_transitions(
    gw: Gateway, feeds: Callable[..., Feed],
) -> None:
    feed = feeds(gw)
    snapshots, status = await feed.initial()
    assert snapshots == await _query(gw)  # the same set, the same order
    states = {s.alarm_full_reference: s.current_state for s in snapshots}
    assert states[ALARM_1] == ACTIVE and states[ALARM_2] == ACKED
    assert not set(IDLE) & states.keys()
    assert status.mode == ALARMMGR and not status.degraded and status.since is not None
    first = next(s for s in snapshots if s.alarm_full_reference == ALARM_1)
    assert (first.alarm_type_name, first.severity, first.category) == ("DSC", 500, "Plant")
    assert first.source_object_reference == "TestMachine_001" and not first.degraded
    assert first.current_value is not None and first.current_value.bool_value is True
    assert first.last_transition_timestamp is not None
    limit = next(s for s in snapshots if s.limit_value is not None)
    assert limit.alarm_type_name == "HiHi" and ".Level.HiHi" in limit.alarm_full_reference
    assert _double(limit.current_value) > _double(limit.limit_value) == 95.0

    raised = _monitor(gw).raise_alarm(IDLE[0])
    live = await feed.transition()
    assert live == raised
    assert live.transition_kind == T.RAISE and live.alarm_full_reference == IDLE[0]
    assert live.category == "Plant" and live.description and live.severity == 500
    assert live.original_raise_timestamp == live.transition_timestamp is not None
    assert live.source_provider == ALARMMGR and not live.degraded


async def test_filter_prefix_limits_snapshot_and_transitions(
    gw: Gateway, feeds: Callable[..., Feed],
) -> None:
    everything = await _query(gw)
    plant = [s for s in everything if s.alarm_full_reference.startswith("Galaxy!Plant.")]
    assert plant and len(plant) < len(everything)
    feed = feeds(gw, "galaxy!plant.")  # references are case-insensitive
    snapshots, _ = await feed.initial()
    assert snapshots == plant
    other = next(s.alarm_full_reference for s in everything if s not in plant)
    _monitor(gw).clear_alarm(other)  # outside the prefix: not sent
    raised = _monitor(gw).raise_alarm(IDLE[1])
    assert await feed.transition() == raised
    assert await _query(gw, "Galaxy!Plant.TestMachine_00") == [
        s for s in await _query(gw, "Galaxy!Plant.") if "TestMachine_00" in s.alarm_full_reference]
    assert await _query(gw, "Galaxy!NoSuchArea") == []


async def test_query_is_most_urgent_first_and_ends(gw: Gateway) -> None:
    snapshots = await _query(gw)
    keys = [(s.severity, s.current_state != ACTIVE, s.alarm_full_reference) for s in snapshots]
    assert keys == sorted(keys) and len(snapshots) >= 3
    assert {s.current_state for s in snapshots} == {ACTIVE, ACKED}


def _key(t: pb.OnAlarmTransitionEvent) -> tuple[str, int, object]:
    return t.alarm_full_reference, t.transition_kind, t.transition_timestamp


def _apply(active: dict[str, pb.AlarmConditionState],
           transitions: list[pb.OnAlarmTransitionEvent]) -> dict[str, pb.AlarmConditionState]:
    """The active set after transitions; raises on one that cannot follow (a gap or a
    duplicate shows up as a raise of an active alarm or a change of an inactive one)."""
    state = dict(active)
    for t in transitions:
        ref = t.alarm_full_reference
        if t.transition_kind == T.RAISE:
            assert ref not in state, f"raise of active {ref}"
            state[ref] = ACTIVE
        else:
            assert ref in state, f"{t.transition_kind.name} of inactive {ref}"
            if t.transition_kind == T.CLEAR:
                del state[ref]
            else:
                state[ref] = ACKED if t.transition_kind == T.ACKNOWLEDGE else ACTIVE
    return state


async def test_subscribers_attaching_during_transitions_miss_and_repeat_nothing(
    gw: Gateway, feeds: Callable[..., Feed],
) -> None:
    monitor = _monitor(gw)
    before = {s.alarm_full_reference: s.current_state for s in await _query(gw)}
    driven: list[pb.OnAlarmTransitionEvent] = []
    opened: list[Feed] = []
    for step in range(240):
        ref = IDLE[step % len(IDLE)]
        state = monitor.state_of(ref)
        if state is None:
            driven.append(monitor.raise_alarm(ref))
        elif state == ACTIVE and step % 3 == 0:
            event = monitor.acknowledge(ref, "x", user="u")
            assert event is not None
            driven.append(event)
        elif step % 5 == 0:
            driven.append(monitor.retrigger_alarm(ref))
        else:
            driven.append(monitor.clear_alarm(ref))
        if step % 20 == 0:
            opened.append(feeds(gw))
        await asyncio.sleep(0)  # let requests arrive while alarms change
    await eventually(lambda: monitor.feed_count == len(opened))
    last = monitor.raise_alarm(IDLE[0]) if monitor.state_of(IDLE[0]) is None \
        else monitor.clear_alarm(IDLE[0])
    driven.append(last)
    final = {s.alarm_full_reference: s.current_state for s in await _query(gw)}
    assert _apply(before, driven) == final
    for feed in opened:
        snapshots, _ = await feed.initial()
        live = await feed.transitions_until(last)
        start = len(driven) - len(live)
        assert [_key(t) for t in live] == [_key(t) for t in driven[start:]]
        snapshot = {s.alarm_full_reference: s.current_state for s in snapshots}
        assert snapshot == _apply(before, driven[:start])
        assert _apply(snapshot, live) == final


async def test_automatic_transitions_keep_a_consistent_active_set(
    make_gateway: GatewayFactory, feeds: Callable[..., Feed],
) -> None:
    gw = await make_gateway(runtime=RuntimeConfig(alarm_rate=200.0))
    feed = feeds(gw)
    snapshots, _ = await feed.initial()
    live = [await feed.transition() for _ in range(30)]
    kinds = {t.transition_kind for t in live}
    assert T.RAISE in kinds and T.CLEAR in kinds
    # the test machines' alarms change only when asked (README acknowledges TestAlarm001)
    assert not [t for t in live if ".TestMachine_" in t.alarm_full_reference]
    monitor = _monitor(gw)
    monitor.rate = 0  # settable while serving: no more automatic transitions
    last = monitor.clear_alarm(IDLE[0]) if monitor.state_of(IDLE[0]) \
        else monitor.raise_alarm(IDLE[0])
    live += await feed.transitions_until(last)
    view = _apply({s.alarm_full_reference: s.current_state for s in snapshots}, live)
    assert view == {s.alarm_full_reference: s.current_state for s in await _query(gw)}
    assert len(view) <= 65


async def test_a_closed_stream_detaches_and_shutdown_ends_streams(
    gw: Gateway, feeds: Callable[..., Feed],
) -> None:
    monitor = _monitor(gw)
    gone = feeds(gw)
    await gone.initial()
    assert monitor.feed_count == 1
    await gone.close()
    await eventually(lambda: monitor.feed_count == 0)
    staying = feeds(gw)
    await staying.initial()
    monitor.stop()
    assert await staying.ended() is None  # ended normally


# ---------------------------------------------------------------------- acknowledge


async def test_acknowledge_moves_active_to_acked_once(
    gw: Gateway, feeds: Callable[..., Feed],
) -> None:
    feed = feeds(gw, "Galaxy!Plant.")
    await feed.initial()
    reply = await _ack(gw, ALARM_1, "pump checked", correlation="c-42")
    assert reply.protocol_status is not None and reply.protocol_status.code == OK
    assert (reply.session_id, reply.correlation_id, reply.hresult) == ("", "c-42", 0)
    assert reply.status is None  # never filled in by the gateway
    acked = await feed.transition()
    assert acked.transition_kind == T.ACKNOWLEDGE and acked.alarm_full_reference == ALARM_1
    assert (acked.operator_user, acked.operator_comment) == ("jdoe", "pump checked")
    assert acked.original_raise_timestamp is not None and acked.transition_timestamp is not None
    assert acked.original_raise_timestamp < acked.transition_timestamp
    snapshot = next(s for s in await _query(gw) if s.alarm_full_reference == ALARM_1)
    assert snapshot.current_state == ACKED and snapshot.operator_comment == "pump checked"
    assert snapshot.last_transition_timestamp == acked.transition_timestamp

    again = await _ack(gw, ALARM_1.lower(), "again")  # twice is harmless, any case
    assert again.protocol_status is not None and again.protocol_status.code == OK
    assert again.hresult == 0
    sentinel = _monitor(gw).raise_alarm(IDLE[0])
    assert await feed.transition() == sentinel  # no second ACKNOWLEDGE came first
    snapshot = next(s for s in await _query(gw) if s.alarm_full_reference == ALARM_1)
    assert snapshot.operator_comment == "pump checked"


@pytest.mark.parametrize(("reference", "code", "hresult"), [
    (UNKNOWN, PS.MXACCESS_FAILURE, E_INVALIDARG),
    ("Galaxy!Line_00001.TestMachine_001.TestAlarm001", PS.MXACCESS_FAILURE, E_INVALIDARG),
    ("Other!Plant.TestMachine_001.TestAlarm001", PS.MXACCESS_FAILURE, E_INVALIDARG),
    (IDLE[0], PS.MXACCESS_FAILURE, E_FAIL),  # exists, not active
    ("TestMachine_001.TestAlarm001", PS.INVALID_REQUEST, E_INVALIDARG),  # no `!`
    ("Galaxy!Plant", PS.INVALID_REQUEST, E_INVALIDARG),
    ("", PS.INVALID_REQUEST, E_INVALIDARG),
])
async def test_acknowledge_refusals_carry_a_failing_status_and_hresult(
    gw: Gateway, reference: str, code: pb.ProtocolStatusCode, hresult: int,
) -> None:
    reply = await _ack(gw, reference, correlation="bad")
    assert reply.protocol_status is not None and reply.protocol_status.code == code
    assert reply.protocol_status.message
    assert reply.hresult == hresult != 0 and reply.correlation_id == "bad"


async def test_acknowledge_refuses_a_comment_over_the_limit(gw: Gateway) -> None:
    reply = await _ack(gw, ALARM_1, "x" * 1025)
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == PS.INVALID_REQUEST and reply.hresult != 0
    assert _monitor(gw).state_of(ALARM_1) == ACTIVE


async def test_runtime_methods_refuse_impossible_transitions(gw: Gateway) -> None:
    monitor = _monitor(gw)
    with pytest.raises(AlarmAlreadyActive):
        monitor.raise_alarm(ALARM_1)
    with pytest.raises(AlarmNotActive):
        monitor.clear_alarm(IDLE[0])
    with pytest.raises(AlarmNotActive):
        monitor.retrigger_alarm(IDLE[0])
    with pytest.raises(UnknownAlarm):
        monitor.raise_alarm(UNKNOWN)
    assert monitor.acknowledge(ALARM_2) is None  # acknowledged at start already
    retriggered = monitor.retrigger_alarm(ALARM_2)
    assert retriggered.transition_kind == T.RETRIGGER
    assert monitor.state_of(ALARM_2) == ACTIVE  # unacknowledged again
    cleared = monitor.clear_alarm(ALARM_2)
    assert cleared.current_value is not None and cleared.current_value.bool_value is False
    assert monitor.state_of(ALARM_2) is None


async def test_a_limit_alarm_reports_its_value_and_limit(gw: Gateway) -> None:
    monitor = _monitor(gw)
    tank = next(s for s in await _query(gw) if s.limit_value is not None)
    hi = tank.alarm_full_reference.replace(".HiHi", ".Hi")
    lo = tank.alarm_full_reference.replace(".HiHi", ".Lo")
    raised = monitor.raise_alarm(hi, value=88.5)
    assert raised.alarm_type_name == "Hi" and raised.severity == 250
    assert (_double(raised.current_value), _double(raised.limit_value)) == (88.5, 85.0)
    low = monitor.raise_alarm(lo)
    assert _double(low.current_value) < _double(low.limit_value) == 10.0
    assert _double(monitor.clear_alarm(hi).current_value) < 85.0


async def test_a_discrete_alarm_attribute_reads_true_while_active(gw: Gateway) -> None:
    session = await gw.open()
    server = await gw.register(session)
    item = await gw.subscribe(session, server, "TestMachine_003.TestAlarm001")
    events = gw.events(session)
    first = await events.until(lambda e: e.on_data_change is not None)
    assert first.item_handle == item
    assert first.on_data_change is not None and first.on_data_change.value is not None
    assert first.on_data_change.value.bool_value is False
    _monitor(gw).raise_alarm(IDLE[0])
    change = await events.until(lambda e: e.on_data_change is not None)
    assert change.on_data_change is not None and change.on_data_change.value is not None
    assert change.on_data_change.value.bool_value is True


# ---------------------------------------------------------------------- scopes, switches


async def test_scopes_events_read_to_stream_and_query_invoke_write_to_acknowledge(
    make_gateway: GatewayFactory,
) -> None:
    reader, writer = "mxgw_reader_R3aderSecretValue", "mxgw_writer_Wr1terSecretValue"
    keys = [f"{reader}=events:read", f"{writer}=invoke:write", KEY]
    as_reader = await make_gateway(runtime=_by_hand(), api_keys=keys, key=reader)
    assert await _query(as_reader)
    assert await _grpc_status(_ack(as_reader, ALARM_1)) == Status.PERMISSION_DENIED
    assert _monitor(as_reader).state_of(ALARM_1) == ACTIVE
    as_writer = await make_gateway(runtime=_by_hand(), api_keys=keys, key=writer)
    for stream in (as_writer.stub.stream_alarms(pb.StreamAlarmsRequest()),
                   as_writer.stub.query_active_alarms(pb.QueryActiveAlarmsRequest())):
        assert await _stream_status(stream) == Status.PERMISSION_DENIED
    reply = await _ack(as_writer, ALARM_1)
    assert reply.protocol_status is not None and reply.protocol_status.code == OK


async def test_invoke_alarm_acknowledges_need_invoke_write(make_gateway: GatewayFactory) -> None:
    reader = "mxgw_reader_R3aderSecretValue"
    gw = await make_gateway(runtime=_by_hand(),
                            api_keys=[f"{reader}=session:open,invoke:read", KEY], key=reader)
    session = await gw.open()
    for cmd in (commands.acknowledge_alarm(alarm_guid(ALARM_1), "c", OPERATOR),
                commands.acknowledge_alarm_by_name(ALARM_1, "c", OPERATOR)):
        call = gw.stub.invoke(pb.MxCommandRequest(session_id=session, command=cmd))
        assert await _grpc_status(call) == Status.PERMISSION_DENIED
    for cmd in (commands.query_active_alarms(), commands.subscribe_alarms(""),
                commands.unsubscribe_alarms()):
        reply = await gw.stub.invoke(pb.MxCommandRequest(session_id=session, command=cmd))
        assert reply.protocol_status is not None and reply.protocol_status.code == OK
    assert _monitor(gw).state_of(ALARM_1) == ACTIVE


async def test_capabilities_list_alarm_support_and_no_alarms_is_unavailable(
    make_gateway: GatewayFactory,
) -> None:
    on = await make_gateway(runtime=_by_hand())
    opened = await on.stub.open_session(pb.OpenSessionRequest())
    assert {"unary-acknowledge-alarm", "server-stream-active-alarms"} <= set(
        opened.capabilities)
    off = await make_gateway(runtime=_by_hand(alarms=False))
    opened = await off.stub.open_session(pb.OpenSessionRequest())
    assert "invoke" in opened.capabilities
    assert not {"unary-acknowledge-alarm", "server-stream-active-alarms"} & set(
        opened.capabilities)
    assert await _grpc_status(_ack(off, ALARM_1)) == Status.UNAVAILABLE
    for stream in (off.stub.stream_alarms(pb.StreamAlarmsRequest()),
                   off.stub.query_active_alarms(pb.QueryActiveAlarmsRequest())):
        assert await _stream_status(stream) == Status.UNAVAILABLE
    reply = await off.stub.invoke(pb.MxCommandRequest(
        session_id=opened.session_id, command=commands.query_active_alarms()))
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == PS.MXACCESS_FAILURE and reply.hresult != 0


# ---------------------------------------------------------------------- failover


async def test_failover_to_subtag_and_back_is_announced_and_marks_everything_degraded(
    gw: Gateway, feeds: Callable[..., Feed],
) -> None:
    monitor = _monitor(gw)
    feed = feeds(gw)
    _, status = await feed.initial()
    assert status.mode == ALARMMGR
    over = monitor.fail_over("alarm manager gone")
    assert monitor.fail_over() == over  # already failed over: nothing new
    message = await feed.next()
    assert message.provider_status == over
    assert over.mode == SUBTAG and over.degraded and over.reason == "alarm manager gone"
    assert over.since is not None and status.since is not None and over.since > status.since
    raised = monitor.raise_alarm(IDLE[0])
    assert await feed.transition() == raised
    assert raised.degraded and raised.source_provider == SUBTAG
    snapshots = await _query(gw)
    assert snapshots and all(s.degraded for s in snapshots)
    late = feeds(gw)
    late_snapshots, late_status = await late.initial()
    assert all(s.degraded for s in late_snapshots) and late_status == over

    back = monitor.fail_back()
    for f in (feed, late):
        message = await f.next()
        assert message.provider_status == back
    assert back.mode == ALARMMGR and not back.degraded and back.reason
    cleared = monitor.clear_alarm(IDLE[0])
    assert await feed.transition() == cleared
    assert not cleared.degraded and cleared.source_provider == ALARMMGR
    assert not any(s.degraded for s in await _query(gw))


async def test_injected_failover_switches_the_provider_back_and_forth(
    make_gateway: GatewayFactory, feeds: Callable[..., Feed],
) -> None:
    gw = await make_gateway(runtime=_by_hand(),
                            faults=FaultConfig(alarm_failover_every=0.05))
    feed = feeds(gw)
    _, first = await feed.initial()  # ALARMMGR, or SUBTAG if a switch came first
    statuses = [first]
    for _ in range(2):
        status = (await feed.next()).provider_status
        assert status is not None
        statuses.append(status)
    modes = [s.mode for s in statuses]
    assert modes in ([ALARMMGR, SUBTAG, ALARMMGR], [SUBTAG, ALARMMGR, SUBTAG])
    assert [s.degraded for s in statuses] == [m == SUBTAG for m in modes]
    gw.sim.faults.alarm_failover_every = 0  # read at each switch: it ends in ALARMMGR
    await eventually(lambda: _monitor(gw).status.mode == ALARMMGR)


# ---------------------------------------------------------------------- Invoke


def _is_alarm(event: pb.MxEvent) -> bool:
    return event.family == pb.MxEventFamily.ON_ALARM_TRANSITION


async def test_invoke_subscribe_delivers_transitions_on_the_session_stream(gw: Gateway) -> None:
    monitor = _monitor(gw)
    session = await gw.open()
    await gw.ok(session, pb.SubscribeAlarmsCommand(subscription_expression="Galaxy!Plant."))
    events = gw.events(session)
    tank = next(s for s in await _query(gw) if s.limit_value is not None)
    monitor.clear_alarm(tank.alarm_full_reference)  # outside the expression
    raised = monitor.raise_alarm(IDLE[2])
    event = await events.next()
    assert _is_alarm(event) and event.on_alarm_transition == raised
    assert event.session_id == session and event.worker_sequence == 1
    assert (event.server_handle, event.item_handle) == (0, 0)

    await events.close()  # resume: the alarm event is replayed from the session's log
    live = gw.sim.runtime.find(session)
    assert live is not None
    await eventually(lambda: not live.events.subscribed)
    cleared = monitor.clear_alarm(IDLE[2])
    resumed = gw.events(session, after=event.worker_sequence)
    replayed = await resumed.next()
    assert _is_alarm(replayed) and replayed.on_alarm_transition == cleared
    assert replayed.worker_sequence == 2

    await gw.ok(session, pb.UnsubscribeAlarmsCommand())
    await gw.ok(session, pb.UnsubscribeAlarmsCommand())  # twice: harmless
    monitor.raise_alarm(IDLE[3])
    assert live.events.sequence == 2  # nothing more reached the session


async def test_invoke_query_and_acknowledge_by_guid_and_by_name(gw: Gateway) -> None:
    session = await gw.open()
    await gw.ok(session, pb.SubscribeAlarmsCommand())
    events = gw.events(session)
    reply = await gw.ok(session, pb.QueryActiveAlarmsCommand(alarm_filter_prefix="Galaxy!Plant"))
    assert reply.query_active_alarms is not None
    assert reply.query_active_alarms.snapshots == await _query(gw, "Galaxy!Plant")

    guid = alarm_guid(ALARM_1)
    assert guid == str(uuid.uuid5(uuid.NAMESPACE_URL, ALARM_1))  # documented derivation
    cmd = commands.acknowledge_alarm("{" + guid.upper() + "}", "by guid", OPERATOR)
    reply = await gw.stub.invoke(pb.MxCommandRequest(session_id=session, command=cmd))
    assert reply.protocol_status is not None and reply.protocol_status.code == OK
    assert reply.acknowledge_alarm == pb.AcknowledgeAlarmReplyPayload(native_status=0)
    event = await events.until(_is_alarm)
    assert event.on_alarm_transition is not None
    assert event.on_alarm_transition.transition_kind == T.ACKNOWLEDGE
    assert event.on_alarm_transition.operator_comment == "by guid"

    _monitor(gw).raise_alarm(IDLE[0])
    cmd = commands.acknowledge_alarm_by_name(IDLE[0], "by name", OPERATOR)
    reply = await gw.stub.invoke(pb.MxCommandRequest(session_id=session, command=cmd))
    assert reply.protocol_status is not None and reply.protocol_status.code == OK
    assert reply.hresult == 0 and _monitor(gw).state_of(IDLE[0]) == ACKED


@pytest.mark.parametrize(("payload", "code", "hresult"), [
    (pb.AcknowledgeAlarmCommand(alarm_guid=str(uuid.uuid4()), operator_user="u"),
     PS.MXACCESS_FAILURE, E_INVALIDARG),
    (pb.AcknowledgeAlarmCommand(alarm_guid=alarm_guid(IDLE[1]), operator_user="u"),
     PS.MXACCESS_FAILURE, E_FAIL),  # known once raised: see the test body
    (pb.AcknowledgeAlarmByNameCommand(provider_name="Galaxy", group_name="Plant",
                                      alarm_name="TestMachine_004.TestAlarm001"),
     PS.MXACCESS_FAILURE, E_FAIL),
    (pb.AcknowledgeAlarmByNameCommand(provider_name="Galaxy", group_name="NoSuchArea",
                                      alarm_name="NoSuchTag.NoAlarm"),
     PS.MXACCESS_FAILURE, E_INVALIDARG),
    (pb.AcknowledgeAlarmByNameCommand(provider_name="Galaxy", alarm_name="X.Y"),
     PS.INVALID_REQUEST, 0),
    (pb.AcknowledgeAlarmCommand(alarm_guid=""), PS.INVALID_REQUEST, 0),
])
async def test_invoke_acknowledge_failures(
    gw: Gateway, payload: object, code: pb.ProtocolStatusCode, hresult: int,
) -> None:
    monitor = _monitor(gw)
    monitor.raise_alarm(IDLE[1])  # the monitor learns its GUID, then it clears
    monitor.clear_alarm(IDLE[1])
    session = await gw.open()
    reply = await gw.invoke(session, payload)
    assert reply.protocol_status is not None and reply.protocol_status.code == code
    assert reply.hresult == hresult


# ---------------------------------------------------------------------- mxgw sim flags


async def _start_sim(*flags: str) -> tuple[asyncio.subprocess.Process, MxAccessGatewayStub,
                                           Channel]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "sim", "--port", "0", "--plaintext", "--json", *flags,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    announced = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
    host, _, port = str(announced["endpoint"]).rpartition(":")
    channel = Channel(host, int(port))
    stub = MxAccessGatewayStub(
        channel, metadata={"authorization": f"Bearer {announced['apiKey']}"})
    return process, stub, channel


async def _stop_sim(process: asyncio.subprocess.Process, channel: Channel) -> None:
    channel.close()
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()


async def test_sim_alarm_rate_and_failover_flags() -> None:
    process, stub, channel = await _start_sim("--alarm-rate", "50",
                                              "--fault-alarm-failover-every", "0.2")
    try:
        kinds: set[str] = set()
        modes: set[pb.AlarmProviderMode] = set()

        async def read() -> None:
            async for message in stub.stream_alarms(pb.StreamAlarmsRequest()):
                if message.transition is not None:
                    kinds.add("transition")
                if message.provider_status is not None:
                    modes.add(message.provider_status.mode)
                if "transition" in kinds and SUBTAG in modes:
                    return
        await asyncio.wait_for(read(), 30)
        assert kinds == {"transition"} and SUBTAG in modes
    finally:
        await _stop_sim(process, channel)


async def test_sim_no_alarms_flag() -> None:
    process, stub, channel = await _start_sim("--no-alarms")
    try:
        opened = await stub.open_session(pb.OpenSessionRequest())
        assert "server-stream-active-alarms" not in opened.capabilities
        stream = stub.query_active_alarms(pb.QueryActiveAlarmsRequest())
        assert await _stream_status(stream) == Status.UNAVAILABLE
    finally:
        await _stop_sim(process, channel)


async def test_sim_refuses_a_negative_alarm_rate() -> None:
    bad = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "sim", "--port", "0", "--plaintext",
        "--alarm-rate", "-1", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=ROOT)
    _, stderr = await asyncio.wait_for(bad.communicate(), 30)
    assert bad.returncode == 2 and b"alarm_rate" in stderr, stderr.decode()
