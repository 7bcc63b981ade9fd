"""Keeping a gateway session for a DurableSession: resume after a lost connection,
replace a lost session, re-advise after a replay gap, back off between failures."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from .._proto.mxaccess_gateway import v1 as pb
from ..errors import (
    AbortedError,
    ConfigurationError,
    FailedPreconditionError,
    MxGatewayError,
    NotFoundError,
    PermissionDeniedError,
    ReplayGapError,
    SessionLostError,
    SessionNotFoundError,
    SessionNotReadyError,
    UnauthenticatedError,
    UnimplementedError,
    WorkerUnavailableError,
)
from ..events import EventStream
from ..log import logger
from ..session import Session
from .backoff import Backoff
from .health import DurableState, Health, describe
from .markers import EventsLost, SessionReplaced
from .memory import Handles, Memory
from .replay import readvise, replay

if TYPE_CHECKING:
    from ..client import GatewayClient

log = logger("mxgw.durable")

SESSION_GONE = (NotFoundError, FailedPreconditionError, AbortedError, SessionNotFoundError,
                SessionNotReadyError, WorkerUnavailableError)
"""Failures that mean the gateway session is gone or unusable (the gateway restarted,
the session expired, was closed or faulted: the gateway aborts a faulted session's
stream and refuses to stream it again): it is replaced."""

FATAL = (UnauthenticatedError, PermissionDeniedError, UnimplementedError, ConfigurationError)
"""Failures no retry can cure (a wrong key or scope, a closed client): raised at once."""


class Recovery:
    """The live session of a durable session and what is done when it fails. The event
    stream (DurableEvents) reports failures here; commands ask `usable()` first."""

    def __init__(self, client: GatewayClient, name: str, backoff: Backoff,
                 close_timeout: float) -> None:
        self.client = client
        self.name = name
        self.backoff = backoff
        self.close_timeout = close_timeout
        self.session: Session | None = None
        self.handles = Handles()
        self.memory = Memory()
        self.health = Health()
        self.lock = asyncio.Lock()
        """Held while the remembered set-up changes (a command, a replay)."""
        self.lost: str | None = None
        """Why the session must be replaced (None while it is fine)."""
        self.readvise_pending = False
        self.closed = False
        self._orphans: list[Session] = []
        """Sessions opened but not taken into use (a replay that failed): to close."""
        self._stream_opened: float | None = None
        """When the current stream was opened; None once a failure was counted against it
        (or before the first): a stream's long life ends one outage, not every attempt."""

    @property
    def current(self) -> Session:
        assert self.session is not None, "the durable session was not opened"
        return self.session

    @property
    def session_id(self) -> str:
        return self.session.id if self.session is not None else ""

    # ------------------------------------------------------------------ commands

    def usable(self) -> tuple[Session, Handles]:
        """The live session and handles for a command; SessionLostError while the
        session is being replaced, ConfigurationError once closed."""
        if self.closed:
            raise ConfigurationError("the durable session is closed")
        if self.lost is not None:
            raise SessionLostError(self.session_id, self.lost)
        return self.current, self.handles

    # ------------------------------------------------------------------ opening

    async def start(self) -> None:
        """Open the first session, retrying as after any failure."""
        while True:
            try:
                self.session = await self.client.open_session(self.name)
                break
            except FATAL:
                raise
            except MxGatewayError as exc:
                await self._pause(exc, "opening a session")
        self.backoff.reset()
        log.info("durable session %r started in session %s", self.name, self.session.id)

    async def open_stream(self) -> EventStream:
        """A stream of the live session carrying on after the last event delivered; after
        a lost connection, once the gateway can be reached again."""
        if self.health.state is DurableState.RECONNECTING:
            await self.client.ensure_connected()
            self.health.reconnects += 1
            self.health.enter(DurableState.CONNECTED, self.session_id,
                              f"resuming after sequence {self.current.events_cursor.last_sequence}")
        if self.readvise_pending:  # after a replay gap: each item's current value
            async with self.lock:
                await readvise(self.current, self.handles, self.memory)
            self.readvise_pending = False
        self._stream_opened = time.monotonic()
        # No resume inside: a lost connection comes back here, to retry with backoff.
        return self.current.events(resume=False)

    # ------------------------------------------------------------------ failures

    async def connection_failed(self, exc: MxGatewayError) -> None:
        """The stream (or reaching the gateway) failed and the session may be fine: wait
        before the next attempt; raises `exc` once `max_attempts` are spent."""
        # Each stream is judged once, by the failure that ends it: the failed attempts to
        # reach the gateway after it open no stream and must count up (and back off).
        opened, self._stream_opened = self._stream_opened, None
        if opened is not None and time.monotonic() - opened > self.backoff.cap:
            self.backoff.reset()  # it had been streaming for a while: a new outage
        if self.health.state is DurableState.CONNECTED:
            log.warning("session %s: event stream lost (%s); resuming", self.session_id,
                        describe(exc))
        self.health.enter(DurableState.RECONNECTING, self.session_id, describe(exc))
        await self._pause(exc, "resuming the event stream")

    def session_lost(self, why: str) -> None:
        """The session is gone: the next step replaces it."""
        log.warning("session %s lost (%s); replacing it", self.session_id, why)
        self.lost = why
        self.health.enter(DurableState.REPLACING, self.session_id, why)

    def replay_gap(self, exc: ReplayGapError) -> EventsLost:
        """Events were lost in the live session: re-advise before streaming again."""
        log.warning("session %s: events after %d are gone (replay gap); advising again for "
                    "a fresh snapshot", self.session_id, exc.requested_after)
        self.readvise_pending = True
        return EventsLost(self.session_id, exc.requested_after, exc.oldest_available)

    def delivered(self, event: pb.MxEvent) -> pb.MxEvent:
        """An event arrived: the outage, if any, is over; the event in the caller's
        handles."""
        self.health.delivered()
        if self.backoff.failures:
            self.backoff.reset()
        return self.handles.translate(event)

    async def _pause(self, exc: MxGatewayError, doing: str) -> None:
        self.health.failed(exc)
        delay = self.backoff.failed()
        if delay is None:
            log.error("durable session %r: giving up %s after %d failed attempts in a row "
                      "(%s)", self.name, doing, self.backoff.failures, describe(exc))
            raise exc
        failures = self.backoff.failures
        # A long outage is reported now and then (after 2, 4, 8... failures), not each time.
        level = logging.WARNING if failures > 1 and failures & (failures - 1) == 0 \
            else logging.DEBUG
        log.log(level, "durable session %r: %s failed %d time(s) in a row (%s); next "
                "attempt in %.2f s", self.name, doing, failures, describe(exc), delay)
        await asyncio.sleep(delay)

    # ------------------------------------------------------------------ replacing

    async def replace(self) -> SessionReplaced:
        """Open a new session and replay everything into it, retrying until it works;
        the marker that says so."""
        old, old_handles, why = self.current, self.handles, self.lost or "lost"
        last_sequence = old.events_cursor.last_sequence
        await self._close_quietly(old)  # a faulted session still holds a gateway worker
        while True:
            try:
                restored = await self._open_and_replay()
                break
            except FATAL:
                raise
            except MxGatewayError as exc:
                await self._pause(exc, "replacing the session")
        new = self.current
        self.lost = None
        self.readvise_pending = False  # the replay advised everything afresh
        self.backoff.reset()
        self.health.replacements += 1
        self.health.enter(DurableState.CONNECTED, new.id, f"replaced {old.id}")
        marker = SessionReplaced(
            old.id, new.id, why, last_sequence,
            server_handles=_changes(old_handles.live_servers(), self.handles.live_servers()),
            item_handles=_changes(
                {h: i for h, (_, i) in old_handles.live_items().items()},
                {h: i for h, (_, i) in self.handles.live_items().items()}),
            unrestored_items=tuple(restored))
        log.info("session %s replaced by %s: %d registration(s), %d item(s) restored, "
                 "%d not", old.id, new.id, len(marker.server_handles),
                 len(self.handles.live_items()), len(marker.unrestored_items))
        return marker

    async def _open_and_replay(self) -> list[int]:
        for orphan in list(self._orphans):
            if await self._close_quietly(orphan):
                self._orphans.remove(orphan)
        async with self.lock:
            new = await self.client.open_session(self.name)
            try:
                restored = await replay(new, self.memory)
            except BaseException:
                self._orphans.append(new)
                raise
            self.session, self.handles = new, restored.handles
        return restored.unrestored

    # ------------------------------------------------------------------ closing

    async def _close_quietly(self, session: Session) -> bool:
        """CloseSession within `close_timeout`, failures ignored; True if the gateway
        answered (a session it no longer knows included)."""
        try:
            await asyncio.wait_for(
                self.client.with_timeout(self.close_timeout).close_session_raw(session.id),
                self.close_timeout)
        except (MxGatewayError, asyncio.TimeoutError) as exc:
            log.debug("session %s not closed (%s)", session.id, describe(exc))
            return False
        return True

    async def close(self) -> None:
        """Close the live session and any left open by a failed replay."""
        self.closed = True
        self.health.enter(DurableState.CLOSED, self.session_id, "closed")
        sessions = [*self._orphans, *([self.session] if self.session else [])]
        self._orphans.clear()
        if not self.client.closed:
            for session in sessions:
                await self._close_quietly(session)


def _changes(old: dict[int, int], new: dict[int, int]) -> dict[int, int]:
    """The gateway's handles old -> new, for the caller's handles in both."""
    return {old[h]: new[h] for h in new if h in old}
