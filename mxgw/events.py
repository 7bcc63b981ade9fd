"""The resumable event iterator: sequence tracking, reconnect with resume, replay gaps."""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from ._proto.mxaccess_gateway import v1 as pb
from .contract.events import is_replay_gap
from .errors import (
    AlreadyExistsError,
    ConfigurationError,
    ConnectError,
    ConnectionLostError,
    ReplayGapError,
    ResourceExhaustedError,
    UnavailableError,
)
from .log import logger

if TYPE_CHECKING:
    from .client import GatewayClient

log = logger("mxgw.events")

RESUMABLE = (ConnectionLostError, ConnectError, UnavailableError, ResourceExhaustedError)
"""Failures after which the stream is reopened with `after_worker_sequence`
(RESOURCE_EXHAUSTED: the gateway cut off a subscriber that fell behind)."""


class ResumeCursor:
    """Where a session's event stream stands, owned by the Session and shared by each of
    its EventStreams in turn: the gateway streams a session's events to one subscriber,
    so one position describes them all."""

    def __init__(self) -> None:
        self.last_sequence = 0
        """The worker_sequence of the last event delivered on this session."""
        self.gap: pb.ReplayGap | None = None
        """The replay gap the last stream hit (its position is then meaningless)."""
        self.maybe_stale = False
        """True when a stream of ours on this session was just closed: the gateway may
        not have seen it go yet, so one ALREADY_EXISTS is retried, not raised."""
        self.opened = False
        """True once a stream of this session was opened."""
        self._current: weakref.ref[EventStream] | None = None
        """The last stream opened (weakly: an abandoned one is closed when collected)."""

    def start(self, stream: EventStream) -> EventStream | None:
        """Make `stream` the current one; returns the one it replaces."""
        previous = self._current() if self._current is not None else None
        self._current = weakref.ref(stream)
        return previous

    def resume_point(self) -> int:
        """Where a new stream carries on: after the last event delivered, unless the last
        stream hit a replay gap."""
        return 0 if self.gap is not None else self.last_sequence


ItemT = TypeVar("ItemT")


class OurStreams:
    """The event streams a client opened, by session id, across its Session objects.

    The gateway streams a session's events to one subscriber. When our last stream of a
    session is gone (left with a bare `break` on another Session object of the same id,
    say: its finalizer resets it), a new one may meet ALREADY_EXISTS once, while the
    gateway has not seen the old one go; a stream of ours that is still open is a real
    second subscriber."""

    MAX_SESSIONS = 4096
    """Session ids remembered (the oldest are forgotten first)."""

    def __init__(self) -> None:
        self._open: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._sessions: OrderedDict[str, None] = OrderedDict()

    def opened(self, stream: EventStream) -> None:
        self._open.add(stream)
        self._sessions[stream.session_id] = None
        self._sessions.move_to_end(stream.session_id)
        while len(self._sessions) > self.MAX_SESSIONS:
            self._sessions.popitem(last=False)

    def gone(self, session_id: str, but: EventStream) -> bool:
        """Whether we streamed this session's events before and no stream of ours but
        `but` is open on it now."""
        return session_id in self._sessions and not any(
            s is not but and s.session_id == session_id and not s.closed
            for s in list(self._open))


