"""The simulated gateway's state: sessions, MXAccess handles, advise loops and commands."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._proto.mxaccess_gateway import v1 as pb
from . import wire
from .events import EventLimits, EventLog
from .galaxy import SECURED_WRITE, VERIFIED_WRITE, VIEW_ONLY, GalaxyModel, Resolved, ResolveError
from .tags import TagState, TagStore

log = logging.getLogger("mxgw.sim")

K = pb.MxCommandKind
E_INVALIDARG = -2147024809  # 0x80070057
E_FAIL = -2147467259  # 0x80004005
MX_E_FAILURE = -2147220992  # 0x80040200

# MXAccess detail codes.
WRONG_DATA_TYPE, NOT_WRITEABLE, SECURED_WRITE_DETAIL, VERIFIED_WRITE_DETAIL = 13, 1007, 1012, 1013
INDEX_OUT_OF_RANGE = 1003


@dataclass(frozen=True)
class RuntimeConfig:
    """Timing and limits of the simulated gateway."""

    first_value_delay: float = 0.05
    """Seconds from Advise to the first OnDataChange (3-8 s on a real cold binding)."""
    write_complete_delay: float = 0.005
    max_sessions: int = 64
    lease_seconds: float = 1800.0
    detach_grace_seconds: float = 30.0
    events: EventLimits = field(default_factory=EventLimits)


class CommandFailure(Exception):
    """An MXAccess failure to report as data (hresult, statuses)."""

    def __init__(self, hresult: int, message: str,
                 statuses: list[pb.MxStatusProxy] | None = None) -> None:
        super().__init__(message)
        self.hresult = hresult
        self.statuses = statuses or [wire.status(wire.CAT_OPERATIONAL, wire.SRC_REQUESTING_LMX,
                                                 text=message)]


@dataclass
class Item:
    """An item added to a server handle."""

    handle: int
    server_handle: int
    reference: str
    context: str
    resolved: Resolved | None
    error: ResolveError | None
    buffered: bool = False
    advised: bool = False
    supervisory: bool = False
    suspended: bool = False
    type_resolved: bool = False
    task: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    state: TagState | None = None
    pending_value: Any = None


class SimSession:
    """One MXAccess session (one worker process on a real gateway)."""

    def __init__(self, runtime: GatewayRuntime, name: str) -> None:
        self.runtime = runtime
        self.id = f"session-{secrets.token_hex(16)}"
        self.name = name
        self.state = pb.SessionState.READY
        self.events = EventLog(self.id, runtime.config.events)
        self.registrations: dict[int, str] = {}
        self.items: dict[int, Item] = {}
        self._next_server_handle = 1
        self._next_item_handle = 1
        self.last_activity = time.monotonic()
        self.detached_at: float | None = time.monotonic()
        self.buffered_interval_ms = 1000

    # ------------------------------------------------------------------ events

    def emit(self, family: pb.MxEventFamily, item: Item | None, **body: Any) -> None:
        event = pb.MxEvent(
            family=family,
            server_handle=item.server_handle if item else 0,
            item_handle=item.handle if item else 0,
            **body,
        )
        self.events.emit(event)
        if self.events.overflowed and self.state != pb.SessionState.FAULTED:
            log.warning("session %s faulted: event queue overflow", self.id)
            self.fault()

    def fault(self) -> None:
        self.state = pb.SessionState.FAULTED
        self._stop_items()

    def _stop_items(self) -> None:
        for item in self.items.values():
            self._stop_advise(item)

    def close(self) -> None:
        self._stop_items()
        self.items.clear()
        self.state = pb.SessionState.CLOSED
        self.events.fail(GRPCError(Status.CANCELLED, "session closed"))

    # ------------------------------------------------------------------ handles

    def server_handle(self, handle: int) -> str:
        if handle not in self.registrations:
            raise CommandFailure(E_INVALIDARG, f"unknown server handle {handle}")
        return self.registrations[handle]

    def item(self, server_handle: int, item_handle: int) -> Item:
        self.server_handle(server_handle)
        item = self.items.get(item_handle)
        if item is None or item.server_handle != server_handle:
            raise CommandFailure(E_INVALIDARG, f"unknown item handle {item_handle}")
        return item

    def register(self, client_name: str) -> int:
        handle = self._next_server_handle
        self._next_server_handle += 1
        self.registrations[handle] = client_name
        return handle

    def unregister(self, server_handle: int) -> None:
        self.server_handle(server_handle)
        for handle in [h for h, i in self.items.items() if i.server_handle == server_handle]:
            self._stop_advise(self.items.pop(handle))
        del self.registrations[server_handle]

    def add_item(self, server_handle: int, reference: str, context: str = "",
                 buffered: bool = False) -> Item:
        self.server_handle(server_handle)
        if not reference.strip():
            raise CommandFailure(E_INVALIDARG, "empty item reference")
        resolved: Resolved | None = None
        error: ResolveError | None = None
        try:
            resolved = self.runtime.galaxy.resolve(reference)
        except ResolveError as exc:
            error = exc  # AddItem succeeds; the failure shows in the data change.
        item = Item(self._next_item_handle, server_handle, reference, context, resolved, error,
                    buffered=buffered)
        if resolved is not None:
            item.state = self.runtime.tags.state(resolved.obj, resolved.attribute)
        self._next_item_handle += 1
        self.items[item.handle] = item
        return item

    def remove_item(self, server_handle: int, item_handle: int) -> None:
        item = self.item(server_handle, item_handle)
        self._stop_advise(item)
        del self.items[item_handle]

    # ------------------------------------------------------------------ advise

    def advise(self, item: Item, supervisory: bool) -> None:
        item.supervisory = item.supervisory or supervisory
        if item.advised:
            return
        item.advised = True
        item.task = asyncio.get_running_loop().create_task(self._advise_loop(item))

    def _stop_advise(self, item: Item) -> None:
        item.advised = False
        if item.state is not None:
            item.state.listeners.discard(item.changed.set)
        if item.task is not None:
            item.task.cancel()
            item.task = None

    def unadvise(self, item: Item) -> None:
        self._stop_advise(item)
        item.supervisory = False

    def current(self, item: Item) -> tuple[pb.MxValue, int, dt.datetime, list[pb.MxStatusProxy]]:
        """The item's value, quality, timestamp and statuses as a data change reports them."""
        now = dt.datetime.now(dt.timezone.utc)
        if item.error is not None or item.resolved is None or item.state is None:
            detail = item.error.detail if item.error else 6
            category = wire.CAT_CONFIGURATION
            return (wire.null_value(), wire.QUALITY_BAD, now,
                    [wire.status(category, wire.SRC_RESPONDING_LMX, detail,
                                 str(item.error) if item.error else "unresolved")])
        state = self.runtime.tags.state(item.resolved.obj, item.resolved.attribute)
        attribute = item.resolved.attribute
        value: Any = state.value
        if item.resolved.index is not None:
            if item.resolved.index > len(state.value):
                return (wire.null_value(), wire.QUALITY_BAD, now,
                        [wire.status(wire.CAT_CONFIGURATION, wire.SRC_RESPONDING_AO,
                                     INDEX_OUT_OF_RANGE, "index out of range")])
            value = state.value[item.resolved.index - 1]
        return (wire.to_mx(value, attribute.data_type), wire.QUALITY_GOOD, state.timestamp,
                [wire.status()])

    def _emit_data_change(self, item: Item) -> None:
        value, quality, timestamp, statuses = self.current(item)
        if item.buffered:
            self.emit(pb.MxEventFamily.ON_BUFFERED_DATA_CHANGE, item,
                      on_buffered_data_change=pb.OnBufferedDataChangeEvent(
                          data_type=value.data_type,
                          samples=[pb.BufferedSample(value=value, quality=quality,
                                                     timestamp=timestamp)],
                          statuses=statuses))
        else:
            self.emit(pb.MxEventFamily.ON_DATA_CHANGE, item,
                      on_data_change=pb.OnDataChangeEvent(
                          value=value, quality=quality, source_timestamp=timestamp,
                          statuses=statuses))
        item.type_resolved = item.error is None

    async def _advise_loop(self, item: Item) -> None:
        await asyncio.sleep(self.runtime.config.first_value_delay)
        if item.state is not None:
            item.state.listeners.add(item.changed.set)
        self._emit_data_change(item)
        while item.state is not None:
            item.changed.clear()
            wait = self.runtime.tags.next_change_in(item.state)
            if item.buffered:
                wait = self.buffered_interval_ms / 1000.0 if wait is not None else wait
            if wait is None:
                await item.changed.wait()
            else:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(item.changed.wait(), wait + 0.001)
            if not item.suspended:
                self._emit_data_change(item)

    # ------------------------------------------------------------------ writes

    def write(self, item: Item, value: pb.MxValue, *, user_id: int, verifier_id: int,
              secured: bool, timestamp: dt.datetime | None) -> None:
        """Validate a write now; apply it and report OnWriteComplete shortly after."""
        if item.resolved is None or not item.type_resolved or item.state is None:
            raise CommandFailure(E_INVALIDARG,
                                 "the item's type is not resolved yet (no data change so far)")
        status = self._write_status(item, value, user_id, verifier_id, secured)
        asyncio.get_running_loop().call_later(
            self.runtime.config.write_complete_delay, self._complete_write, item, value,
            status, timestamp)

    def _write_status(self, item: Item, value: pb.MxValue, user_id: int, verifier_id: int,
                      secured: bool) -> pb.MxStatusProxy:
        assert item.resolved is not None
        attribute = item.resolved.attribute
        users = self.runtime.users
        if attribute.security == VIEW_ONLY:
            return wire.status(wire.CAT_SECURITY, wire.SRC_RESPONDING_AO, NOT_WRITEABLE,
                               "attribute is not writeable")
        if not item.supervisory:
            if attribute.security == SECURED_WRITE and not (secured and users.valid(user_id)):
                return wire.status(wire.CAT_SECURITY, wire.SRC_RESPONDING_AO,
                                   SECURED_WRITE_DETAIL, "SecuredWrite: use WriteSecured")
            if attribute.security == VERIFIED_WRITE:
                if not (secured and users.valid(user_id)):
                    return wire.status(wire.CAT_SECURITY, wire.SRC_RESPONDING_AO,
                                       VERIFIED_WRITE_DETAIL, "VerifiedWrite: use WriteSecured "
                                       "with a verifier")
                if not users.can_verify(verifier_id) or verifier_id == user_id:
                    return wire.status(wire.CAT_SECURITY, wire.SRC_RESPONDING_AO, 1017,
                                       "verifier lacks verify rights")
        try:
            item.pending_value = self._coerce(item, value)
        except wire.WrongType as exc:
            return wire.status(wire.CAT_OPERATIONAL, wire.SRC_RESPONDING_AO, WRONG_DATA_TYPE,
                               f"cannot convert {exc} to {attribute.name}'s type")
        return wire.status(wire.CAT_OK, wire.SRC_RESPONDING_AO)

    def _coerce(self, item: Item, value: pb.MxValue) -> Any:
        assert item.resolved is not None and item.state is not None
        attribute = item.resolved.attribute
        if item.resolved.index is not None:
            scalar = wire.coerce(value, attribute.data_type, False)
            current = list(item.state.value)
            if item.resolved.index > len(current):
                raise wire.WrongType("index out of range")
            current[item.resolved.index - 1] = scalar
            return current
        if value.sparse_array_value is not None and attribute.is_array:
            sparse = value.sparse_array_value
            result = [wire.default_value(attribute.data_type)] * sparse.total_length
            for element in sparse.elements:
                if element.index >= sparse.total_length or element.value is None:
                    raise wire.WrongType("sparse index out of range")
                result[element.index] = wire.coerce(element.value, attribute.data_type, False)
            return result
        return wire.coerce(value, attribute.data_type, attribute.is_array)

    def _complete_write(self, item: Item, value: pb.MxValue, status: pb.MxStatusProxy,
                        timestamp: dt.datetime | None) -> None:
        if self.state != pb.SessionState.READY:
            return
        if status.raw_category == wire.CAT_OK and item.state is not None:
            self.runtime.tags.write(item.state, item.pending_value)
            if timestamp is not None:
                item.state.timestamp = timestamp
        self.emit(pb.MxEventFamily.ON_WRITE_COMPLETE, item,
                  on_write_complete=pb.OnWriteCompleteEvent(statuses=[status]))


