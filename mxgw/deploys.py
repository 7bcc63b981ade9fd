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

import datetime as dt
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from ._proto.galaxy_repository import v1 as gr
from .durable.backoff import Backoff
from .durable.health import DurableState
from .errors import ConnectionLostError, DeadlineExceededError
from .events import RESUMABLE
from .log import logger
from .reconnecting import ReconnectingStream

if TYPE_CHECKING:
    from .galaxy import GalaxyRepositoryClient

log = logger("mxgw.galaxy")

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
        endpoint = galaxy.options.endpoint
        # Always the current state first: it says the stream is up, and what changed
        # while away.
        self._feed: ReconnectingStream[gr.DeployEvent] = ReconnectingStream(
            "deploy watch", endpoint, log, galaxy.watch_deploy_events,
            client_closed=lambda: galaxy.closed, retried=RETRIED,
            ended=lambda: ConnectionLostError(
                "WatchDeployEvents: the gateway ended the deploy watch", endpoint),
            backoff=Backoff(backoff, max_backoff, max_attempts))
        self._known: gr.DeployEvent | None = None
        """The last deploy state received (delivered, or skipped as already seen)."""

    def __repr__(self) -> str:
        return f"DeployWatch({self._galaxy.options.endpoint!r}, {self.state.value})"

    # ------------------------------------------------------------------ health

    @property
    def state(self) -> DurableState:
        """CONNECTED (or opening), RECONNECTING, or CLOSED."""
        return self._feed.health.state

    @property
    def reconnects(self) -> int:
        """Times a stream was opened again after a lost connection."""
        return self._feed.health.reconnects

    @property
    def last_event_at(self) -> dt.datetime | None:
        """When the last change was delivered (UTC); None before the first."""
        return self._feed.last_event_at

    @property
    def closed(self) -> bool:
        """True once the watch was closed or failed."""
        return self._feed.closed

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> DeployWatch:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the stream now. Safe from another task while one waits for the next
        change: that task's loop then ends."""
        await self._feed.aclose()

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> DeployWatch:
        return self

    async def __anext__(self) -> DeployChange:
        return await self._feed.reader.read(self._next)

    async def _next(self) -> DeployChange:
        feed = self._feed
        while True:
            # A first open is not retried: an unreachable gateway raises at once.
            event = await feed.receive(lambda: self._known is not None)
            first = feed.fresh
            if first:
                feed.back("the deploy watch resumed")
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
            feed.health.delivered()
            return DeployChange(event, synthetic)

