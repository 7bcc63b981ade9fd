"""The alarm view: the gateway's active alarms kept current across lost connections.

    async with client.alarm_view("Galaxy!Plant") as view:
        for alarm in view.active.values():      # what is active now
            ...
        async for change in view:               # then every change, in order
            print(change.kind.name, change.reference, change.synthetic)

StreamAlarms sends a snapshot of the active set, a marker, the provider status, then live
transitions. When the connection drops (or the gateway sends GOAWAY) the view opens a new
stream and compares its snapshot with what it had: whatever changed while it was away
comes out as synthetic changes, so a consumer never misses a raise or a clear and never
sees one twice.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, cast

from ._proto.mxaccess_gateway import v1 as pb
from .contract.alarms import apply_transition, by_urgency
from .durable.backoff import Backoff
from .durable.health import DurableState
from .errors import ConfigurationError, ConnectionLostError
from .events import RESUMABLE
from .log import logger
from .reconnecting import ReconnectingStream

if TYPE_CHECKING:
    from .client import GatewayClient

Kind = pb.AlarmTransitionKind
State = pb.AlarmConditionState

__all__ = ["AlarmChange", "AlarmView", "synthetic_changes"]

log = logger("mxgw.alarms")


@dataclass(frozen=True)
class AlarmChange:
    """One change of the active set: the transition, the alarm before and after it (None:
    not active), and whether the view made it up from two snapshots (`synthetic`)."""

    transition: pb.OnAlarmTransitionEvent
    before: pb.ActiveAlarmSnapshot | None
    after: pb.ActiveAlarmSnapshot | None
    synthetic: bool = False

    @property
    def reference(self) -> str:
        """The alarm's full reference, `Galaxy!Area.Object.Alarm`."""
        return self.transition.alarm_full_reference

    @property
    def kind(self) -> pb.AlarmTransitionKind:
        """RAISE, ACKNOWLEDGE, CLEAR or RETRIGGER."""
        return self.transition.transition_kind


def _synthetic(kind: pb.AlarmTransitionKind, alarm: pb.ActiveAlarmSnapshot,
               when: dt.datetime | None, mode: pb.AlarmProviderMode) -> pb.OnAlarmTransitionEvent:
    """A transition made up from a snapshot (user and description are not in one)."""
    return pb.OnAlarmTransitionEvent(
        alarm_full_reference=alarm.alarm_full_reference,
        source_object_reference=alarm.source_object_reference,
        alarm_type_name=alarm.alarm_type_name, transition_kind=kind, severity=alarm.severity,
        transition_timestamp=when,
        operator_comment=alarm.operator_comment if kind == Kind.ACKNOWLEDGE else "",
        category=alarm.category, current_value=alarm.current_value,
        limit_value=alarm.limit_value, degraded=alarm.degraded, source_provider=mode)


