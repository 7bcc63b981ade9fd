"""One server stream kept going across lost connections and GOAWAY: the part the alarm
view (`mxgw.alarms`) and the deploy watch (`mxgw.deploys`) share.

Each of them reads feed messages through `ReconnectingStream.receive`, which opens the
stream as needed and, after a failure worth retrying, waits the durable session's backoff
and opens it again, keeping the health an embedding service exports (`state`,
`reconnects`, `last_event_at`). What a new stream means (a snapshot to compare, a deploy
state to check) is the reader's; it calls `back()` once the new stream is in use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

from .durable.backoff import Backoff
from .durable.health import DurableState, Health, describe
from .errors import MxGatewayError
from .events import StreamReader

MessageT = TypeVar("MessageT")

__all__ = ["ReconnectingStream"]


class ReconnectingStream(Generic[MessageT]):
    """A server stream opened again after a lost connection, with backoff and health.

    `what` ("alarm view") and `label` (what it follows: a prefix, an endpoint) name it
    in the log and the health. `open_stream` makes a new stream; `client_closed` says
    whether the connection went because its client was closed (then the stream just
    ends); `retried` are the failures after which it is opened again; `ended` is the
    failure to raise for a stream that ended, which a feed that never ends on its own
    only does when the gateway goes away.
    """

    def __init__(self, what: str, label: str, log: logging.Logger,
                 open_stream: Callable[[], AsyncIterator[MessageT]], *,
                 client_closed: Callable[[], bool], retried: tuple[type[BaseException], ...],
                 ended: Callable[[], MxGatewayError], backoff: Backoff) -> None:
        self.what, self.label, self._log = what, label, log
        self._open_stream = open_stream
        self._client_closed = client_closed
        self._retried: tuple[type[BaseException], ...] = (*retried, StopAsyncIteration)
        self._ended = ended
        self.backoff = backoff
        self.health = Health(what, log)
        self.reader = StreamReader()
        """Which task reads: `aclose()` from another one stops it."""
        self.closed = False
        self.fresh = False
        """True from opening a stream until the reader calls `back()`."""
        self._stream: AsyncIterator[MessageT] | None = None

    @property
    def last_event_at(self) -> dt.datetime | None:
        return self.health.last_event_at

    def finish(self, why: str) -> None:
        """Closed for good (`why` goes to the log and the health)."""
        self.closed = True
        self.health.enter(DurableState.CLOSED, self.label, why)

    async def aclose(self) -> None:
        """Close the stream now; safe from another task while one waits in `receive`."""
        self.finish("closed")
        await self.reader.interrupt()
        await self.drop_stream()

    async def drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()  # type: ignore[attr-defined]  # an async generator

    def back(self, why: str) -> None:
        """The current stream is in use again: the backoff starts over and, after a lost
        connection, the reconnect is counted (once it got through, not as it starts: a
        caller waiting for a reconnect then knows the new connection exists)."""
        self.fresh = False
        self.backoff.reset()
        if self.health.state is DurableState.RECONNECTING:
            self.health.reconnects += 1
            self.health.enter(DurableState.CONNECTED, self.label, why)

    async def receive(self, may_retry: Callable[[], bool]) -> MessageT:
        """The next message, opening the stream (again) as needed. A failure is raised
        when `may_retry()` says no (a first open is not retried) or the backoff gives up."""
        while True:
            if self.closed:
                raise StopAsyncIteration
            if self._stream is None:
                self._stream = self._open_stream()
                self.fresh = True
            try:
                return await self._stream.__anext__()
            except asyncio.CancelledError:
                self._stream = None  # the generator reset the HTTP/2 stream on its way out
                raise
            except self._retried as exc:
                await self.drop_stream()
                if self._client_closed():
                    self.finish("the client was closed")
                    raise StopAsyncIteration from None
                failure = exc if not isinstance(exc, StopAsyncIteration) else self._ended()
                await self._pause(failure, may_retry())
            except BaseException:  # a reply too large, a malformed message...
                self._stream = None
                self.finish("failed")
                raise

    async def _pause(self, failure: BaseException, may_retry: bool) -> None:
        """Wait before opening again after `failure`, or raise it."""
        self.health.failed(failure)
        delay = self.backoff.failed()
        if not may_retry or delay is None:
            if delay is None:
                self._log.error("%s (%s): giving up after %d failed attempts in a row (%s)",
                                self.what, self.label, self.backoff.failures,
                                describe(failure))
            self.finish(describe(failure))
            raise failure from None
        if self.health.state is DurableState.CONNECTED:
            self._log.warning("%s (%s): stream lost (%s); reconnecting", self.what,
                              self.label, describe(failure))
        else:
            self._log.debug("%s (%s): attempt %d failed (%s); next in %.2f s", self.what,
                            self.label, self.backoff.failures, describe(failure), delay)
        self.health.enter(DurableState.RECONNECTING, self.label, describe(failure))
        await asyncio.sleep(delay)
