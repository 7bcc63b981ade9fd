"""Alarms through the library, over real sockets to a simulated gateway whose alarms change
only by hand (`sim.runtime.alarms`): query, acknowledge, the raw feed, the alarm view
across lost connections and GOAWAY, and the session's alarm commands."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

import mxgw
from mxgw import AlarmChange, AlarmView, GatewayClient, Operator, Session, pb
from mxgw.alarms import synthetic_changes
from mxgw.sim import RuntimeConfig, SimServer
from mxgw.sim.alarm_catalog import alarm_guid
from mxgw.sim.alarms import AlarmMonitor

from ..conftest import TEST_KEY, eventually, sim_config
from .conftest import GatewayOpener

K = pb.AlarmTransitionKind
S = pb.AlarmConditionState
ACTIVE_REF = "Galaxy!Plant.TestMachine_001.TestAlarm001"     # active at start
ACKED_REF = "Galaxy!Plant.TestMachine_002.TestAlarm001"      # active and acknowledged at start
IDLE_REFS = [f"Galaxy!Plant.TestMachine_00{n}.TestAlarm001" for n in (3, 4, 5, 6)]
UNKNOWN_REF = "Galaxy!NoSuchArea.NoSuchTag.NoAlarm"
BY_HAND = RuntimeConfig(first_value_delay=0.02, alarm_rate=0)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    """This module's gateway: alarms change only when a test drives them."""
    async with SimServer(sim_config(BY_HAND)) as server:
        yield server


def monitor(sim: SimServer) -> AlarmMonitor:
    return sim.runtime.alarms


async def states(client: GatewayClient, prefix: str = "") -> dict[str, pb.AlarmConditionState]:
    """The gateway's active set now, reference -> state."""
    return {a.alarm_full_reference: a.current_state
            for a in await client.query_active_alarms(prefix)}


def view_states(view: AlarmView) -> dict[str, pb.AlarmConditionState]:
    return {ref: alarm.current_state for ref, alarm in view.active.items()}


async def next_change(view: AlarmView, timeout: float = 10.0) -> AlarmChange:
    return await asyncio.wait_for(view.__anext__(), timeout)


# ---------------------------------------------------------------------- query, acknowledge

async def test_a_fresh_gateway_has_active_alarms_and_the_prefix_filters_them(
        client: GatewayClient) -> None:
    active = await client.query_active_alarms()
    assert len(active) >= 2
    by_ref = {a.alarm_full_reference: a for a in active}
    machine = by_ref[ACTIVE_REF]
    assert (machine.current_state, machine.alarm_type_name, machine.category) == (
        S.ACTIVE, "DSC", "Plant")
    assert machine.last_transition_timestamp is not None and machine.severity > 0
    assert by_ref[ACKED_REF].current_state == S.ACTIVE_ACKED
    plant = await client.query_active_alarms("Galaxy!Plant.TestMachine_00")
    assert {a.alarm_full_reference for a in plant} == {ACTIVE_REF, ACKED_REF}
    assert await client.query_active_alarms("Galaxy!NoSuchArea") == []


async def test_acknowledging_makes_the_alarm_active_acked_in_the_next_query(
        client: GatewayClient) -> None:
    reply = await client.acknowledge_alarm(ACTIVE_REF, "on my way", operator="Operator1",
                                           node="HMI01", domain="PLANT",
                                           full_name="Olga Operator")
    assert reply.protocol_status is not None
    assert reply.protocol_status.code == pb.ProtocolStatusCode.OK and reply.hresult == 0
    acked = {a.alarm_full_reference: a for a in await client.query_active_alarms()}[ACTIVE_REF]
    assert (acked.current_state, acked.operator_comment) == (S.ACTIVE_ACKED, "on my way")
    # twice is harmless; an Operator works as well as its fields
    await client.acknowledge_alarm(ACTIVE_REF, "again", operator=Operator("Operator2"))
    assert (await states(client))[ACTIVE_REF] == S.ACTIVE_ACKED