class StreamReader:
    """Which task reads an EventStream, so `aclose()` from another task can stop it."""

    def __init__(self) -> None:
        self.task: asyncio.Task[object] | None = None
        self.interrupted = False
        self._cancelling = 0
        """The reader's cancel requests before our interrupt: grpclib cancels a reading
        task when its connection is lost and never withdraws that request."""
        self._left: asyncio.Event | None = None
        """Set when the reader leaves; made only by an interrupt (not per event)."""

    def enter(self) -> None:
        if self.task is not None:
            raise RuntimeError("this EventStream is already being read by another task")
        self.task = asyncio.current_task()

    def leave(self) -> None:
        self.task = None
        left, self._left = self._left, None
        if left is not None:
            left.set()

    async def interrupt(self) -> None:
        """Cancel another task's wait for the next event (which resets the HTTP/2 stream
        inside the generator) and wait until its loop has ended."""
        task = self.task
        if task is not None and task is not asyncio.current_task() and not task.done():
            self.interrupted = True
            cancelling = getattr(task, "cancelling", None)  # Python 3.11+
            self._cancelling = cancelling() if cancelling is not None else 0
            task.cancel()
            if self._left is None:
                self._left = asyncio.Event()
            await self._left.wait()

    def own_cancel(self) -> bool:
        """After CancelledError: True if it was our interrupt alone (withdrawn now)."""
        if not self.interrupted:
            return False
        self.interrupted = False
        uncancel = getattr(self.task, "uncancel", None)  # Python 3.11+; 3.10 does not count
        return uncancel is None or uncancel() <= self._cancelling

    async def read(self, next_item: Callable[[], Awaitable[ItemT]]) -> ItemT:
        """`await next_item()` as this task's read: an `aclose()` from another task ends
        it as StopAsyncIteration; any other cancel goes on."""
        self.enter()
        try:
            return await next_item()
        except asyncio.CancelledError:
            if not self.own_cancel():
                raise  # someone else cancelled this task
            raise StopAsyncIteration from None  # aclose() from another task
        finally:
            self.leave()


