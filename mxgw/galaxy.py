"""GalaxyRepositoryClient: the read-only Galaxy Repository service (scope `metadata:read`).

    async with GalaxyRepositoryClient.connect("gateway:5001", api_key=key, ca_file=ca) as g:
        async for obj in g.iter_hierarchy(template_chain_contains=["$Pump"]):
            print(obj.tag_name, [a.full_tag_reference for a in obj.attributes])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

from grpclib.client import Channel

from . import calls
from ._proto.galaxy_repository import v1 as gr
from .client import _Connecting
from .errors import ConfigurationError, InvalidArgumentError
from .options import ApiKey, ClientOptions

SERVICE = "/galaxy_repository.v1.GalaxyRepository/"
INT32_MAX = 2**31 - 1


def _int32(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an int, not {type(value).__name__}")
    if not minimum <= value <= INT32_MAX:
        raise ConfigurationError(f"{name} must be between {minimum} and {INT32_MAX}, not {value}")
    return value


def _strings(name: str, values: str | Iterable[str]) -> list[str]:
    items = [values] if isinstance(values, str) else list(values)
    for item in items:
        if not isinstance(item, str) or not item:
            raise ConfigurationError(f"{name} must hold non-empty strings, not {item!r}")
    return items


def _aware(name: str, value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise ConfigurationError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigurationError(f"{name} must be timezone-aware (a naive datetime is ambiguous)")
    return value


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
        request.root_gobject_id = _int32("root_gobject_id", root_gobject_id, 1)
    for name, value in (("root_tag_name", root_tag_name),
                        ("root_contained_path", root_contained_path)):
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"{name} must be a non-empty string")
            setattr(request, name, value)
    if max_depth is not None:
        request.max_depth = _int32("max_depth", max_depth, 0)
    request.category_ids = [_int32("category_ids[]", c, 0) for c in category_ids]
    request.template_chain_contains = _strings("template_chain_contains",
                                               template_chain_contains)
    if tag_name_glob is not None:
        if not isinstance(tag_name_glob, str):
            raise ConfigurationError("tag_name_glob must be a string")
        request.tag_name_glob = tag_name_glob
    if page_size is not None:
        request.page_size = _int32("page_size", page_size, 0)
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


class GalaxyRepositoryClient:
    """A connection to the gateway's Galaxy Repository service (scope `metadata:read`)."""

    def __init__(self, options: ClientOptions, channel: Channel) -> None:
        self.options = options
        self._channel = channel
        self._closed = False
        self.pages_fetched = 0
        """DiscoverHierarchy / BrowseChildren pages received by this client."""

    def __repr__(self) -> str:
        return f"GalaxyRepositoryClient({self.options!r})"

    @classmethod
    def connect(
        cls,
        endpoint: str | None = None,
        *,
        options: ClientOptions | None = None,
        api_key: str | ApiKey | None = None,
        api_key_env: str | None = None,
        plaintext: bool = False,
        ca_file: str | None = None,
        server_name_override: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        timeout: float | None = ClientOptions.timeout,
        connect_timeout: float = ClientOptions.connect_timeout,
        keepalive_time: float | None = ClientOptions.keepalive_time,
        max_message_bytes: int = ClientOptions.max_message_bytes,
        eager: bool = True,
    ) -> _Connecting[GalaxyRepositoryClient]:
        """Connect as `GatewayClient.connect` does (TLS unless `plaintext=True`)."""
        if options is not None and endpoint is not None:
            raise ConfigurationError("give either an endpoint or options, not both")
        opts = options or ClientOptions(
            endpoint or "", api_key=api_key, api_key_env=api_key_env,  # type: ignore[arg-type]
            plaintext=plaintext, ca_file=ca_file, server_name_override=server_name_override,
            client_cert=client_cert, client_key=client_key, timeout=timeout,
            connect_timeout=connect_timeout, keepalive_time=keepalive_time,
            max_message_bytes=max_message_bytes,
        )
        return _Connecting(cls, opts, eager)

    async def __aenter__(self) -> GalaxyRepositoryClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._channel.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError("the client is closed")

    async def _unary(self, method: str, request: Any, reply_type: type[Any]) -> Any:
        self._check_open()
        return await calls.unary(
            self._channel, SERVICE + method, request, reply_type, timeout=self.options.timeout,
            endpoint=self.options.endpoint, max_bytes=self.options.max_message_bytes)

    # ------------------------------------------------------------------ unary calls

    async def test_connection(self) -> bool:
        """True when the gateway reaches the Galaxy Repository database (False, not an
        error, when it does not)."""
        reply: gr.TestConnectionReply = await self._unary(
            "TestConnection", gr.TestConnectionRequest(), gr.TestConnectionReply)
        return reply.ok

    async def get_last_deploy_time(self) -> dt.datetime | None:
        """The time of the last deploy (timezone-aware UTC), or None if the Galaxy has none."""
        reply: gr.GetLastDeployTimeReply = await self._unary(
            "GetLastDeployTime", gr.GetLastDeployTimeRequest(), gr.GetLastDeployTimeReply)
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
        self, request: gr.DiscoverHierarchyRequest | None = None, **filters: Any
    ) -> AsyncIterator[gr.GalaxyObject]:
        """Every matching object, one page in memory at a time.

        Takes the keyword filters of `hierarchy_request` (or a ready request). The next
        page is asked for only when the current one is consumed. If the Galaxy is
        redeployed meanwhile (stale page token) paging restarts once from the first page
        of the new deploy, skipping the objects already delivered.
        """
        self._check_open()
        return self._iter_hierarchy(self._request(request, filters))

    async def _iter_hierarchy(
        self, request: gr.DiscoverHierarchyRequest
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
        self, request: gr.DiscoverHierarchyRequest | None = None, **filters: Any
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
            parent_gobject_id=_int32("parent_gobject_id", parent_gobject_id, 0),
            include_attributes=bool(include_attributes))
        if page_size is not None:
            request.page_size = _int32("page_size", page_size, 0)
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
        return calls.server_stream(
            self._channel, SERVICE + "WatchDeployEvents", request, gr.DeployEvent,
            timeout=None, endpoint=self.options.endpoint)
