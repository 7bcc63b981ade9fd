"""GalaxyRepositoryClient: the read-only Galaxy Repository service (scope `metadata:read`).

    async with GalaxyRepositoryClient.connect("gateway:5001", api_key=key, ca_file=ca) as g:
        async for obj in g.iter_hierarchy(template_chain_contains=["$Pump"]):
            print(obj.tag_name, [a.full_tag_reference for a in obj.attributes])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from grpclib.client import Channel

from ._proto.galaxy_repository import v1 as gr
from .connection import Connection
from .contract import checks
from .errors import ConfigurationError, InvalidArgumentError
from .options import ClientOptions

if TYPE_CHECKING:
    from .deploys import DeployWatch


def _strings(name: str, values: str | Iterable[str]) -> list[str]:
    items = [values] if isinstance(values, str) else list(values)
    for item in items:
        if not isinstance(item, str) or not item:
            raise ConfigurationError(f"{name} must hold non-empty strings, not {item!r}")
    return items


def _aware(name: str, value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else checks.aware_utc(name, value)


def hierarchy_request(
    *,
    root_gobject_id: int | None = None,
    root_tag_name: str | None = None,
    root_contained_path: str | None = None,
    max_depth: int | None = None,
    category_ids: Iterable[int] = (),
    template_chain_contains: str | Iterable[str] = (),
    tag_name_glob: str | None = None,
    include_attributes: bool = True,
    alarm_bearing_only: bool = False,
    historized_only: bool = False,
    page_size: int | None = None,
) -> gr.DiscoverHierarchyRequest:
    """A checked DiscoverHierarchyRequest; ConfigurationError for a bad argument.

    At most one root (gobject id, tag name, or contained path such as
    `Plant/TestMachine_001`); `max_depth` counts levels below the root (0: the root alone);
    `category_ids` and `template_chain_contains` match any of their values;
    `tag_name_glob` is case-insensitive (`Pump_*`); `page_size` None or 0 lets the gateway
    choose.
    """
    roots = [r for r in (root_gobject_id, root_tag_name, root_contained_path) if r is not None]
    if len(roots) > 1:
        raise ConfigurationError(
            "give at most one of root_gobject_id, root_tag_name, root_contained_path")
    request = gr.DiscoverHierarchyRequest(include_attributes=bool(include_attributes),
                                          alarm_bearing_only=bool(alarm_bearing_only),
                                          historized_only=bool(historized_only))
    if root_gobject_id is not None:
        request.root_gobject_id = checks.int_in("root_gobject_id", root_gobject_id, 1)
    for name, value in (("root_tag_name", root_tag_name),
                        ("root_contained_path", root_contained_path)):
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"{name} must be a non-empty string")
            setattr(request, name, value)
    if max_depth is not None:
        request.max_depth = checks.int_in("max_depth", max_depth, 0)
    request.category_ids = [checks.int_in("category_ids[]", c, 0) for c in category_ids]
    request.template_chain_contains = _strings("template_chain_contains",
                                               template_chain_contains)
    if tag_name_glob is not None:
        if not isinstance(tag_name_glob, str):
            raise ConfigurationError("tag_name_glob must be a string")
        request.tag_name_glob = tag_name_glob
    if page_size is not None:
        request.page_size = checks.int_in("page_size", page_size, 0)
    return request


class _SeenIds:
    """gobject ids already delivered, as a bitmap (a set for ids past 2**24)."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self._large: set[int] = set()

    def add(self, gobject_id: int) -> None:
        if gobject_id >= 1 << 24 or gobject_id < 0:
            self._large.add(gobject_id)
            return
        byte = gobject_id >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte + 1 - len(self._bits)))
        self._bits[byte] |= 1 << (gobject_id & 7)

    def __contains__(self, gobject_id: int) -> bool:
        if gobject_id >= 1 << 24 or gobject_id < 0:
            return gobject_id in self._large
        byte = gobject_id >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << (gobject_id & 7)))