class Users:
    """Simulated users: name -> (password, id, may verify)."""

    def __init__(self) -> None:
        self._users = {
            "operator": ("operator", 101, False),
            "supervisor": ("supervisor", 102, True),
            "engineer": ("engineer", 103, True),
        }
        self._guids = {f"00000000-0000-0000-0000-{uid:012d}": uid
                       for _, uid, _ in self._users.values()}

    def authenticate(self, user_name: str, password: str) -> int | None:
        name = user_name.split("\\")[-1].lower()
        found = self._users.get(name)
        return found[1] if found and found[0] == password else None

    def valid(self, user_id: int) -> bool:
        return any(uid == user_id for _, uid, _ in self._users.values())

    def can_verify(self, user_id: int) -> bool:
        return any(uid == user_id and verify for _, uid, verify in self._users.values())

    def from_guid(self, guid: str) -> int | None:
        return self._guids.get(guid.lower())


class GatewayRuntime:
    """All sessions of one simulated gateway."""

    def __init__(self, galaxy: GalaxyModel, config: RuntimeConfig | None = None,
                 tags: TagStore | None = None) -> None:
        self.galaxy = galaxy
        self.config = config or RuntimeConfig()
        self.tags = tags or TagStore()
        self.users = Users()
        self.sessions: dict[str, SimSession] = {}
        self.closed_sessions: dict[str, pb.SessionState] = {}

    def open_session(self, name: str) -> SimSession:
        live = [s for s in self.sessions.values() if s.state != pb.SessionState.CLOSED]
        if len(live) >= self.config.max_sessions:
            raise GRPCError(Status.RESOURCE_EXHAUSTED,
                            f"the gateway's {self.config.max_sessions} sessions are in use")
        session = SimSession(self, name)
        self.sessions[session.id] = session
        log.info("session %s opened (%s)", session.id, name)
        return session

    def close_session(self, session_id: str) -> pb.SessionState | None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return self.closed_sessions.get(session_id)
        session.close()
        self.closed_sessions[session_id] = pb.SessionState.CLOSED
        log.info("session %s closed", session_id)
        return pb.SessionState.CLOSED

    def find(self, session_id: str) -> SimSession | None:
        session = self.sessions.get(session_id)
        if session is not None:
            session.last_activity = time.monotonic()
        return session

    def shutdown(self) -> None:
        for session_id in list(self.sessions):
            self.close_session(session_id)
