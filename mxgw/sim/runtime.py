"""The simulated gateway's state: its sessions, their leases and the janitor that ends them."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._proto.mxaccess_gateway import v1 as pb
from ..log import logger
from .alarms import AlarmMonitor
from .event_log import EventLimits
from .faults import FaultConfig
from .galaxy import GalaxyModel
from .session import SimSession
from .tag_values import TagStore
from .users import Users

log = logger("mxgw.sim")

LEASE_EXPIRED = "lease-expired"
DETACH_GRACE_EXPIRED = "detach-grace-expired"
CLOSED_BY_CLIENT = "closed-by-client"
SERVER_SHUTDOWN = "gateway-shutdown"
_REMEMBERED_CLOSED = 4096


@dataclass(frozen=True)
class RuntimeConfig:
    """Timing and limits of the simulated gateway (defaults: the real gateway's)."""

    first_value_delay: float = 0.05
    """Seconds from Advise to the first OnDataChange (3-8 s on a real cold binding)."""
    write_complete_delay: float = 0.005
    """Seconds from an accepted write to its OnWriteComplete."""
    write_pending_first: bool = False
    """Report each accepted write first as Pending, then its result (as MXAccess may)."""
    event_rate: float = 1.0
    """Multiplier of how often changing attributes change (2.0: twice as often; 0: only
    writes change values)."""
    max_sessions: int = 64
    max_pending_commands: int = 128
    """Commands of one session in flight at once; more are RESOURCE_EXHAUSTED."""
    max_bulk: int = 5000
    """Entries per bulk command; more are INVALID_REQUEST (the client must split)."""
    max_message_bytes: int = 16 * 1024 * 1024
    """Largest accepted request message (any RPC); larger ones are RESOURCE_EXHAUSTED."""
    read_timeout_ms: int = 5000
    """ReadBulk's wait for a first value when the request says 0."""
    lease_seconds: float = 1800.0
    """A session unused (no unary call, no attached stream) this long is closed."""
    detach_grace_seconds: float = 30.0
    """A session whose last event stream dropped is closed after this long."""
    events: EventLimits = field(default_factory=EventLimits)
    alarms: bool = True
    """Run the central alarm monitor (False: the alarm RPCs answer UNAVAILABLE)."""
    alarm_rate: float = 0.2
    """Automatic alarm transitions a second (0: alarms change only by hand, through
    `GatewayRuntime.alarms`)."""

    def __post_init__(self) -> None:
        for name in ("max_sessions", "max_pending_commands", "max_bulk", "max_message_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        for name in ("first_value_delay", "write_complete_delay", "lease_seconds",
                     "detach_grace_seconds", "event_rate", "read_timeout_ms", "alarm_rate"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


class GatewayRuntime:
    """All sessions of one simulated gateway, and the janitor timers that end them."""

    def __init__(self, galaxy: GalaxyModel, config: RuntimeConfig | None = None,
                 tags: TagStore | None = None, faults: FaultConfig | None = None) -> None:
        self.galaxy = galaxy
        self.config = config or RuntimeConfig()
        self.tags = tags or TagStore(self.config.event_rate)
        self.faults = faults or FaultConfig()
        self.users = Users()
        self.alarms = AlarmMonitor(galaxy, self.tags, enabled=self.config.alarms,
                                   rate=self.config.alarm_rate,
                                   queue_capacity=self.config.events.queue_capacity)
        """The central alarm monitor; drive alarms by hand with its raise_alarm,
        clear_alarm, retrigger_alarm, acknowledge, fail_over and fail_back."""
        self.sessions: dict[str, SimSession] = {}
        self.closed: OrderedDict[str, tuple[pb.SessionState, str]] = OrderedDict()
        """Recently closed sessions: id -> (final state, reason)."""
        self._timers: set[asyncio.TimerHandle] = set()
        self.encode_events: bool = True
        """Keep each session's events encoded (False: as messages, for a variant
        contract, whose extra fields are added as they are sent)."""

    # ------------------------------------------------------------------ sessions

    def open_session(self, name: str) -> SimSession:
        if len(self.sessions) >= self.config.max_sessions:
            raise GRPCError(Status.RESOURCE_EXHAUSTED,
                            f"all {self.config.max_sessions} sessions of the gateway are in use")
        session = SimSession(self, name)
        self.sessions[session.id] = session
        self.renew(session)
        log.info("session %s opened (%s)", session.id, name)
        return session

    def close_session(self, session_id: str,
                      reason: str = CLOSED_BY_CLIENT) -> tuple[pb.SessionState, str] | None:
        """Close a session (idempotent): its final state and reason, None if never known."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            return self.closed.get(session_id)
        session.close(reason)
        self.alarms.unsubscribe_session(session)
        self.closed[session_id] = (pb.SessionState.CLOSED, session.reason)
        while len(self.closed) > _REMEMBERED_CLOSED:
            self.closed.popitem(last=False)
        log.info("session %s closed (%s)", session_id, session.reason)
        return self.closed[session_id]

    def find(self, session_id: str) -> SimSession | None:
        """An open (READY or FAULTED) session."""
        return self.sessions.get(session_id)

    def fault_session(self, session_id: str, reason: str = "fault injected") -> bool:
        """Fault a READY session (its stream is cut, commands get SESSION_NOT_READY)."""
        session = self.sessions.get(session_id)
        return session is not None and session.fault(reason)

    def start(self) -> None:
        """Start what runs on its own: automatic alarm transitions, injected failovers."""
        self.alarms.start()
        self._schedule_failover()

    def _schedule_failover(self) -> None:
        every = self.faults.alarm_failover_every
        if every > 0 and self.alarms.enabled:
            self._call_later(every, self._switch_alarm_provider)

    def _switch_alarm_provider(self) -> None:
        """The injected alarm failover: SUBTAG and back in turn, until the fault is off."""
        if self.faults.alarm_failover_every > 0 \
                and self.alarms.status.mode != pb.AlarmProviderMode.SUBTAG:
            self.alarms.fail_over("injected failover: alarm manager unreachable")
        else:
            self.alarms.fail_back("injected failover over: alarm manager restored")
        self._schedule_failover()

    def shutdown(self) -> None:
        self.alarms.stop()
        for session_id in list(self.sessions):
            self.close_session(session_id, SERVER_SHUTDOWN)
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    # ------------------------------------------------------------------ janitor

    def _call_later(self, delay: float, callback: Callable[..., None], *args: Any) -> None:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            callback(*args)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def renew(self, session: SimSession) -> None:
        """Renew the session's lease (any unary call); arms the lease timer once."""
        loop = asyncio.get_running_loop()
        first = session.lease_deadline == 0.0
        session.lease_deadline = loop.time() + self.config.lease_seconds
        if first:
            self._call_later(self.config.lease_seconds, self._check_lease, session.id)

    # The janitor's timers name a session by id, not the object: a closed session (its
    # event ring with it) must not stay in memory until its lease timer fires, 30 min on.

    def _check_lease(self, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            return
        now = asyncio.get_running_loop().time()
        if session.events.subscribed:  # an attached stream keeps renewing the lease
            session.lease_deadline = now + self.config.lease_seconds
        if now >= session.lease_deadline:
            self.close_session(session.id, LEASE_EXPIRED)
            return
        self._call_later(session.lease_deadline - now, self._check_lease, session.id)

    def attached(self, session: SimSession) -> None:
        """An event stream attached: the detach grace (if running) is over."""
        session.detach_epoch += 1
        self.renew(session)

    def detached(self, session: SimSession) -> None:
        """The event stream dropped: close the session unless one attaches within the grace."""
        session.detach_epoch += 1
        if self.sessions.get(session.id) is not session:
            return
        self.renew(session)
        self._call_later(self.config.detach_grace_seconds, self._check_detached, session.id,
                         session.detach_epoch)

    def _check_detached(self, session_id: str, epoch: int) -> None:
        session = self.sessions.get(session_id)
        if session is not None and session.detach_epoch == epoch \
                and not session.events.subscribed:
            self.close_session(session_id, DETACH_GRACE_EXPIRED)