class HierarchyObjects(AsyncIterator[gr.GalaxyObject]):
    """The objects `iter_hierarchy` yields, one page in memory at a time.

    `total_object_count` is the number of matching objects the gateway reported with the
    last page received (None before the first), for a progress display.
    """

    def __init__(self, pages: Callable[[HierarchyObjects], AsyncIterator[gr.GalaxyObject]]
                 ) -> None:
        self.total_object_count: int | None = None
        self._objects = pages(self)

    def __aiter__(self) -> HierarchyObjects:
        return self

    async def __anext__(self) -> gr.GalaxyObject:
        return await self._objects.__anext__()

    async def aclose(self) -> None:
        """Stop paging (the page in hand is dropped; nothing is left open on the wire)."""
        await self._objects.aclose()  # type: ignore[attr-defined]  # an async generator


class GalaxyRepositoryClient(Connection):
    """A connection to the gateway's Galaxy Repository service (scope `metadata:read`).

    `GalaxyRepositoryClient.connect(...)` takes the options of `GatewayClient.connect`;
    `GatewayClient.galaxy()` gives one on an existing gateway connection."""

    SERVICE = "/galaxy_repository.v1.GalaxyRepository/"

    def __init__(self, options: ClientOptions, channel: Channel, *,
                 shares: Connection | None = None) -> None:
        super().__init__(options, channel, shares=shares)
        self.pages_fetched = 0
        """DiscoverHierarchy / BrowseChildren pages received by this client."""

    # ------------------------------------------------------------------ unary calls

    async def test_connection_raw(self) -> gr.TestConnectionReply:
        """TestConnection, reply untouched."""
        reply: gr.TestConnectionReply = await self._unary(
            "TestConnection", gr.TestConnectionRequest(), gr.TestConnectionReply)
        return reply

    async def test_connection(self) -> bool:
        """True when the gateway reaches the Galaxy Repository database (False, not an
        error, when it does not)."""
        return (await self.test_connection_raw()).ok

    async def get_last_deploy_time_raw(self) -> gr.GetLastDeployTimeReply:
        """GetLastDeployTime, reply untouched."""
        reply: gr.GetLastDeployTimeReply = await self._unary(
            "GetLastDeployTime", gr.GetLastDeployTimeRequest(), gr.GetLastDeployTimeReply)
        return reply

    async def get_last_deploy_time(self) -> dt.datetime | None:
        """The time of the last deploy (timezone-aware UTC), or None if the Galaxy has none."""
        reply = await self.get_last_deploy_time_raw()
        if not reply.time_of_last_deploy_present or reply.time_of_last_deploy is None:
            return None
        return reply.time_of_last_deploy.astimezone(dt.timezone.utc)

    async def discover_hierarchy_page(
        self, request: gr.DiscoverHierarchyRequest
    ) -> gr.DiscoverHierarchyReply:
        """One DiscoverHierarchy page, as the gateway returns it (a stale `page_token`
        raises InvalidArgumentError)."""
        reply: gr.DiscoverHierarchyReply = await self._unary(
            "DiscoverHierarchy", request, gr.DiscoverHierarchyReply)
        self.pages_fetched += 1
        return reply

    async def browse_children_page(
        self, request: gr.BrowseChildrenRequest
    ) -> gr.BrowseChildrenReply:
        """One BrowseChildren page, as the gateway returns it."""
        reply: gr.BrowseChildrenReply = await self._unary(
            "BrowseChildren", request, gr.BrowseChildrenReply)
        self.pages_fetched += 1
        return reply

    # ------------------------------------------------------------------ hierarchy

    @staticmethod
    def _request(request: gr.DiscoverHierarchyRequest | None,
                 filters: dict[str, Any]) -> gr.DiscoverHierarchyRequest:
        if request is None:
            return hierarchy_request(**filters)
        if filters:
            raise ConfigurationError("give either a request or filter arguments, not both")
        if not isinstance(request, gr.DiscoverHierarchyRequest):
            raise ConfigurationError("request must be a DiscoverHierarchyRequest")
        return gr.DiscoverHierarchyRequest.parse(bytes(request))  # the caller's stays intact

    def iter_hierarchy(
        self, /, request: gr.DiscoverHierarchyRequest | None = None, **filters: Any
    ) -> HierarchyObjects:
        """Every matching object, one page in memory at a time.

        Takes the keyword filters of `hierarchy_request` (or a ready request). The next
        page is asked for only when the current one is consumed. If the Galaxy is
        redeployed meanwhile (stale page token) paging restarts once from the first page
        of the new deploy, skipping the objects already delivered. The iterator's
        `total_object_count` is the gateway's count of the matching objects.
        """
        self._check_open()
        checked = self._request(request, filters)
        return HierarchyObjects(lambda into: self._iter_hierarchy(checked, into))

    async def _iter_hierarchy(
        self, request: gr.DiscoverHierarchyRequest, into: HierarchyObjects
    ) -> AsyncIterator[gr.GalaxyObject]:
        seen = _SeenIds()
        restarted = False
        while True:
            try:
                reply = await self.discover_hierarchy_page(request)
            except InvalidArgumentError:
                if not request.page_token or restarted:
                    raise
                restarted, request.page_token = True, ""
                continue
            request.page_token = reply.next_page_token
            into.total_object_count = reply.total_object_count
            objects = reply.objects
            del reply  # hold the objects only
            for obj in objects:
                if restarted and obj.gobject_id in seen:
                    continue
                seen.add(obj.gobject_id)
                yield obj
            objects = []  # release this page before fetching the next
            if not request.page_token:
                return

    async def discover_hierarchy(
        self, /, request: gr.DiscoverHierarchyRequest | None = None, **filters: Any
    ) -> list[gr.GalaxyObject]:
        """Every matching object of every page, in one list (see `iter_hierarchy` for a
        large Galaxy). All come from one deploy: a redeploy while paging restarts once."""
        self._check_open()
        return await self._all_pages(self.discover_hierarchy_page, self._request(request, filters))

    async def browse_children(
        self, parent_gobject_id: int = 0, *, include_attributes: bool = True,
        page_size: int | None = None,
    ) -> list[gr.GalaxyObject]:
        """The direct children of an object (0: the top-level objects), every page.
        A redeploy while paging restarts once."""
        self._check_open()
        request = gr.BrowseChildrenRequest(
            parent_gobject_id=checks.int_in("parent_gobject_id", parent_gobject_id, 0),
            include_attributes=bool(include_attributes))
        if page_size is not None:
            request.page_size = checks.int_in("page_size", page_size, 0)
        return await self._all_pages(self.browse_children_page, request)

    @staticmethod
    async def _all_pages(fetch: Callable[[Any], Awaitable[Any]],
                         request: Any) -> list[gr.GalaxyObject]:
        """The objects of every page; on a stale page token, start over once."""
        result: list[gr.GalaxyObject] = []
        restarted = False
        while True:
            try:
                reply = await fetch(request)
            except InvalidArgumentError:
                if not request.page_token or restarted:
                    raise
                restarted, request.page_token = True, ""
                result.clear()
                continue
            result.extend(reply.objects)
            request.page_token = reply.next_page_token
            if not request.page_token:
                return result

    # ------------------------------------------------------------------ deploys

    def watch_deploy_events(
        self, last_seen_deploy_time: dt.datetime | None = None
    ) -> AsyncIterator[gr.DeployEvent]:
        """The current deploy state (unless it is `last_seen_deploy_time`), then one
        DeployEvent per deploy. A gap in `sequence` means events were dropped.

        Break, `aclose()` or cancelling the task closes the stream at once.
        """
        self._check_open()
        request = gr.WatchDeployEventsRequest(
            last_seen_deploy_time=_aware("last_seen_deploy_time", last_seen_deploy_time))
        return self._server_stream("WatchDeployEvents", request, gr.DeployEvent)

    def deploy_watch(
        self, last_seen_deploy_time: dt.datetime | None = None, *,
        max_attempts: int | None = None, backoff: float = 0.2, max_backoff: float = 10.0,
    ) -> DeployWatch:
        """The deploys as DeployChanges, kept going across lost connections and GOAWAY:
        the current state (unless it is `last_seen_deploy_time`), then one per deploy;
        after a reconnect, what was deployed meanwhile once, marked `synthetic`. Retried
        after `backoff` seconds doubling up to `max_backoff` (jittered, the first retry at
        once), forever unless `max_attempts` failures in a row. See `mxgw.deploys`."""
        from .deploys import DeployWatch

        self._check_open()
        return DeployWatch(self, last_seen_deploy_time, max_attempts=max_attempts,
                           backoff=backoff, max_backoff=max_backoff)
