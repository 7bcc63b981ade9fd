"""The blocking Galaxy Repository client."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .. import deploys as _watches
from .. import galaxy as _galaxy
from .._proto.galaxy_repository import v1 as gr
from ..durable.health import DurableState
from .facade import ClientFacade, Facade, blocking, wrapping
from .streams import Stream, stream_of

AsyncGalaxy = _galaxy.GalaxyRepositoryClient
DeployChange = _watches.DeployChange


class DeployWatch(Stream[DeployChange]):
    """The deploys, kept going across lost connections (see `mxgw.DeployWatch`), for a
    plain `for`: the current state, then one DeployChange per deploy."""

    def __init__(self, facade: Facade[Any], watch: _watches.DeployWatch) -> None:
        super().__init__(facade._loop, watch)
        self._watch = watch

    @property
    def state(self) -> DurableState:
        """CONNECTED (or opening), RECONNECTING, or CLOSED."""
        return self._watch.state

    @property
    def reconnects(self) -> int:
        """Times a stream was opened again after a lost connection."""
        return self._watch.reconnects

    @property
    def last_event_at(self) -> dt.datetime | None:
        """When the last change was delivered (UTC); None before the first."""
        return self._watch.last_event_at


class HierarchyObjects(Stream[gr.GalaxyObject]):
    """The objects of `iter_hierarchy`, one page in memory at a time, for a plain `for`
    (see `mxgw.galaxy.HierarchyObjects`)."""

    def __init__(self, facade: Facade[Any], objects: _galaxy.HierarchyObjects) -> None:
        super().__init__(facade._loop, objects)
        self._objects = objects

    @property
    def total_object_count(self) -> int | None:
        """The gateway's count of the matching objects, with the last page received (None
        before the first): for a progress display."""
        return self._objects.total_object_count


def _sharing(galaxy: Galaxy, other: AsyncGalaxy) -> Galaxy:
    return Galaxy(galaxy._loop, other)


class Galaxy(ClientFacade[AsyncGalaxy]):
    """The Galaxy Repository (scope `metadata:read`), blocking: `GalaxyRepositoryClient`'s
    calls without `await`; `iter_hierarchy`, `watch_deploy_events` and `deploy_watch` are
    plain iterators.

        with mxgw.sync.connect() as client:
            for obj in client.galaxy().iter_hierarchy(tag_name_glob="Pump_*"):
                print(obj.tag_name)
    """

    @property
    def pages_fetched(self) -> int:
        """DiscoverHierarchy / BrowseChildren pages received by this client."""
        return self._async.pages_fetched

    ensure_connected = blocking(AsyncGalaxy.ensure_connected)
    with_timeout = wrapping(AsyncGalaxy.with_timeout, _sharing)
    test_connection = blocking(AsyncGalaxy.test_connection)
    test_connection_raw = blocking(AsyncGalaxy.test_connection_raw)
    get_last_deploy_time = blocking(AsyncGalaxy.get_last_deploy_time)
    get_last_deploy_time_raw = blocking(AsyncGalaxy.get_last_deploy_time_raw)
    discover_hierarchy_page = blocking(AsyncGalaxy.discover_hierarchy_page)
    browse_children_page = blocking(AsyncGalaxy.browse_children_page)
    discover_hierarchy = blocking(AsyncGalaxy.discover_hierarchy)
    browse_children = blocking(AsyncGalaxy.browse_children)
    iter_hierarchy = wrapping(AsyncGalaxy.iter_hierarchy, HierarchyObjects)
    watch_deploy_events = wrapping(AsyncGalaxy.watch_deploy_events, stream_of)
    deploy_watch = wrapping(AsyncGalaxy.deploy_watch, DeployWatch)