async def test_a_refused_acknowledge_raises_with_the_native_status(
        sim: SimServer, client: GatewayClient) -> None:
    with pytest.raises(mxgw.AlarmAcknowledgeError) as unknown:
        await client.acknowledge_alarm(UNKNOWN_REF, "x", operator="op")
    assert unknown.value.hresult != 0 and unknown.value.reply.hresult == unknown.value.hresult
    assert UNKNOWN_REF in str(unknown.value)
    assert unknown.value.code.startswith("PROTOCOL_STATUS_CODE_")
    monitor(sim).clear_alarm(ACTIVE_REF)
    with pytest.raises(mxgw.AlarmAcknowledgeError) as inactive:
        await client.acknowledge_alarm(ACTIVE_REF, "too late", operator="op")
    assert inactive.value.hresult != 0
    assert ACTIVE_REF not in await states(client)


@pytest.mark.parametrize(("reference", "comment", "operator"), [
    ("", "c", "op"), ("TestMachine_001.TestAlarm001", "c", "op"), ("Galaxy!Plant", "c", "op"),
    (ACTIVE_REF, "x" * 1025, "op"), (ACTIVE_REF, "c", ""),
])
async def test_bad_acknowledge_input_is_refused_before_anything_is_sent(
        reference: str, comment: str, operator: str) -> None:
    # Nothing listens on port 1: any call that got as far as sending would fail to connect.
    client = await GatewayClient.connect("127.0.0.1:1", api_key=TEST_KEY, plaintext=True,
                                         eager=False)
    async with client:
        with pytest.raises(mxgw.ConfigurationError):
            await client.acknowledge_alarm(reference, comment, operator=operator)


async def test_alarms_disabled_answer_unavailable_at_once(open_gateway: GatewayOpener) -> None:
    _, session = await open_gateway(RuntimeConfig(alarm_rate=0, alarms=False))
    client = session.client
    with pytest.raises(mxgw.UnavailableError):
        await client.query_active_alarms()
    with pytest.raises(mxgw.UnavailableError):
        await client.stream_alarms().__anext__()
    view = client.alarm_view()
    with pytest.raises(mxgw.UnavailableError):  # the first open is not retried
        await asyncio.wait_for(view.open(), 10)
    assert view.closed and view.reconnects == 0


# ---------------------------------------------------------------------- the raw feed

async def test_the_feed_is_snapshot_marker_status_then_live_transitions(
        sim: SimServer, client: GatewayClient) -> None:
    expected = await states(client, "Galaxy!Plant")
    received: list[pb.AlarmFeedMessage] = []
    async for message in client.stream_alarms("Galaxy!Plant"):
        received.append(message)
        if message.provider_status is not None:
            break
    await eventually(lambda: monitor(sim).feed_count == 0)  # break closed the stream
    *snapshot, marker, status = received
    assert {m.active_alarm.alarm_full_reference: m.active_alarm.current_state
            for m in snapshot if m.active_alarm is not None} == expected
    assert len(snapshot) == len(expected)
    assert marker.snapshot_complete is not None
    assert status.provider_status is not None
    assert status.provider_status.mode == pb.AlarmProviderMode.ALARMMGR
    assert not status.provider_status.degraded

    stream = client.stream_alarms("Galaxy!Plant")
    async for message in stream:
        if message.provider_status is not None:
            break
    monitor(sim).raise_alarm("Galaxy!Line_00001.Tank_00001.Level.Hi")  # filtered out
    monitor(sim).raise_alarm(IDLE_REFS[0])
    live = await asyncio.wait_for(stream.__anext__(), 10)
    assert live.transition is not None
    assert (live.transition.alarm_full_reference, live.transition.transition_kind) == (
        IDLE_REFS[0], K.RAISE)
    assert live.transition.transition_timestamp is not None
    # a failover is a new provider status; later transitions are degraded
    monitor(sim).fail_over()
    monitor(sim).clear_alarm(IDLE_REFS[0])
    failover = await asyncio.wait_for(stream.__anext__(), 10)
    assert failover.provider_status is not None and failover.provider_status.degraded
    assert failover.provider_status.mode == pb.AlarmProviderMode.SUBTAG
    cleared = await asyncio.wait_for(stream.__anext__(), 10)
    assert cleared.transition is not None and cleared.transition.degraded
    assert cleared.transition.transition_kind == K.CLEAR
    await stream.aclose()  # type: ignore[attr-defined]
    await eventually(lambda: monitor(sim).feed_count == 0)  # the HTTP/2 stream is gone


