"""The GalaxyRepository gRPC handlers over the simulated Galaxy, deploy watchers and redeploys."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from ..._proto.galaxy_repository import v1 as gr
from ..._proto.galaxy_repository.v1.services import GalaxyRepositoryBase
from ...log import logger
from ..closing_streams import ClosingServerStreams
from .encoding import encode_reply
from .model import GalaxyModel
from .query import (
    MAX_PAGE_ATTRIBUTES,
    HierarchyFilter,
    SelectionCache,
    make_token,
    page,
    page_size,
    read_token,
)

log = logger("mxgw.sim.galaxy")

WATCH_BUFFER = 64
"""Deploy events queued per watcher; beyond that the oldest are dropped (the watcher sees
a gap in `sequence`)."""


class GalaxyService(ClosingServerStreams, GalaxyRepositoryBase):
    """TestConnection, GetLastDeployTime, DiscoverHierarchy, WatchDeployEvents, BrowseChildren.

    `database_online = False` simulates a Galaxy Repository database failure
    (TestConnection answers ok=false; the cached hierarchy is still served).
    `redeploy()` deploys again and tells every watcher.
    """

    def __init__(self, galaxy: GalaxyModel) -> None:
        self.galaxy = galaxy
        self.database_online = True
        self.sequence = 1
        """Sequence of the current deploy's event: 1 at start, +1 per redeploy."""
        self.max_page_attributes = MAX_PAGE_ATTRIBUTES
        """A page ends early once it holds this many attributes (keeps replies ~4 MB)."""
        self.hierarchy_requests = 0
        """DiscoverHierarchy calls served (pages asked for), for tests and benches."""
        self._cache = SelectionCache()
        self._watchers: set[asyncio.Queue[gr.DeployEvent]] = set()
        self._changed: list[asyncio.Future[None]] = []
        self._timer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ unary calls

    async def test_connection(self, message: gr.TestConnectionRequest) -> gr.TestConnectionReply:
        return gr.TestConnectionReply(ok=self.database_online)

    async def get_last_deploy_time(
        self, message: gr.GetLastDeployTimeRequest
    ) -> gr.GetLastDeployTimeReply:
        return gr.GetLastDeployTimeReply(time_of_last_deploy=self.galaxy.deploy_time,
                                         time_of_last_deploy_present=True)

    async def discover_hierarchy(
        self, message: gr.DiscoverHierarchyRequest
    ) -> gr.DiscoverHierarchyReply:
        self.hierarchy_requests += 1
        snapshot = self.galaxy.snapshot
        size = page_size(message.page_size)
        flt = HierarchyFilter.of(message)
        digest = flt.digest()
        offset = read_token(message.page_token, "h", snapshot.version, digest)
        positions = self._cache.get(snapshot, flt)
        objects, after = page(snapshot, positions, offset, size,
                              message.include_attributes is not False, self.max_page_attributes)
        token = make_token("h", snapshot.version, digest, after) if after < len(positions) else ""
        return encode_reply(gr.DiscoverHierarchyReply, objects, token, len(positions))

    async def browse_children(self, message: gr.BrowseChildrenRequest) -> gr.BrowseChildrenReply:
        snapshot = self.galaxy.snapshot
        size = page_size(message.page_size)
        parent = -1
        if message.parent_gobject_id:
            found = snapshot.position_of_id(message.parent_gobject_id)
            if found is None:
                raise GRPCError(Status.NOT_FOUND,
                                f"object {message.parent_gobject_id} is not in the Galaxy")
            parent = found
        digest = f"parent-{message.parent_gobject_id}"
        offset = read_token(message.page_token, "c", snapshot.version, digest)
        children = list(snapshot.children(parent))
        objects, after = page(snapshot, children, offset, size,
                              message.include_attributes is not False, self.max_page_attributes)
        token = make_token("c", snapshot.version, digest, after) if after < len(children) else ""
        return encode_reply(gr.BrowseChildrenReply, objects, token, len(children))

    # ------------------------------------------------------------------ deploys

    def deploy_event(self) -> gr.DeployEvent:
        """The current deploy state as a DeployEvent."""
        snapshot = self.galaxy.snapshot
        return gr.DeployEvent(
            sequence=self.sequence, time_of_last_deploy=snapshot.deploy_time,
            time_of_last_deploy_present=True, object_count=len(snapshot),
            attribute_count=snapshot.attribute_count)

    def redeploy(self, changes: int | None = None) -> gr.DeployEvent:
        """Deploy again (some objects removed, some added, new version and deploy time)
        and send the DeployEvent to every watcher."""
        self.galaxy.redeploy(changes)
        self.sequence += 1
        event = self.deploy_event()
        for queue in list(self._watchers):
            if queue.full():  # a slow watcher loses its oldest events, never the latest
                queue.get_nowait()
            queue.put_nowait(event)
        log.info("redeployed: version %d, %d objects", self.galaxy.version, len(self.galaxy))
        return event

    async def watch_deploy_events(
        self, message: gr.WatchDeployEventsRequest
    ) -> AsyncIterator[gr.DeployEvent]:
        queue: asyncio.Queue[gr.DeployEvent] = asyncio.Queue(WATCH_BUFFER)
        current = self.deploy_event()
        self._watchers.add(queue)
        self._notify()
        try:
            if message.last_seen_deploy_time != current.time_of_last_deploy:
                yield current
            while True:
                yield await queue.get()
        finally:
            self._watchers.discard(queue)
            self._notify()

    @property
    def active_watchers(self) -> int:
        """Open WatchDeployEvents streams."""
        return len(self._watchers)

    async def wait_watchers(self, predicate: Callable[[int], bool]) -> int:
        """Wait until `predicate(active_watchers)` holds; returns the count."""
        while not predicate(len(self._watchers)):
            changed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._changed.append(changed)
            await changed
        return len(self._watchers)

    def _notify(self) -> None:
        changed, self._changed = self._changed, []
        for future in changed:
            if not future.done():
                future.set_result(None)

    # ------------------------------------------------------------------ timer

    def start(self, redeploy_interval: float | None) -> None:
        """Redeploy every `redeploy_interval` seconds (None: only on demand)."""
        if redeploy_interval:
            self._timer = asyncio.get_running_loop().create_task(
                self._redeploy_every(redeploy_interval))

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None

    async def _redeploy_every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.redeploy()
