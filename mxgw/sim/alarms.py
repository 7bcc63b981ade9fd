"""The central alarm monitor: the active set, its transitions, the provider mode, subscribers.

One monitor serves a simulated gateway (`GatewayRuntime.alarms`). Its active set holds
ACTIVE and ACTIVE_ACKED alarms; a clear removes an alarm (there is no history). Every
transition goes to the StreamAlarms feeds and to the sessions that ran SubscribeAlarms
whose prefix matches it, in the order it happened. Alarms change on their own at `rate`
transitions a second (0: only by hand, through the public methods below); the choice of
alarm and transition is seeded, the timing is not.

Everything runs on the event loop without awaiting, so a subscriber registered in one
call sees every transition after its snapshot exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._proto.mxaccess_gateway import v1 as pb
from ..log import logger
from .alarm_catalog import AlarmCatalog, AlarmDef, split_reference
from .alarm_feed import AlarmFeed, matches
from .galaxy import MX_BOOLEAN, MX_INTEGER, GalaxyModel
from .mx_values import to_mx
from .session import E_FAIL, E_INVALIDARG
from .tag_values import TagStore

if TYPE_CHECKING:
    from .session import SimSession

log = logger("mxgw.sim")

ACTIVE = pb.AlarmConditionState.ACTIVE
ACTIVE_ACKED = pb.AlarmConditionState.ACTIVE_ACKED
T = pb.AlarmTransitionKind
ALARMMGR, SUBTAG = pb.AlarmProviderMode.ALARMMGR, pb.AlarmProviderMode.SUBTAG

FAILOVER_REASON = "alarm manager failed repeatedly: polling alarm subtags"
FAILBACK_REASON = "alarm manager restored"
START_RANDOM = 6
"""Alarms picked at random (seeded) to be active at start, besides the fixed ones."""
MAX_ACTIVE = 64
"""The automatic transitions clear rather than raise once this many alarms are active."""


def automatic(alarm: AlarmDef) -> bool:
    """Whether the automatic transitions may change `alarm`: not the test machines' alarms,
    which change only when asked (an acknowledge, the runtime's raise and clear), so that
    what an example or a test does to them is what it then sees."""
    return not alarm.source_object.startswith("TestMachine_")


class AlarmError(Exception):
    """An alarm operation the provider refuses; `hresult` is its native status."""

    hresult = E_FAIL


class UnknownAlarm(AlarmError):
    """No such alarm in the Galaxy (or no alarm with that GUID)."""

    hresult = E_INVALIDARG


class AlarmNotActive(AlarmError):
    """The alarm exists but is not in the active set."""

    hresult = E_FAIL


class AlarmAlreadyActive(AlarmError):
    """Raising an alarm that is active (retrigger it instead)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class ActiveAlarm:
    """An alarm in the active set."""

    alarm: AlarmDef
    state: pb.AlarmConditionState
    raised: dt.datetime
    last_transition: dt.datetime
    value: float | bool
    """The value at the last transition (a discrete alarm's is True while active)."""
    operator_user: str = ""
    operator_comment: str = ""


class AlarmMonitor:
    """The active set of one simulated gateway's alarms, and who is told of its changes."""

    def __init__(self, galaxy: GalaxyModel, tags: TagStore | None = None, *,
                 enabled: bool = True, rate: float = 0.0, queue_capacity: int = 10_000) -> None:
        self.catalog = AlarmCatalog(galaxy)
        self.tags = tags
        self.enabled = enabled
        """False: the alarm RPCs answer UNAVAILABLE and nothing is active."""
        self.queue_capacity = queue_capacity
        self._rng = random.Random(galaxy.seed)
        self._active: dict[str, ActiveAlarm] = {}
        """The active set, by reference in lower case (references are case-insensitive)."""
        self._known: dict[str, AlarmDef] = {}
        """Every alarm seen so far, by GUID (lower case): AcknowledgeAlarm by GUID."""
        self._feeds: set[AlarmFeed] = set()
        self._sessions: dict[str, tuple[SimSession, str]] = {}
        self._status = pb.AlarmProviderStatus(mode=ALARMMGR, degraded=False,
                                              reason="alarm manager connected", since=_now())
        self._rate = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._running = False
        if enabled:
            self._activate_start_set()
        self.rate = rate

    # ------------------------------------------------------------------ state

    @property
    def status(self) -> pb.AlarmProviderStatus:
        """The provider's mode now (a copy)."""
        s = self._status
        return pb.AlarmProviderStatus(mode=s.mode, degraded=s.degraded, reason=s.reason,
                                      since=s.since)

    @property
    def degraded(self) -> bool:
        return self._status.degraded

    def find(self, reference: str) -> AlarmDef | None:
        """The alarm a reference names (MalformedReference if it is not Provider!Group.Tag)."""
        return self.catalog.find(reference)

    def state_of(self, reference: str) -> pb.AlarmConditionState | None:
        """ACTIVE or ACTIVE_ACKED, or None when the alarm is not active (UnknownAlarm,
        MalformedReference)."""
        active = self._active.get(self._alarm(reference).reference.lower())
        return active.state if active else None

    def by_guid(self, guid: str) -> AlarmDef | None:
        """An alarm this monitor has seen, by GUID (any case, braces allowed)."""
        return self._known.get(guid.strip().strip("{}").lower())

    def snapshots(self, prefix: str = "") -> list[pb.ActiveAlarmSnapshot]:
        """The active alarms matching a reference prefix, most urgent first: by severity
        (lower first), unacknowledged before acknowledged, then by reference."""
        chosen = [a for a in self._active.values() if matches(a.alarm.reference, prefix)]
        chosen.sort(key=lambda a: (a.alarm.severity, a.state != ACTIVE, a.alarm.reference))
        return [self._snapshot(a) for a in chosen]

    # ------------------------------------------------------------------ transitions

    def raise_alarm(self, reference: str, value: float | None = None) -> pb.OnAlarmTransitionEvent:
        """RAISE an inactive alarm (ACTIVE, unacknowledged); a limit alarm's value is
        `value` or one beyond its limit. AlarmAlreadyActive if it is active."""
        alarm = self._alarm(reference)
        if alarm.reference.lower() in self._active:
            raise AlarmAlreadyActive(f"{alarm.reference} is already active")
        now = _now()
        active = ActiveAlarm(alarm, ACTIVE, now, now, self._value(alarm, True, value))
        self._active[alarm.reference.lower()] = active
        self._set_tag(alarm, True)
        return self._publish(active, T.RAISE, now)

    def retrigger_alarm(self, reference: str,
                        value: float | None = None) -> pb.OnAlarmTransitionEvent:
        """RETRIGGER an active alarm: a new raise time, unacknowledged again."""
        active = self._active_alarm(reference)
        now = _now()
        active.state, active.raised, active.last_transition = ACTIVE, now, now
        active.value = self._value(active.alarm, True, value)
        active.operator_user = active.operator_comment = ""
        return self._publish(active, T.RETRIGGER, now)

    def clear_alarm(self, reference: str, value: float | None = None) -> pb.OnAlarmTransitionEvent:
        """CLEAR an active alarm (acknowledged or not): it leaves the active set."""
        active = self._active_alarm(reference)
        del self._active[active.alarm.reference.lower()]
        now = _now()
        active.last_transition = now
        active.value = self._value(active.alarm, False, value)
        self._set_tag(active.alarm, False)
        return self._publish(active, T.CLEAR, now)

    def acknowledge(self, reference: str, comment: str = "", *, user: str = "",
                    node: str = "", domain: str = "",
                    full_name: str = "") -> pb.OnAlarmTransitionEvent | None:
        """ACKNOWLEDGE an active alarm (ACTIVE -> ACTIVE_ACKED, with the operator and the
        comment); None, and no change, if it is acknowledged already. The node, domain and
        full name are accepted as System Platform records them; the feed carries the user."""
        active = self._active_alarm(reference)
        if active.state == ACTIVE_ACKED:
            return None
        now = _now()
        active.state, active.last_transition = ACTIVE_ACKED, now
        active.operator_user, active.operator_comment = user, comment
        log.info("alarm %s acknowledged by %s (%s\\%s, %s)", active.alarm.reference, user,
                 domain, node, full_name)
        return self._publish(active, T.ACKNOWLEDGE, now)

    def fail_over(self, reason: str = FAILOVER_REASON) -> pb.AlarmProviderStatus:
        """The alarm manager fails: the monitor polls alarm subtags (SUBTAG, degraded).
        Every feed gets the new provider status; a no-op if it is in SUBTAG mode."""
        return self._set_mode(SUBTAG, reason)

    def fail_back(self, reason: str = FAILBACK_REASON) -> pb.AlarmProviderStatus:
        """Back to the alarm manager (ALARMMGR, not degraded); a no-op if it is there."""
        return self._set_mode(ALARMMGR, reason)

    def step(self) -> pb.OnAlarmTransitionEvent | None:
        """One automatic transition (what the timer runs): raise, clear or retrigger a
        random alarm, keeping the active set between one and MAX_ACTIVE alarms."""
        roll = self._rng.random()
        changing = sorted(ref for ref, active in self._active.items()
                          if automatic(active.alarm))
        if changing and (len(self._active) >= MAX_ACTIVE
                         or (len(changing) > 1 and roll < 0.4)):
            return self.clear_alarm(self._rng.choice(changing))
        if changing and roll < 0.55:
            return self.retrigger_alarm(self._rng.choice(changing))
        candidate = next((a for a in self.catalog.random_alarms(self._rng)
                          if automatic(a) and a.reference.lower() not in self._active), None)
        return self.raise_alarm(candidate.reference) if candidate else None

    # ------------------------------------------------------------------ subscribers

    def open_feed(self, prefix: str = "") -> AlarmFeed:
        """A StreamAlarms subscriber, already holding the active alarms matching `prefix`,
        the snapshot marker and the provider status; transitions follow as they happen."""
        snapshots = self.snapshots(prefix)
        feed = AlarmFeed(prefix, self.queue_capacity + len(snapshots) + 2)
        for snapshot in snapshots:
            feed.push(pb.AlarmFeedMessage(active_alarm=snapshot))
        feed.push(pb.AlarmFeedMessage(snapshot_complete=pb.AlarmSnapshotComplete()))
        feed.push(pb.AlarmFeedMessage(provider_status=self.status))
        self._feeds.add(feed)
        return feed

    def close_feed(self, feed: AlarmFeed) -> None:
        self._feeds.discard(feed)

    @property
    def feed_count(self) -> int:
        """How many StreamAlarms subscribers are attached."""
        return len(self._feeds)

    def subscribe_session(self, session: SimSession, prefix: str = "") -> None:
        """Send the session's event stream every transition matching `prefix` (replaces
        an earlier subscription of the session)."""
        self._sessions[session.id] = (session, prefix)

    def unsubscribe_session(self, session: SimSession) -> bool:
        """Stop a session's alarm events; False if it was not subscribed."""
        return self._sessions.pop(session.id, None) is not None

    def subscribed(self, session: SimSession) -> bool:
        return session.id in self._sessions

    # ------------------------------------------------------------------ timer

    @property
    def rate(self) -> float:
        """Automatic transitions a second (0: only by hand); settable while serving."""
        return self._rate

    @rate.setter
    def rate(self, rate: float) -> None:
        if rate < 0:
            raise ValueError("the alarm rate must be >= 0")
        self._rate = rate
        if self._running:
            self._schedule()

    def start(self) -> None:
        """Start the automatic transitions (needs the running loop)."""
        self._running = True
        self._schedule()

    def stop(self) -> None:
        """Stop the timer and end every feed (their streams end normally)."""
        self._running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for feed in self._feeds:
            feed.end()
        self._feeds.clear()
        self._sessions.clear()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._running and self.enabled and self._rate > 0:
            self._timer = asyncio.get_running_loop().call_later(1.0 / self._rate, self._tick)

    def _tick(self) -> None:
        self._timer = None
        try:
            self.step()
        except AlarmError:  # a race with a hand-driven transition: skip this one
            pass
        self._schedule()

    # ------------------------------------------------------------------ internals

    def _alarm(self, reference: str) -> AlarmDef:
        """The alarm a reference names: an active one first (its object may have gone in
        a redeploy), else the Galaxy's; UnknownAlarm, MalformedReference."""
        split_reference(reference)
        active = self._active.get(reference.lower())
        alarm = active.alarm if active else self.catalog.find(reference)
        if alarm is None:
            raise UnknownAlarm(f"no alarm {reference} in the Galaxy")
        self._known.setdefault(alarm.guid.lower(), alarm)
        return alarm

    def _active_alarm(self, reference: str) -> ActiveAlarm:
        alarm = self._alarm(reference)
        active = self._active.get(alarm.reference.lower())
        if active is None:
            raise AlarmNotActive(f"{alarm.reference} is not active")
        return active

    def _value(self, alarm: AlarmDef, active: bool, value: float | None) -> float | bool:
        """The value an alarm reports: given, or for a limit alarm a little beyond its
        limit while active and a little inside it once cleared."""
        if alarm.limit is None:
            return active
        if value is not None:
            return value
        beyond = 1.0 if alarm.type_name.startswith("Hi") else -1.0
        offset = round(self._rng.uniform(0.5, 4.5), 2)
        value = alarm.limit + beyond * offset if active else alarm.limit - beyond * 3.0
        return round(value) if alarm.attribute.data_type == MX_INTEGER else value

    def _mx(self, alarm: AlarmDef, value: float | bool) -> pb.MxValue:
        if alarm.limit is None:
            return to_mx(bool(value), MX_BOOLEAN)
        return to_mx(value, alarm.attribute.data_type)

    def _limit(self, alarm: AlarmDef) -> pb.MxValue | None:
        return None if alarm.limit is None else self._mx(alarm, alarm.limit)

    def _set_tag(self, alarm: AlarmDef, active: bool) -> None:
        """A discrete alarm's attribute reads True while the alarm is active."""
        if self.tags is None or alarm.limit is not None:
            return
        obj = self.catalog.galaxy.find(alarm.source_object)
        if obj is not None:
            self.tags.write(self.tags.state(obj, alarm.attribute), active)

    def _snapshot(self, active: ActiveAlarm) -> pb.ActiveAlarmSnapshot:
        alarm = active.alarm
        return pb.ActiveAlarmSnapshot(
            alarm_full_reference=alarm.reference, source_object_reference=alarm.source_object,
            alarm_type_name=alarm.type_name, severity=alarm.severity,
            current_state=active.state, category=alarm.area,
            last_transition_timestamp=active.last_transition,
            operator_comment=active.operator_comment, degraded=self._status.degraded,
            current_value=self._mx(alarm, active.value), limit_value=self._limit(alarm))

    def _publish(self, active: ActiveAlarm, kind: pb.AlarmTransitionKind,
                 at: dt.datetime) -> pb.OnAlarmTransitionEvent:
        alarm = active.alarm
        acked = kind == T.ACKNOWLEDGE
        event = pb.OnAlarmTransitionEvent(
            alarm_full_reference=alarm.reference, source_object_reference=alarm.source_object,
            alarm_type_name=alarm.type_name, transition_kind=kind, severity=alarm.severity,
            original_raise_timestamp=active.raised, transition_timestamp=at,
            operator_user=active.operator_user if acked else "",
            operator_comment=active.operator_comment if acked else "",
            category=alarm.area, description=alarm.description,
            current_value=self._mx(alarm, active.value), limit_value=self._limit(alarm),
            degraded=self._status.degraded, source_provider=self._status.mode)
        message = pb.AlarmFeedMessage(transition=event)
        for feed in list(self._feeds):
            if feed.closed:
                self._feeds.discard(feed)
            elif feed.wants(alarm.reference):
                feed.push(message)
        for session_id, (session, prefix) in list(self._sessions.items()):
            if not session.live:
                del self._sessions[session_id]
            elif matches(alarm.reference, prefix):
                session.emit(pb.MxEventFamily.ON_ALARM_TRANSITION, None,
                             on_alarm_transition=event)
        return event

    def _set_mode(self, mode: pb.AlarmProviderMode, reason: str) -> pb.AlarmProviderStatus:
        if self._status.mode != mode:
            self._status = pb.AlarmProviderStatus(mode=mode, degraded=mode == SUBTAG,
                                                  reason=reason, since=_now())
            log.warning("alarm provider: %s (%s)", mode.name, reason)
            message = pb.AlarmFeedMessage(provider_status=self.status)
            for feed in list(self._feeds):
                feed.push(message)
        return self.status

    def _activate_start_set(self) -> None:
        """The alarms active at start, the same for a seed: TestMachine_001's TestAlarm001
        (ACTIVE), TestMachine_002's (ACTIVE_ACKED), the first tank's Level.HiHi, and up to
        START_RANDOM alarms of generated objects picked with the seed."""
        now = _now()
        chosen: list[tuple[AlarmDef, bool]] = []
        for tag, acked in (("TestMachine_001", False), ("TestMachine_002", True)):
            chosen.extend((a, acked) for a in self.catalog.of_tag(tag))
        limit = self.catalog.first_limit_alarm()
        if limit is not None:
            chosen.append((limit, False))
        picks = [a for a in self.catalog.random_alarms(self._rng, START_RANDOM * 4)
                 if automatic(a)]
        chosen.extend((a, self._rng.random() < 0.3) for a in picks[:START_RANDOM])
        for alarm, acked in chosen:
            if alarm.reference.lower() in self._active:
                continue
            raised = now - dt.timedelta(seconds=round(self._rng.uniform(60, 3600)))
            active = ActiveAlarm(alarm, ACTIVE, raised, raised, self._value(alarm, True, None))
            if acked:
                active.state = ACTIVE_ACKED
                active.last_transition = raised + dt.timedelta(seconds=30)
                active.operator_user, active.operator_comment = "Operator1", "seen, on it"
            self._active[alarm.reference.lower()] = active
            self._known.setdefault(alarm.guid.lower(), alarm)
            self._set_tag(alarm, True)
