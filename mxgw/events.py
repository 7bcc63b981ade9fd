"""The resumable event iterator: sequence tracking, reconnect with resume, replay gaps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import TYPE_CHECKING

from ._proto.mxaccess_gateway import v1 as pb
from .errors import (
    AlreadyExistsError,
    ConfigurationError,
    ConnectError,
    ConnectionLostError,
    ReplayGapError,
    ReplyTooLargeError,
    ResourceExhaustedError,
    UnavailableError,
)

if TYPE_CHECKING:
    from .client import GatewayClient

RESUMABLE = (ConnectionLostError, ConnectError, UnavailableError, ResourceExhaustedError)
"""Failures after which the stream is reopened with `after_worker_sequence`
(RESOURCE_EXHAUSTED: the gateway cut off a subscriber that fell behind)."""


class EventStream:
    """A session's events as an async iterator.

        async with session.events() as events:
            async for event in events:
                ...

    Tracks the last `worker_sequence` delivered; when the connection drops (or the
    gateway sends GOAWAY) it reopens the stream with `after_worker_sequence` so no event
    is lost or repeated. If the gateway no longer holds the missing events it raises
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
        after_worker_sequence: int = 0,
        *,
        resume: bool = True,
        max_resume_attempts: int = 5,
        resume_backoff: float = 0.2,
        supersedes: EventStream | None = None,
    ) -> None:
        if after_worker_sequence < 0:
            raise ConfigurationError("after_worker_sequence must be >= 0")
        if max_resume_attempts < 0 or resume_backoff < 0:
            raise ConfigurationError("max_resume_attempts and resume_backoff must be >= 0")
        self._client = client
        self._session_id = session_id
        self.last_sequence = after_worker_sequence
        """The worker_sequence of the last event delivered (`after_worker_sequence` before
        the first)."""
        self.resumes = 0
        """How many times the stream was reopened after a dropped connection."""
        self.replay_gap: pb.ReplayGap | None = None
        """The gap reported by the gateway, once ReplayGapError was raised."""
        self._resume = resume
        self._max_attempts = max_resume_attempts
        self._backoff = resume_backoff
        self._stream: AsyncGenerator[pb.MxEvent, None] | None = None
        self._closed = False
        self._busy = False
        self._reader: asyncio.Task[object] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._interrupted = False
        self._opened = False
        self._supersedes = supersedes
        self._may_be_stale = False
        """True when a stream of ours on this session was just closed: the gateway may
        not have seen it go yet, so one ALREADY_EXISTS is retried, not raised."""

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (f"EventStream(session_id={self._session_id!r}, "
                f"last_sequence={self.last_sequence}, {state})")

    @property
    def closed(self) -> bool:
        """True once the stream was closed or ended."""
        return self._closed

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
        reader = self._reader
        if reader is not None and reader is not asyncio.current_task() and not reader.done():
            # Another task waits in __anext__: cancel its wait (which resets the HTTP/2
            # stream inside the generator) and let it end its loop quietly.
            self._interrupted = True
            reader.cancel()
            await self._idle.wait()
        await self._drop_stream()

    async def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()

    async def _close_superseded(self) -> None:
        previous, self._supersedes = self._supersedes, None
        if previous is not None and previous._opened:
            self._may_be_stale = True
            if not previous._closed:
                await previous.aclose()

    async def __anext__(self) -> pb.MxEvent:
        if self._busy:
            raise RuntimeError("this EventStream is already being read by another task")
        self._busy = True
        self._reader = asyncio.current_task()
        self._idle.clear()
        try:
            return await self._next()
        except asyncio.CancelledError:
            if not self._interrupted:
                raise
            self._interrupted = False  # our own cancel, from aclose() in another task
            if not _uncancel(self._reader):
                raise  # someone else cancelled this task too
            raise StopAsyncIteration from None
        finally:
            self._busy = False
            self._reader = None
            self._idle.set()

    async def _next(self) -> pb.MxEvent:
        await self._close_superseded()
        attempts = 0
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._stream is None:
                self._stream = self._client.stream_events_raw(  # type: ignore[assignment]
                    self._session_id, self.last_sequence
                )
                self._opened = True
            assert self._stream is not None
            try:
                event = await self._stream.__anext__()
            except asyncio.CancelledError:
                # The generator has already reset the HTTP/2 stream on its way out.
                self._stream = None
                self._may_be_stale = True
                raise
            except StopAsyncIteration:
                self._stream = None
                self._closed = True
                raise
            except ReplyTooLargeError:
                self._stream = None
                self._closed = True
                raise
            except (*RESUMABLE, AlreadyExistsError) as exc:
                await self._drop_stream()
                if self._client.closed:  # the connection went because the client closed
                    self._closed = True
                    raise StopAsyncIteration from None
                attempts += 1
                # ALREADY_EXISTS right after one of our streams went: the gateway has not
                # yet seen it go. Otherwise it is a real second subscriber.
                stale = isinstance(exc, AlreadyExistsError) and self._may_be_stale
                retry = stale or (self._resume and not isinstance(exc, AlreadyExistsError))
                if not retry or attempts > self._max_attempts:
                    self._closed = True
                    raise
                self._may_be_stale = True
                await asyncio.sleep(self._backoff * (attempts - 1))  # the first at once
                if not stale:
                    self.resumes += 1
                continue
            except BaseException:
                self._stream = None
                self._closed = True
                raise
            if event.replay_gap is not None and event.family == pb.MxEventFamily.UNSPECIFIED:
                self.replay_gap = event.replay_gap
                await self.aclose()
                raise ReplayGapError(
                    event.replay_gap.requested_after_sequence,
                    event.replay_gap.oldest_available_sequence,
                )
            if self.last_sequence and event.worker_sequence <= self.last_sequence:
                continue  # already delivered before a resume
            self.last_sequence = event.worker_sequence
            return event


def _uncancel(task: asyncio.Task[object] | None) -> bool:
    """Withdraw the one cancel request aclose() made; False if others are pending too."""
    uncancel = getattr(task, "uncancel", None)  # Python 3.11+; 3.10 does not count
    return uncancel is None or uncancel() == 0