async def test_cancelling_the_consumer_closes_the_feed_at_once(
        sim: SimServer, client: GatewayClient) -> None:
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in client.stream_alarms():
            started.set()

    task = asyncio.get_running_loop().create_task(consume())
    await asyncio.wait_for(started.wait(), 10)
    assert monitor(sim).feed_count == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: monitor(sim).feed_count == 0)


# ---------------------------------------------------------------------- the view

async def test_the_view_applies_each_transition_to_the_active_set(
        sim: SimServer, client: GatewayClient) -> None:
    async with client.alarm_view() as view:
        assert view_states(view) == await states(client)
        assert view.provider is not None and view.provider.mode == pb.AlarmProviderMode.ALARMMGR
        ref = IDLE_REFS[0]
        monitor(sim).raise_alarm(ref)
        raised = await next_change(view)
        assert (raised.kind, raised.reference, raised.before, raised.synthetic) == (
            K.RAISE, ref, None, False)
        assert raised.after is not None and raised.after.current_state == S.ACTIVE
        assert view.active[ref] is raised.after

        await client.acknowledge_alarm(ref, "seen", operator="Operator1")
        acked = await next_change(view)
        assert (acked.kind, acked.before) == (K.ACKNOWLEDGE, raised.after)
        assert acked.transition.operator_user == "Operator1"
        assert acked.after is not None and acked.after.operator_comment == "seen"
        assert view.active[ref].current_state == S.ACTIVE_ACKED

        monitor(sim).retrigger_alarm(ref)
        again = await next_change(view)
        assert again.kind == K.RETRIGGER and view.active[ref].current_state == S.ACTIVE
        monitor(sim).clear_alarm(ref)
        cleared = await next_change(view)
        assert (cleared.kind, cleared.after) == (K.CLEAR, None) and ref not in view.active
        assert view_states(view) == await states(client)
        assert view.by_urgency()[0].severity == min(a.severity for a in view.active.values())
    assert view.closed
    await eventually(lambda: monitor(sim).feed_count == 0)


@pytest.mark.parametrize("cut", ["drop", "goaway"])
async def test_the_view_reports_what_changed_while_away_once_and_marked_synthetic(
        sim: SimServer, client: GatewayClient, cut: str) -> None:
    alarms = monitor(sim)
    raised_earlier = IDLE_REFS[0]
    async with client.alarm_view() as view:
        alarms.raise_alarm(raised_earlier)
        assert (await next_change(view)).reference == raised_earlier
        before = dict(view.active)

        if cut == "drop":
            assert await sim.drop_connections() >= 1
        else:
            assert await sim.send_goaway() >= 1
        await eventually(lambda: alarms.feed_count == 0)  # the gateway saw the view go
        # While away: one raised, one raised and acknowledged, one cleared, one
        # acknowledged, one retriggered.
        alarms.raise_alarm(IDLE_REFS[1])
        alarms.raise_alarm(IDLE_REFS[2])
        alarms.acknowledge(IDLE_REFS[2], "got it", user="Operator1")
        alarms.clear_alarm(raised_earlier)
        alarms.acknowledge(ACTIVE_REF, "seen", user="Operator1")
        alarms.retrigger_alarm(ACKED_REF)

        changes: list[AlarmChange] = []
        while len(changes) < 6:
            changes.append(await next_change(view))
        assert view.reconnects >= 1
        # a live transition after the resync: not synthetic, and nothing came in between
        alarms.raise_alarm(IDLE_REFS[3])
        live = await next_change(view)

    assert all(c.synthetic for c in changes)
    assert [(c.kind, c.reference) for c in changes] == [
        (K.CLEAR, raised_earlier),  # clears first, then in the order they happened
        (K.RAISE, IDLE_REFS[1]),
        (K.RAISE, IDLE_REFS[2]), (K.ACKNOWLEDGE, IDLE_REFS[2]),
        (K.ACKNOWLEDGE, ACTIVE_REF),
        (K.RETRIGGER, ACKED_REF),
    ]
    assert changes[0].before == before[raised_earlier] and changes[0].after is None
    assert changes[4].before == before[ACTIVE_REF]
    assert changes[4].after is not None and changes[4].after.operator_comment == "seen"
    assert (live.kind, live.reference, live.synthetic) == (K.RAISE, IDLE_REFS[3], False)
    assert view_states(view) == await states(client)


