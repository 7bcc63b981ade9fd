"""One simulated MXAccess session: handles, items, advise loops, writes and its events."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._proto.mxaccess_gateway import v1 as pb
from ..contract import codec
from ..log import logger
from .event_log import EventLog
from .galaxy import Resolved, ResolveError
from .mx_status import (
    CAT_CONFIGURATION,
    CAT_OK,
    CAT_OPERATIONAL,
    CAT_PENDING,
    SRC_REQUESTING_LMX,
    SRC_RESPONDING_AO,
    SRC_RESPONDING_LMX,
    status,
)
from .mx_values import QUALITY_BAD, QUALITY_GOOD, null_value, to_mx
from .tag_values import Listener, TagState
from .write_checks import USER_LACKS_RIGHTS, WriteOutcome, write_outcome

__all__ = ["E_FAIL", "E_INVALIDARG", "MX_E_FAILURE", "USER_LACKS_RIGHTS", "CommandFailure",
           "Item", "SimSession"]

if TYPE_CHECKING:
    from .runtime import GatewayRuntime

log = logger("mxgw.sim")

E_INVALIDARG = -2147024809  # 0x80070057
E_FAIL = -2147467259  # 0x80004005
MX_E_FAILURE = -2147220992  # 0x80040200

# MXAccess detail codes (MxStatusProxy.detail) of a bad reference or array index.
INVALID_REFERENCE, INDEX_OUT_OF_RANGE = 6, 1003


class CommandFailure(Exception):
    """An MXAccess failure to report as data (hresult, statuses)."""

    def __init__(self, hresult: int, message: str,
                 statuses: list[pb.MxStatusProxy] | None = None) -> None:
        super().__init__(message)
        self.hresult = hresult
        self.statuses = statuses or [status(CAT_OPERATIONAL, SRC_REQUESTING_LMX, text=message)]


@dataclass(eq=False)
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
    """Set by the first data change of a resolvable item; writes before it fail."""
    timer: asyncio.Handle | None = None
    """The advise's next step: the first value, the next change or buffered flush."""
    listener: Listener | None = None
    """Told when the item's value changes off schedule (a write), once it has reported."""
    next_flush: float = 0.0
    """Loop time of the next OnBufferedDataChange of a buffered item."""
    state: TagState | None = None
    seen_version: int = -1
    samples: list[pb.BufferedSample] = field(default_factory=list)