class EventStream:
    """A session's events as an async iterator.

        async with session.events() as events:
            async for event in events:
                ...

    Tracks the last `worker_sequence` delivered; when the connection drops (or the
    gateway sends GOAWAY) it reopens the stream with `after_worker_sequence` so no event
    is lost or repeated. A first open that cannot connect at all (refused, or no HTTP/2
    within `connect_timeout`) raises ConnectError at once: there is nothing to resume.
    If the gateway no longer holds the missing events it raises
    ReplayGapError: drop your state and take a fresh snapshot. Leaving the `async with`
    block, `aclose()` or cancelling the consuming task resets the HTTP/2 stream at once
    and leaves the session usable. (A bare `async for` that breaks out without
    `async with` leaves the stream to be closed when the iterator is garbage collected,
    or when the Session opens its next stream.)
    """

    def __init__(
        self,
        client: GatewayClient,
        session_id: str,
        cursor: ResumeCursor,
        after_worker_sequence: int | None = None,
        *,
        resume: bool = True,
        max_resume_attempts: int = 5,
        resume_backoff: float = 0.2,
    ) -> None:
        if after_worker_sequence is not None and after_worker_sequence < 0:
            raise ConfigurationError("after_worker_sequence must be >= 0")
        if max_resume_attempts < 0 or resume_backoff < 0:
            raise ConfigurationError("max_resume_attempts and resume_backoff must be >= 0")
        self._client = client
        self._session_id = session_id
        self._cursor = cursor
        self._previous = cursor.start(self)
        # A stream opened before on this session and already collected (a bare `async for`
        # left with `break`) was reset by its finalizer: the gateway may not know yet.
        self._after_abandoned = self._previous is None and cursor.opened
        cursor.last_sequence = (cursor.resume_point() if after_worker_sequence is None
                                else after_worker_sequence)
        cursor.gap = None
        self.last_sequence = cursor.last_sequence
        """The worker_sequence of the last event this stream delivered (where it started
        before the first)."""
        self.resumes = 0
        """How many times the stream was reopened after a dropped connection."""
        self.replay_gap: pb.ReplayGap | None = None
        """The gap reported by the gateway, once ReplayGapError was raised."""
        self._resume = resume
        self._max_attempts = max_resume_attempts
        self._backoff = resume_backoff
        self._stream: AsyncGenerator[pb.MxEvent, None] | None = None
        self._closed = False
        self._opened = False
        self._received = False
        """True once the gateway sent this stream an event."""
        self._reader = StreamReader()
        self._previous_checked = False
        """True once the first read closed the stream this one replaces."""

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (f"EventStream(session_id={self._session_id!r}, "
                f"last_sequence={self.last_sequence}, {state})")

    @property
    def closed(self) -> bool:
        """True once the stream was closed or ended."""
        return self._closed

    @property
    def session_id(self) -> str:
        """The session whose events these are."""
        return self._session_id

    def __aiter__(self) -> EventStream:
        return self

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying stream now; the session stays open.

        Safe to call from another task while one is waiting for the next event: that
        task's loop then ends (StopAsyncIteration)."""
        self._closed = True
        await self._reader.interrupt()
        await self._drop_stream()

    async def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()

    async def _close_previous(self) -> None:
        previous, self._previous = self._previous, None
        if self._after_abandoned or (previous is not None and previous._opened) or \
                self._client.event_streams.gone(self._session_id, self):
            self._cursor.maybe_stale = True
        if previous is not None and previous._opened and not previous._closed:
            await previous.aclose()

    async def __anext__(self) -> pb.MxEvent:
        return await self._reader.read(self._next)

    def _open(self) -> AsyncGenerator[pb.MxEvent, None]:
        log.debug("session %s: opening the event stream after sequence %d",
                  self._session_id, self._cursor.last_sequence)
        stream = self._client.stream_events_raw(self._session_id, self._cursor.last_sequence)
        self._opened = self._cursor.opened = True
        self._client.event_streams.opened(self)
        return stream  # type: ignore[return-value]

    async def _next(self) -> pb.MxEvent:
        if not self._previous_checked:
            # once, not per event: what it finds out matters only to an ALREADY_EXISTS,
            # which comes before the first event (and every reopen is marked stale anyway)
            self._previous_checked = True
            await self._close_previous()
        cursor = self._cursor
        attempts = 0
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._stream is None:
                self._stream = self._open()
            try:
                event = await self._stream.__anext__()
            except asyncio.CancelledError:
                # The generator has already reset the HTTP/2 stream on its way out.
                self._stream = None
                cursor.maybe_stale = True
                raise
            except (*RESUMABLE, AlreadyExistsError) as exc:
                await self._drop_stream()
                if self._client.closed:  # the connection went because the client closed
                    self._closed = True
                    raise StopAsyncIteration from None
                # A first open that cannot connect (refused, no HTTP/2 within the connect
                # timeout) had no stream to resume: retrying it would only multiply the
                # connect timeout.
                never_open = attempts == 0 and not self._received and \
                    isinstance(exc, ConnectError)
                attempts += 1
                # ALREADY_EXISTS right after one of our streams went: the gateway has not
                # yet seen it go. Otherwise it is a real second subscriber.
                stale = isinstance(exc, AlreadyExistsError) and cursor.maybe_stale
                retry = stale or (self._resume and not never_open
                                  and not isinstance(exc, AlreadyExistsError))
                if not retry or attempts > self._max_attempts:
                    self._closed = True
                    if retry:
                        log.warning("session %s: event stream not resumed after %d attempts "
                                    "(%s)", self._session_id, attempts - 1, exc)
                    raise
                cursor.maybe_stale = True
                await asyncio.sleep(self._backoff * (attempts - 1))  # the first at once
                if stale:
                    log.debug("session %s: the gateway still sees our last stream; "
                              "opening again", self._session_id)
                else:
                    self.resumes += 1
                    log.info("session %s: resuming the event stream after sequence %d "
                             "(%s)", self._session_id, cursor.last_sequence, exc)
                continue
            except BaseException:  # the end of the stream, a reply too large, ...
                self._stream = None
                self._closed = True
                raise
            if is_replay_gap(event):
                gap = event.replay_gap
                assert gap is not None
                self.replay_gap = cursor.gap = gap
                log.warning("session %s: replay gap: the events after sequence %d are gone "
                            "(the oldest available is %d)", self._session_id,
                            gap.requested_after_sequence, gap.oldest_available_sequence)
                await self.aclose()
                raise ReplayGapError(gap.requested_after_sequence,
                                     gap.oldest_available_sequence)
            self._received = True
            if cursor.last_sequence and event.worker_sequence <= cursor.last_sequence:
                continue  # already delivered before a resume
            cursor.last_sequence = self.last_sequence = event.worker_sequence
            return event
