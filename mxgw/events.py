"""The resumable event iterator: sequence tracking, reconnect with resume, replay gaps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING

from ._proto.mxaccess_gateway import v1 as pb
from .errors import ConnectionLostError, ReplayGapError, UnavailableError

if TYPE_CHECKING:
    from .client import GatewayClient

RESUMABLE = (ConnectionLostError, UnavailableError)


class EventStream:
    """A session's events as an async iterator.

    Tracks the last `worker_sequence`; when the connection drops it reopens the stream
    with `after_worker_sequence` so no event is lost or repeated. If the gateway no
    longer holds the missing events it raises ReplayGapError: drop your state and take
    a fresh snapshot. Break, `aclose()` or cancelling the task closes the stream at once
    and leaves the session usable.
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
    ) -> None:
        self._client = client
        self._session_id = session_id
        self.last_sequence = after_worker_sequence
        """The worker_sequence of the last event delivered (0 before the first)."""
        self.resumes = 0
        """How many times the stream was reopened after a dropped connection."""
        self._resume = resume
        self._max_attempts = max_resume_attempts
        self._backoff = resume_backoff
        self._stream: AsyncIterator[pb.MxEvent] | None = None
        self._closed = False

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
        """Close the underlying stream; the session stays open."""
        self._closed = True
        await self._drop_stream()

    async def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()  # type: ignore[attr-defined]

    async def __anext__(self) -> pb.MxEvent:
        attempts = 0
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._stream is None:
                self._stream = self._client.stream_events_raw(self._session_id, self.last_sequence)
            try:
                event = await self._stream.__anext__()
            except StopAsyncIteration:
                self._stream = None
                self._closed = True
                raise
            except RESUMABLE:
                await self._drop_stream()
                attempts += 1
                if not self._resume or attempts > self._max_attempts:
                    raise
                self.resumes += 1
                await asyncio.sleep(self._backoff * attempts)
                continue
            if event.replay_gap is not None and event.family == pb.MxEventFamily.UNSPECIFIED:
                await self.aclose()
                raise ReplayGapError(
                    event.replay_gap.requested_after_sequence,
                    event.replay_gap.oldest_available_sequence,
                )
            if event.worker_sequence <= self.last_sequence and self.last_sequence:
                continue  # already delivered before a resume
            self.last_sequence = event.worker_sequence
            return event
