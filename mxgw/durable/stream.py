"""DurableEvents: a durable session's events, with markers, that end only when closed."""

from __future__ import annotations

import weakref
from types import TracebackType
from typing import TYPE_CHECKING

from .._proto.mxaccess_gateway import v1 as pb
from ..errors import MxGatewayError, ReplayGapError
from ..events import EventStream, StreamReader
from .health import describe
from .markers import EventsLost, SessionReplaced
from .recovery import FATAL, SESSION_GONE, Recovery

if TYPE_CHECKING:
    from .session import DurableSession

DurableEvent = pb.MxEvent | SessionReplaced | EventsLost
"""What a durable stream yields: an event, or a marker saying what happened between."""


class DurableEvents:
    """A durable session's events, in order, across lost connections and sessions.

        async with durable.events() as events:
            async for event in events:
                if isinstance(event, mxgw.SessionReplaced): ...  # once per new session
                elif isinstance(event, mxgw.EventsLost): ...     # a replay gap
                else: ...                                        # an MxEvent

    It ends only when it or its DurableSession is closed (or the client is), or on a
    failure no retry can cure (UnauthenticatedError, PermissionDeniedError...), or when
    `max_attempts` failed attempts in a row are spent. `aclose()` and the session's
    `close()` may be called from another task: the reader's loop then ends at once.
    """

    def __init__(self, durable: DurableSession, recovery: Recovery,
                 previous: DurableEvents | None) -> None:
        self._durable = weakref.ref(durable)
        self._recovery = recovery
        self._previous = previous
        self._stream: EventStream | None = None
        self._closed = False
        self._reader = StreamReader()

    def __repr__(self) -> str:
        return (f"DurableEvents(session_id={self._recovery.session_id!r}, "
                f"{'closed' if self.closed else 'open'})")

    @property
    def closed(self) -> bool:
        """True once this stream was closed (or superseded by the next `events()`)."""
        return self._closed or self._recovery.closed

    def __aiter__(self) -> DurableEvents:
        return self

    async def __aenter__(self) -> DurableEvents:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading: the reader's loop (in any task) ends; the session stays."""
        self._closed = True
        await self._reader.interrupt()
        await self._drop()

    async def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()

    async def __anext__(self) -> DurableEvent:
        return await self._reader.read(self._next)  # aclose() from another task ends it

    def _superseded(self) -> bool:
        durable = self._durable()
        return durable is None or durable._events_ref() is not self

    async def _next(self) -> DurableEvent:
        previous, self._previous = self._previous, None
        if previous is not None and not previous._closed:
            await previous.aclose()
        recovery = self._recovery
        while True:
            if self.closed or self._superseded() or recovery.client.closed:
                self._closed = True
                await self._drop()
                raise StopAsyncIteration
            if recovery.lost is not None:
                await self._drop()
                return await recovery.replace()  # retries until done (or raises)
            try:
                if self._stream is None:
                    self._stream = await recovery.open_stream()
                event = await self._stream.__anext__()
            except StopAsyncIteration:
                self._stream = None
                if not (self.closed or recovery.client.closed):
                    # The gateway ended the stream: it closed the session.
                    recovery.session_lost("the gateway ended the session's event stream")
                continue
            except ReplayGapError as exc:
                self._stream = None
                return recovery.replay_gap(exc)
            except SESSION_GONE as exc:
                await self._drop()
                recovery.session_lost(describe(exc))
                continue
            except FATAL:
                await self._drop()
                if recovery.client.closed:
                    continue  # ends quietly above
                raise
            except MxGatewayError as exc:
                await self._drop()
                if not recovery.client.closed:
                    await recovery.connection_failed(exc)
                continue
            return recovery.delivered(event)