async def test_the_view_keeps_going_across_cuts_while_it_is_read(
        sim: SimServer, client: GatewayClient) -> None:
    """A consumer reading all along, alarms changing around the cuts: each alarm's changes
    come in order, none twice, and the set ends as the gateway's."""
    alarms = monitor(sim)
    received: list[AlarmChange] = []
    async with client.alarm_view() as view:

        async def consume() -> None:
            async for change in view:
                received.append(change)

        task = asyncio.get_running_loop().create_task(consume())
        for round_, ref in enumerate(IDLE_REFS[:3], start=1):
            alarms.raise_alarm(ref)
            await sim.drop_connections()
            alarms.acknowledge(ref, f"round {round_}", user="op")
            # Back in sync on a new stream, so the next cut lands on a live connection.
            await eventually(lambda r=round_: view.reconnects >= r  # type: ignore[misc]
                             or task.done(), 20)
        alarms.clear_alarm(IDLE_REFS[0])
        await eventually(lambda: task.done() or any(
            c.kind == K.CLEAR and c.reference == IDLE_REFS[0] for c in received), 20)
        assert not task.done(), task.result()
        await view.aclose()  # from this task, while the consumer waits
        await asyncio.wait_for(task, 10)
    for ref in IDLE_REFS[:3]:
        kinds = [c.kind for c in received if c.reference == ref]
        assert kinds[:2] == [K.RAISE, K.ACKNOWLEDGE], (ref, kinds)
    assert [c.kind for c in received if c.reference == IDLE_REFS[0]] == [
        K.RAISE, K.ACKNOWLEDGE, K.CLEAR]
    assert view_states(view) == await states(client)


async def test_the_view_follows_a_provider_failover(sim: SimServer,
                                                    client: GatewayClient) -> None:
    async with client.alarm_view("Galaxy!Plant") as view:
        monitor(sim).fail_over()
        monitor(sim).raise_alarm(IDLE_REFS[0])
        change = await next_change(view)
        assert change.transition.degraded
        failed_over = view.provider
        assert failed_over is not None and failed_over.degraded
        assert failed_over.mode == pb.AlarmProviderMode.SUBTAG
        monitor(sim).fail_back()
        monitor(sim).clear_alarm(IDLE_REFS[0])
        assert not (await next_change(view)).transition.degraded
        assert view.provider is not None and not view.provider.degraded
        assert view.provider.mode == pb.AlarmProviderMode.ALARMMGR
        assert all(ref.startswith("Galaxy!Plant") for ref in view.active)


async def test_the_view_gives_up_after_its_reconnect_attempts(
        caplog: pytest.LogCaptureFixture) -> None:
    sim = await SimServer(sim_config(BY_HAND)).start()
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as client:
        view = client.alarm_view(max_reconnect_attempts=2, reconnect_backoff=0.01)
        async with view:
            # The gateway goes away for good: its connections close, new ones are refused.
            await sim.stop()
            with pytest.raises(mxgw.TransportError):
                await next_change(view)
        # Two attempts were made and failed: neither got back in sync, so neither counts
        # (a health exporter must not report reconnects that never happened).
        assert view.closed and view.reconnects == 0
    assert view.state is mxgw.DurableState.CLOSED
    assert any("giving up after 3 failed attempts" in r.getMessage()  # the cut, 2 retries
               for r in caplog.records if r.name == "mxgw.alarms")


async def test_closing_the_client_ends_the_view_without_reconnecting(sim: SimServer) -> None:
    client = await GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True)
    view = await client.alarm_view().open()
    task = asyncio.get_running_loop().create_task(view.__anext__())
    await eventually(lambda: monitor(sim).feed_count == 1)
    await client.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(task, 10)
    assert view.closed and view.reconnects == 0


# ---------------------------------------------------------------------- the diff after time away

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def snap(ref: str, state: pb.AlarmConditionState = S.ACTIVE, when: float = 0,
         comment: str = "") -> pb.ActiveAlarmSnapshot:
    return pb.ActiveAlarmSnapshot(alarm_full_reference=ref, alarm_type_name="DSC",
                                  severity=500, current_state=state, category="A",
                                  last_transition_timestamp=at(when), operator_comment=comment)