def _newer(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    return a is not None and (b is None or a > b)


def synthetic_changes(
    old: Mapping[str, pb.ActiveAlarmSnapshot], new: Mapping[str, pb.ActiveAlarmSnapshot], *,
    mode: pb.AlarmProviderMode = pb.AlarmProviderMode.UNSPECIFIED,
    now: dt.datetime | None = None,
) -> list[AlarmChange]:
    """The changes that turn the active set `old` into `new`, as synthetic transitions:
    CLEAR for an alarm gone (stamped `now`: when it went is unknown), RAISE for a new one
    (then ACKNOWLEDGE if it is acknowledged already), ACKNOWLEDGE for Active ->
    ActiveAcked, RETRIGGER for an alarm raised again (a later transition time, and
    unacknowledged, or acknowledged again: then ACKNOWLEDGE follows). Clears come first,
    then the others in the order they happened. An alarm whose other fields changed
    (value, degraded) makes no change here."""
    cleared_at = now or dt.datetime.now(dt.timezone.utc)
    clears = [AlarmChange(_synthetic(Kind.CLEAR, alarm, cleared_at, mode), alarm, None, True)
              for ref, alarm in sorted(old.items()) if ref not in new]
    timed: list[tuple[dt.datetime, str, list[AlarmChange]]] = []
    for ref, alarm in new.items():
        before = old.get(ref)
        when = alarm.last_transition_timestamp
        acked = alarm.current_state == State.ACTIVE_ACKED
        steps: list[AlarmChange] = []
        if before is None:
            kind: pb.AlarmTransitionKind | None = Kind.RAISE
        else:
            was_acked = before.current_state == State.ACTIVE_ACKED
            later = _newer(when, before.last_transition_timestamp)
            # Only a retrigger makes an acknowledged alarm unacknowledged again; a later
            # transition of an alarm acknowledged before and after is one too (then
            # acknowledged again), but Active -> ActiveAcked is the acknowledge alone.
            retriggered = (was_acked and not acked) or (later and (was_acked or not acked))
            kind = Kind.RETRIGGER if retriggered else None
        if kind is not None:
            raised = replace(alarm, current_state=State.ACTIVE, operator_comment="") \
                if acked else alarm
            steps.append(AlarmChange(_synthetic(kind, raised, when, mode), before, raised, True))
            before = raised
        if acked and (before is None or before.current_state != State.ACTIVE_ACKED):
            steps.append(AlarmChange(_synthetic(Kind.ACKNOWLEDGE, alarm, when, mode), before,
                                     alarm, True))
        if steps:
            timed.append((when or dt.datetime.min.replace(tzinfo=dt.timezone.utc), ref, steps))
    timed.sort(key=lambda item: (item[0], item[1]))
    return clears + [change for _, _, steps in timed for change in steps]


class AlarmView:
    """The active alarms under a reference prefix, kept current; iterate it for changes.

        async with client.alarm_view() as view:     # the first snapshot is taken here
            async for change in view:
                forward(change.transition, synthetic=change.synthetic)

    `active` is the active set as the changes delivered so far leave it (the snapshot the
    view opened with, then every change `async for` has yielded, applied in order);
    `provider` is the last provider status. After a lost connection or a GOAWAY the view
    reconnects (at once, then after `reconnect_backoff` seconds, doubling up to
    `max_reconnect_delay`, jittered; `max_reconnect_attempts` times in a row, None:
    forever), logging it under `mxgw.alarms`,
    takes the new snapshot and yields what changed in between as synthetic changes
    (`change.synthetic`, see `synthetic_changes`), before the live transitions that
    follow. The first open is not retried: an unreachable gateway, a missing scope or
    alarms disabled (UNAVAILABLE) raise at once. Leaving `async with`, `aclose()` (from
    any task) or cancelling the consumer closes the stream at once. `state`,
    `reconnects` and `last_event_at` are for an embedding service to export.
    """

    def __init__(self, client: GatewayClient, filter_prefix: str = "", *,
                 max_reconnect_attempts: int | None = 10, reconnect_backoff: float = 0.2,
                 max_reconnect_delay: float = 5.0) -> None:
        if not isinstance(filter_prefix, str):
            raise ConfigurationError("filter_prefix must be a string")
        if max_reconnect_attempts is not None and max_reconnect_attempts < 0:
            raise ConfigurationError("max_reconnect_attempts must be >= 0 (or None: forever)")
        if not (reconnect_backoff > 0 and max_reconnect_delay >= reconnect_backoff):
            raise ConfigurationError("reconnect_backoff must be > 0 and max_reconnect_delay "
                                     ">= reconnect_backoff")
        self._client = client
        self.filter_prefix = filter_prefix
        endpoint = client.options.endpoint
        self._feed: ReconnectingStream[pb.AlarmFeedMessage] = ReconnectingStream(
            "alarm view", filter_prefix or "all alarms", log, self._open_stream,
            client_closed=lambda: client.closed, retried=RESUMABLE,
            ended=lambda: ConnectionLostError("StreamAlarms: the gateway ended the alarm feed",
                                              endpoint),
            # the durable session's backoff: the (attempts + 1)th failure in a row gives up
            backoff=Backoff(reconnect_backoff, max_reconnect_delay,
                            None if max_reconnect_attempts is None
                            else max_reconnect_attempts + 1))
        self._active: dict[str, pb.ActiveAlarmSnapshot] = {}
        # The set as every change queued so far leaves it; `_active` catches up as the
        # queue is yielded, so `active` matches exactly what the consumer has seen.
        self._projected: dict[str, pb.ActiveAlarmSnapshot] = {}
        self._incoming: dict[str, pb.ActiveAlarmSnapshot] = {}
        self._pending: deque[AlarmChange] = deque()
        self._phase = "snapshot"
        """`snapshot` (collecting a stream's active alarms), `status` (marker seen, waiting
        for the provider status), `live`."""
        self._synced = False
        self.provider: pb.AlarmProviderStatus | None = None
        """The last provider status (mode, degraded, reason, since)."""

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open" if self._synced else "not opened"
        return (f"AlarmView(filter_prefix={self.filter_prefix!r}, "
                f"active={len(self._active)}, {state})")

    @property
    def active(self) -> Mapping[str, pb.ActiveAlarmSnapshot]:
        """The active alarms by full reference (read-only; see the class)."""
        return MappingProxyType(self._active)

    def by_urgency(self) -> list[pb.ActiveAlarmSnapshot]:
        """The active alarms, most urgent first (lowest severity number, unacknowledged
        first, latest first)."""
        return by_urgency(self._active.values())

    @property
    def closed(self) -> bool:
        """True once the view was closed or failed."""
        return self._feed.closed

    @property
    def reconnects(self) -> int:
        """How many times the view was back in sync on a new stream after a lost
        connection (counted once the new snapshot is in, not when an attempt starts)."""
        return self._feed.health.reconnects

    @property
    def state(self) -> DurableState:
        """CONNECTED (or opening), RECONNECTING, or CLOSED."""
        return self._feed.health.state

    @property
    def last_event_at(self) -> dt.datetime | None:
        """When the last change was delivered (UTC); None before the first."""
        return self._feed.last_event_at

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> AlarmView:
        """Take the first snapshot (and the provider status), unless already done.
        `async with` and the first `async for` call it."""
        while not self._synced:
            if self.closed:
                raise ConfigurationError("the alarm view is closed")
            self._handle(await self._receive())
        return self

    async def __aenter__(self) -> AlarmView:
        try:
            return await self.open()
        except BaseException:
            await self.aclose()
            raise

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the stream now. Safe from another task while one waits for the next
        change: that task's loop then ends."""
        await self._feed.aclose()

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> AlarmView:
        return self

    async def __anext__(self) -> AlarmChange:
        return await self._feed.reader.read(self._next)

    async def _next(self) -> AlarmChange:
        if self.closed and not self._synced:
            raise StopAsyncIteration
        await self.open()
        while not self._pending:
            if self.closed:
                raise StopAsyncIteration
            self._handle(await self._receive())
        change = self._pending.popleft()
        self._feed.health.delivered()
        if change.after is None:
            self._active.pop(change.reference, None)
        else:
            self._active[change.reference] = change.after
        return change

    # ------------------------------------------------------------------ the feed

    def _open_stream(self) -> AsyncGenerator[pb.AlarmFeedMessage, None]:
        self._phase = "snapshot"
        self._incoming = {}
        return cast(AsyncGenerator[pb.AlarmFeedMessage, None],
                    self._client.stream_alarms(self.filter_prefix))

    async def _receive(self) -> pb.AlarmFeedMessage:
        """The next feed message, reconnecting after a lost connection (not before the
        first snapshot: an unreachable gateway, a missing scope raise at once)."""
        return await self._feed.receive(lambda: self._synced)

    def _handle(self, message: pb.AlarmFeedMessage) -> None:
        """Take one feed message in: collect a snapshot, finish a resync, queue a change."""
        if message.active_alarm is not None:
            if self._phase == "snapshot":
                alarm = message.active_alarm
                self._incoming[alarm.alarm_full_reference] = alarm
            # (an active_alarm after the marker breaks the feed's order: ignored)
        elif message.snapshot_complete is not None:
            if self._phase == "snapshot":
                self._phase = "status"
        elif message.provider_status is not None:
            self.provider = message.provider_status
            if self._phase == "status":
                self._resync()
        elif message.transition is not None:
            if self._phase == "status":  # no provider status came after the marker
                self._resync()
            if self._phase == "live":
                self._queue(message.transition)

    def _queue(self, transition: pb.OnAlarmTransitionEvent) -> None:
        ref = transition.alarm_full_reference
        before = self._projected.get(ref)
        after = apply_transition(before, transition)
        if after is None:
            self._projected.pop(ref, None)
        else:
            self._projected[ref] = after
        self._pending.append(AlarmChange(transition, before, after))

    def _resync(self) -> None:
        """The new stream's snapshot is complete: adopt it (the first time) or queue what
        changed while the view was away."""
        self._phase = "live"
        self._feed.back("back in sync")  # (a reconnect counts from here)
        incoming, self._incoming = self._incoming, {}
        if not self._synced:
            self._active = dict(incoming)
            self._projected = dict(incoming)
            self._synced = True
            return
        mode = self.provider.mode if self.provider is not None else \
            pb.AlarmProviderMode.UNSPECIFIED
        changes = synthetic_changes(self._projected, incoming, mode=mode)
        self._pending.extend(changes)
        # Alarms that changed in other fields only (a value, degraded) take the new
        # snapshot at once: no change tells of them. The queue is empty here (the feed is
        # read only once it is), so `_active` is the projected set.
        changed = {change.reference for change in changes}
        for ref, alarm in incoming.items():
            if ref not in changed:
                self._active[ref] = alarm
        self._projected = dict(incoming)
