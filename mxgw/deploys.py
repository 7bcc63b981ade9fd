"""The deploy watch: Galaxy deploys, followed across lost connections and GOAWAY.

    async with galaxy.deploy_watch() as watch:
        async for change in watch:          # the current state, then one per deploy
            print(change.event.sequence, change.synthetic)

WatchDeployEvents has no resume position: a new stream opens with the current deploy
state (unless it is the `last_seen_deploy_time` asked for), then one event per deploy.
So every stream the watch opens asks for the current state, and the first message says
the stream is up: after a reconnect, a state that differs from the last one known comes
out once, marked `synthetic` (it stands for every deploy made while the watch was away);
the same state is not repeated.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from ._proto.galaxy_repository import v1 as gr
from .durable.backoff import Backoff
from .durable.health import DurableState, Health
from .durable.recovery import describe
from .errors import ConnectionLostError, DeadlineExceededError
from .events import RESUMABLE, StreamReader

if TYPE_CHECKING:
    from .galaxy import GalaxyRepositoryClient

log = logging.getLogger("mxgw.galaxy")

RETRIED = (*RESUMABLE, DeadlineExceededError)
"""Failures after which the watch opens a new stream (a gateway that restarts may not
answer the connect in time)."""

__all__ = ["DeployChange", "DeployWatch"]


@dataclass(frozen=True)
class DeployChange:
    """One deploy notification: the gateway's DeployEvent, and whether it is the state
    found on reconnecting (`synthetic`: it stands for the deploys made while the watch
    was away, whose own events were not received)."""

    event: gr.DeployEvent
    synthetic: bool = False

    @property
    def time_of_last_deploy(self) -> dt.datetime | None:
        """When the Galaxy was last deployed (UTC), None if never."""
        return _deployed(self.event)


def _deployed(event: gr.DeployEvent) -> dt.datetime | None:
    return event.time_of_last_deploy if event.time_of_last_deploy_present else None


class DeployWatch:
    """Galaxy deploys as an async iterator of DeployChange, kept going across lost
    connections and GOAWAY (`GalaxyRepositoryClient.deploy_watch`).

    It yields the current deploy state (unless it is `last_seen_deploy_time`), then one
    change per deploy. After a lost connection it reconnects (at once, then after
    `backoff` seconds doubling up to `max_backoff`, jittered; forever unless
    `max_attempts` failures in a row) and yields the state found then, once, marked
    `synthetic`, if a deploy was made meanwhile; nothing is repeated. The first open is
    not retried: an unreachable gateway or a missing scope raise at once. `state`,
    `reconnects` and `last_event_at` are for an embedding service to export. Leaving
    `async with`, `aclose()` (from any task) or cancelling the consumer closes the
    stream at once.
    """

    def __init__(self, galaxy: GalaxyRepositoryClient,
                 last_seen_deploy_time: dt.datetime | None = None, *,
                 max_attempts: int | None = None, backoff: float = 0.2,
                 max_backoff: float = 10.0) -> None:
        if last_seen_deploy_time is not None:
            from .contract import checks
            last_seen_deploy_time = checks.aware_utc("last_seen_deploy_time",
                                                     last_seen_deploy_time)
        self._galaxy = galaxy
        self._last_seen = last_seen_deploy_time
        self._backoff = Backoff(backoff, max_backoff, max_attempts)
        self._health = Health("deploy watch", log)
        self._stream: AsyncIterator[gr.DeployEvent] | None = None
        self._fresh = False
        """True until the current stream's first message (the current state) came."""
        self._known: gr.DeployEvent | None = None
        """The last deploy state received (delivered, or skipped as already seen)."""
        self._closed = False
        self._reader = StreamReader()

    def __repr__(self) -> str:
        return f"DeployWatch({self._galaxy.options.endpoint!r}, {self.state.value})"

    # ------------------------------------------------------------------ health

    @property
    def state(self) -> DurableState:
        """CONNECTED (or opening), RECONNECTING, or CLOSED."""
        return self._health.state

    @property
    def reconnects(self) -> int:
        """Times a stream was opened again after a lost connection."""
        return self._health.reconnects

    @property
    def last_event_at(self) -> dt.datetime | None:
        """When the last change was delivered (UTC); None before the first."""
        return self._health.last_event_at

    @property
    def closed(self) -> bool:
        """True once the watch was closed or failed."""
        return self._closed

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> DeployWatch:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the stream now. Safe from another task while one waits for the next
        change: that task's loop then ends."""
        self._finish("closed")
        await self._reader.interrupt()
        await self._drop_stream()

    def _finish(self, why: str) -> None:
        self._closed = True
        self._health.enter(DurableState.CLOSED, self._galaxy.options.endpoint, why)

    async def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> DeployWatch:
        return self

    async def __anext__(self) -> DeployChange:
        return await self._reader.read(self._next)

    async def _next(self) -> DeployChange:
        while True:
            event = await self._receive()
            first, self._fresh = self._fresh, False
            before, self._known = self._known, event
            synthetic = False
            if first and before is None:  # the watch's first stream
                if self._last_seen is not None and _deployed(event) == self._last_seen:
                    continue
            elif first and before is not None:  # a stream opened after a lost connection
                if _deployed(event) == _deployed(before):
                    continue  # nothing was deployed meanwhile
                synthetic = True
                log.info("deploy watch (%s): deployed while away: #%d at %s",
                         self._galaxy.options.endpoint, event.sequence, _deployed(event))
            self._health.delivered()
            return DeployChange(event, synthetic)

    async def _receive(self) -> gr.DeployEvent:
        """The next message of a stream, opening one (again) as needed."""
        endpoint = self._galaxy.options.endpoint
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._stream is None:
                # Always the current state first: it says the stream is up, and what
                # changed while away.
                self._stream = self._galaxy.watch_deploy_events()
                self._fresh = True
            try:
                event = await self._stream.__anext__()
            except asyncio.CancelledError:
                self._stream = None  # the generator reset the HTTP/2 stream on its way out
                raise
            except (*RETRIED, StopAsyncIteration) as exc:
                await self._drop_stream()
                if self._galaxy.closed:  # the connection went because the client closed
                    self._finish("the client was closed")
                    raise StopAsyncIteration from None
                # The watch never ends on its own: an end is a gateway going away.
                failure = exc if not isinstance(exc, StopAsyncIteration) else \
                    ConnectionLostError("WatchDeployEvents: the gateway ended the deploy watch",
                                        endpoint)
                self._health.failed(failure)
                delay = self._backoff.failed()
                if self._known is None or delay is None:
                    if delay is None:
                        log.error("deploy watch (%s): giving up after %d failed attempts in "
                                  "a row (%s)", endpoint, self._backoff.failures,
                                  describe(failure))
                    self._finish(describe(failure))
                    raise failure from None
                if self._health.state is DurableState.CONNECTED:
                    log.warning("deploy watch (%s): stream lost (%s); reconnecting", endpoint,
                                describe(failure))
                else:
                    log.debug("deploy watch (%s): attempt %d failed (%s); next in %.2f s",
                              endpoint, self._backoff.failures, describe(failure), delay)
                self._health.enter(DurableState.RECONNECTING, endpoint, describe(failure))
                await asyncio.sleep(delay)
                continue
            except BaseException:  # a reply too large, a malformed message...
                self._stream = None
                self._finish("failed")
                raise
            if self._fresh and self._health.state is DurableState.RECONNECTING:
                self._health.reconnects += 1
                self._health.enter(DurableState.CONNECTED, endpoint, "the deploy watch resumed")
            self._backoff.reset()
            return event