def kinds(changes: list[AlarmChange]) -> list[tuple[str, str]]:
    return [(c.kind.name, c.reference.rsplit(".", 1)[-1]) for c in changes]


def test_what_changed_while_away_comes_out_as_synthetic_transitions() -> None:
    old = {r.alarm_full_reference: r for r in (
        snap("Galaxy!A.m.gone", when=1), snap("Galaxy!A.m.acked", when=1),
        snap("Galaxy!A.m.again", S.ACTIVE_ACKED, when=1), snap("Galaxy!A.m.same", when=1),
        snap("Galaxy!A.m.reacked", S.ACTIVE_ACKED, when=1))}
    new = {r.alarm_full_reference: r for r in (
        snap("Galaxy!A.m.acked", S.ACTIVE_ACKED, when=3, comment="ok"),
        snap("Galaxy!A.m.again", when=4), snap("Galaxy!A.m.same", when=1),
        snap("Galaxy!A.m.reacked", S.ACTIVE_ACKED, when=5),
        snap("Galaxy!A.m.new", when=2), snap("Galaxy!A.m.newacked", S.ACTIVE_ACKED, when=6))}
    changes = synthetic_changes(old, new, now=at(10))
    assert all(c.synthetic for c in changes)
    # clears first, then in the order the snapshots say they happened
    assert kinds(changes) == [
        ("CLEAR", "gone"), ("RAISE", "new"), ("ACKNOWLEDGE", "acked"), ("RETRIGGER", "again"),
        ("RETRIGGER", "reacked"), ("ACKNOWLEDGE", "reacked"), ("RAISE", "newacked"),
        ("ACKNOWLEDGE", "newacked")]
    clear = changes[0]
    assert clear.after is None and clear.before is old["Galaxy!A.m.gone"]
    assert clear.transition.transition_timestamp == at(10)
    ack = changes[2]
    assert ack.before is old["Galaxy!A.m.acked"] and ack.after is new["Galaxy!A.m.acked"]
    assert ack.transition.operator_comment == "ok"
    raised, acked = changes[-2:]
    assert raised.after is not None and raised.after.current_state == S.ACTIVE
    assert acked.before is raised.after and acked.after is new["Galaxy!A.m.newacked"]
    assert synthetic_changes(new, new) == []


# ---------------------------------------------------------------------- session commands

async def test_the_session_alarm_commands(sim: SimServer, session: Session) -> None:
    snapshots = await session.query_active_alarms("Galaxy!Plant.TestMachine_00")
    assert {s.alarm_full_reference for s in snapshots} == {ACTIVE_REF, ACKED_REF}
    await session.subscribe_alarms("Galaxy!Plant")
    async with session.events() as events:
        monitor(sim).raise_alarm(IDLE_REFS[0])
        event = await asyncio.wait_for(events.__anext__(), 10)
        assert event.family == pb.MxEventFamily.ON_ALARM_TRANSITION
        assert event.on_alarm_transition is not None
        assert event.on_alarm_transition.alarm_full_reference == IDLE_REFS[0]
        await session.acknowledge_alarm_by_name(IDLE_REFS[0], "by name", "Operator1")
        ack = await asyncio.wait_for(events.__anext__(), 10)
        assert ack.on_alarm_transition is not None
        assert ack.on_alarm_transition.transition_kind == K.ACKNOWLEDGE
    await session.acknowledge_alarm(alarm_guid(ACTIVE_REF), "by guid",
                                    Operator("Operator1", node="HMI01"))
    acked = {s.alarm_full_reference: s for s in await session.query_active_alarms()}
    assert acked[ACTIVE_REF].current_state == S.ACTIVE_ACKED
    assert acked[IDLE_REFS[0]].operator_comment == "by name"
    with pytest.raises(mxgw.MxAccessError) as refused:
        await session.acknowledge_alarm_by_name(UNKNOWN_REF, "x", "op")
    assert refused.value.hresult != 0
    await session.unsubscribe_alarms()
    assert not monitor(sim).subscribed(sim.runtime.sessions[session.id])