class SimSession:
    """One MXAccess session (one worker process on a real gateway)."""

    def __init__(self, runtime: GatewayRuntime, name: str) -> None:
        self.runtime = runtime
        self.id = f"session-{secrets.token_hex(16)}"
        self.name = name
        self.state = pb.SessionState.READY
        self.reason = ""
        """Why the session faulted or closed."""
        self.events = EventLog(self.id, runtime.config.events,
                               codec.encode if runtime.encode_events else None)
        self.registrations: dict[int, str] = {}
        self.items: dict[int, Item] = {}
        self._next_server_handle = 1
        self._next_item_handle = 1
        self.buffered_interval_ms = 1000
        self.pending_commands = 0
        self.commands_run = 0
        self.lease_deadline = 0.0
        self.detach_epoch = 0
        """Bumped on every attach and detach, so a stale grace timer does nothing."""

    @property
    def live(self) -> bool:
        return self.state not in (pb.SessionState.CLOSED, pb.SessionState.FAULTED)

    # ------------------------------------------------------------------ lifecycle

    def emit(self, family: pb.MxEventFamily, item: Item | None, **body: Any) -> None:
        """Send one event of this session (dropped once it is no longer READY)."""
        if self.state != pb.SessionState.READY:
            return
        self.events.emit(pb.MxEvent(
            family=family,
            server_handle=item.server_handle if item else 0,
            item_handle=item.handle if item else 0,
            **body,
        ))
        if self.events.overflowed:
            self.fault("event queue overflow")

    def fault(self, reason: str) -> bool:
        """READY -> FAULTED: stop every item and cut the subscriber off. False if not READY."""
        if self.state != pb.SessionState.READY:
            return False
        log.warning("session %s faulted: %s", self.id, reason)
        self.state = pb.SessionState.FAULTED
        self.reason = reason
        self._stop_items()
        self.events.fail(GRPCError(Status.ABORTED, f"session faulted: {reason}"))
        return True

    def close(self, reason: str) -> None:
        """Any state -> CLOSED; the subscriber's stream ends once drained."""
        if self.state == pb.SessionState.CLOSED:
            return
        self.state = pb.SessionState.CLOSING
        self._stop_items()
        self.items.clear()
        self.registrations.clear()
        self.state = pb.SessionState.CLOSED
        self.reason = self.reason or reason
        self.events.end()

    def _stop_items(self) -> None:
        for item in self.items.values():
            self._stop_advise(item)

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

    def advised_items(self) -> dict[str, Item]:
        """Items advised in this session that have reported a value, by reference (lower)."""
        return {item.reference.strip().lower(): item for item in self.items.values()
                if item.advised and item.type_resolved}

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
        """Add an item; an unknown reference is added too and fails in its data change."""
        self.server_handle(server_handle)
        if not reference.strip():
            raise CommandFailure(E_INVALIDARG, "empty item reference")
        resolved: Resolved | None = None
        error: ResolveError | None = None
        try:
            resolved = self.runtime.galaxy.resolve(reference)
        except ResolveError as exc:
            error = exc
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
        item.timer = asyncio.get_running_loop().call_later(
            self.runtime.config.first_value_delay, self._first_value, item)

    def _stop_advise(self, item: Item) -> None:
        item.advised = False
        if item.state is not None and item.listener is not None:
            item.state.listeners.discard(item.listener)
        item.listener = None
        if item.timer is not None:
            item.timer.cancel()
            item.timer = None

    def unadvise(self, item: Item) -> None:
        self._stop_advise(item)
        item.supervisory = False
        item.samples.clear()

    def set_suspended(self, item: Item, suspended: bool) -> None:
        """Suspend or Activate: pause or resume updates; OperationComplete follows."""
        item.suspended = suspended
        if not suspended and item.listener is not None:
            item.listener()  # report what changed while suspended
        asyncio.get_running_loop().call_soon(
            lambda: self.emit(pb.MxEventFamily.OPERATION_COMPLETE, item,
                              operation_complete=pb.OperationCompleteEvent(
                                  statuses=[status()])))

    def current(self, item: Item) -> tuple[pb.MxValue, int, dt.datetime, list[pb.MxStatusProxy]]:
        """The item's value, quality, timestamp and statuses as a data change reports them."""
        if item.resolved is None or item.state is None:
            detail = item.error.detail if item.error else INVALID_REFERENCE
            return (null_value(), QUALITY_BAD, dt.datetime.now(dt.timezone.utc),
                    [status(CAT_CONFIGURATION, SRC_RESPONDING_LMX, detail,
                            str(item.error) if item.error else "unresolved")])
        state = self.runtime.tags.refresh(item.state)
        attribute = item.resolved.attribute
        value: Any = state.value
        if item.resolved.index is not None:
            if item.resolved.index > len(state.value):
                return (null_value(), QUALITY_BAD, dt.datetime.now(dt.timezone.utc),
                        [status(CAT_CONFIGURATION, SRC_RESPONDING_AO, INDEX_OUT_OF_RANGE,
                                f"{item.reference}: the array has {len(state.value)} "
                                "elements")])
            value = state.value[item.resolved.index - 1]
        return to_mx(value, attribute.data_type), QUALITY_GOOD, state.timestamp, [status()]

    def _report(self, item: Item) -> None:
        """Report the item's current value: a data change, or a buffered sample."""
        value, quality, timestamp, statuses = self.current(item)
        if item.state is not None:
            item.seen_version = item.state.version
        if item.buffered:
            item.samples.append(pb.BufferedSample(value=value, quality=quality,
                                                  timestamp=timestamp))
            if not item.type_resolved:
                self._flush(item, statuses)  # the first value is not held back
        else:
            self.emit(pb.MxEventFamily.ON_DATA_CHANGE, item,
                      on_data_change=pb.OnDataChangeEvent(
                          value=value, quality=quality, source_timestamp=timestamp,
                          statuses=statuses))
        item.type_resolved = item.type_resolved or (item.resolved is not None
                                                    and quality == QUALITY_GOOD)

    def _flush(self, item: Item, statuses: list[pb.MxStatusProxy] | None = None) -> None:
        """Send the samples gathered since the last flush as one OnBufferedDataChange."""
        if not item.samples:
            return
        samples, item.samples = item.samples, []
        first = samples[0].value
        data_type = first.data_type if first is not None else pb.MxDataType.UNSPECIFIED
        self.emit(pb.MxEventFamily.ON_BUFFERED_DATA_CHANGE, item,
                  on_buffered_data_change=pb.OnBufferedDataChangeEvent(
                      data_type=data_type, samples=samples,
                      statuses=statuses or [status()]))

    # An advised item is a chain of loop callbacks, not a task: a task waiting on an event
    # with a timeout costs a task, a future and a timer per change (about a fifth of the
    # simulator's CPU in cProfile while it streamed 1,000 changing tags).

    def _first_value(self, item: Item) -> None:
        """The first data change, first_value_delay after the advise."""
        item.timer = None
        state = item.state
        if state is not None:
            item.listener = functools.partial(self._changed, item)
            state.listeners.add(item.listener)
        self._report(item)
        if state is None or not item.advised:
            return  # an unresolved reference reports once; a fault stops every item
        item.next_flush = asyncio.get_running_loop().time() + self.buffered_interval_ms / 1000.0
        self._schedule(item, state)

    def _schedule(self, item: Item, state: TagState) -> None:
        """Arm the next step: the attribute's next change or the next buffered flush (an
        attribute changed only by writes waits for its listener)."""
        loop = asyncio.get_running_loop()
        wait = self.runtime.tags.next_change_in(state)
        if item.buffered:
            until_flush = max(0.0, item.next_flush - loop.time())
            wait = until_flush if wait is None else min(wait, until_flush)
        if wait is not None:
            item.timer = loop.call_later(wait + 0.001, self._step, item)

    def _changed(self, item: Item) -> None:
        """The value changed off schedule: take the next step in the next pass of the loop."""
        if item.timer is not None:
            item.timer.cancel()
        item.timer = asyncio.get_running_loop().call_soon(self._step, item)

    def _step(self, item: Item) -> None:
        """Report a change (unless suspended) and flush buffered samples when due."""
        item.timer = None
        state = item.state
        assert state is not None  # only a resolved item takes steps
        self.runtime.tags.refresh(state)
        if not item.suspended and state.version != item.seen_version:
            self._report(item)
        if item.buffered:
            now = asyncio.get_running_loop().time()
            if now >= item.next_flush:
                self._flush(item)
                item.next_flush = now + self.buffered_interval_ms / 1000.0
        if item.advised:  # a report may fault the session, which stops every item
            self._schedule(item, state)

    # ------------------------------------------------------------------ writes

    def write(self, item: Item, value: pb.MxValue | None, *, user_id: int, verifier_id: int,
              secured: bool, timestamp: dt.datetime | None) -> None:
        """Accept a write now (or raise CommandFailure); OnWriteComplete reports its result."""
        if value is None:
            raise CommandFailure(E_INVALIDARG, "a write needs a value")
        if item.resolved is None or item.state is None or not item.type_resolved:
            raise CommandFailure(E_INVALIDARG,
                                 f"{item.reference}: the item's type is not resolved yet "
                                 "(no good data change so far): advise it first, and write "
                                 "after its first value")
        outcome = write_outcome(item.resolved, item.state.value, supervisory=item.supervisory,
                                secured=secured, value=value, users=self.runtime.users,
                                user_id=user_id, verifier_id=verifier_id)
        loop = asyncio.get_running_loop()
        if self.runtime.config.write_pending_first:
            pending = status(CAT_PENDING, SRC_RESPONDING_AO, text="pending")
            loop.call_soon(self._report_write, item, pending)
        loop.call_later(self.runtime.config.write_complete_delay, self._complete_write, item,
                        outcome, timestamp)

    def _complete_write(self, item: Item, outcome: WriteOutcome,
                        timestamp: dt.datetime | None) -> None:
        if self.state != pb.SessionState.READY:
            return
        if outcome.ok and item.state is not None:
            self.runtime.tags.write(item.state, outcome.applied_to(item.state.value))
            if timestamp is not None:
                item.state.timestamp = timestamp
        self._report_write(item, outcome.status)

    def _report_write(self, item: Item, status: pb.MxStatusProxy) -> None:
        """OnWriteComplete, unless the item was removed meanwhile (MXAccess forbids that)."""
        if self.items.get(item.handle) is not item:
            log.warning("session %s: item %d removed before its OnWriteComplete", self.id,
                        item.handle)
            return
        failed = status.raw_category not in (CAT_OK, CAT_PENDING)
        self.emit(pb.MxEventFamily.ON_WRITE_COMPLETE, item,
                  hresult=MX_E_FAILURE if failed else 0,
                  on_write_complete=pb.OnWriteCompleteEvent(statuses=[status]))
