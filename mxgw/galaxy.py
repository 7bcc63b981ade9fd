"""GalaxyRepositoryClient: the read-only Galaxy Repository service."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from grpclib.client import Channel

from . import calls
from ._proto.galaxy_repository import v1 as gr
from .client import _Connecting
from .errors import ConfigurationError
from .options import ApiKey, ClientOptions

SERVICE = "/galaxy_repository.v1.GalaxyRepository/"


class GalaxyRepositoryClient:
    """A connection to the gateway's Galaxy Repository service (scope `metadata:read`)."""

    def __init__(self, options: ClientOptions, channel: Channel) -> None:
        self.options = options
        self._channel = channel
        self._closed = False

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
        eager: bool = True,
    ) -> _Connecting[GalaxyRepositoryClient]:
        """Connect as `GatewayClient.connect` does."""
        opts = options or ClientOptions(
            endpoint or "", api_key=api_key, api_key_env=api_key_env,  # type: ignore[arg-type]
            plaintext=plaintext, ca_file=ca_file, server_name_override=server_name_override,
            client_cert=client_cert, client_key=client_key, timeout=timeout,
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

    async def _unary(self, method: str, request: Any, reply_type: type[Any]) -> Any:
        if self._closed:
            raise ConfigurationError("the client is closed")
        return await calls.unary(
            self._channel, SERVICE + method, request, reply_type, timeout=self.options.timeout,
            endpoint=self.options.endpoint, max_bytes=self.options.max_message_bytes)

    async def test_connection(self) -> bool:
        """True when the gateway reaches the Galaxy Repository database."""
        reply: gr.TestConnectionReply = await self._unary(
            "TestConnection", gr.TestConnectionRequest(), gr.TestConnectionReply)
        return reply.ok

    async def get_last_deploy_time(self) -> dt.datetime | None:
        """The time of the last deploy (timezone-aware), or None if the Galaxy has none."""
        reply: gr.GetLastDeployTimeReply = await self._unary(
            "GetLastDeployTime", gr.GetLastDeployTimeRequest(), gr.GetLastDeployTimeReply)
        if not reply.time_of_last_deploy_present or reply.time_of_last_deploy is None:
            return None
        return reply.time_of_last_deploy

    async def discover_hierarchy_page(
        self, request: gr.DiscoverHierarchyRequest
    ) -> gr.DiscoverHierarchyReply:
        """One DiscoverHierarchy page, as the gateway returns it."""
        reply: gr.DiscoverHierarchyReply = await self._unary(
            "DiscoverHierarchy", request, gr.DiscoverHierarchyReply)
        return reply

    async def iter_hierarchy(
        self, request: gr.DiscoverHierarchyRequest | None = None
    ) -> AsyncIterator[gr.GalaxyObject]:
        """Every object, one page in memory at a time."""
        page_request = request or gr.DiscoverHierarchyRequest()
        token = ""
        while True:
            page_request.page_token = token
            reply = await self.discover_hierarchy_page(page_request)
            for obj in reply.objects:
                yield obj
            token = reply.next_page_token
            if not token:
                return

    async def discover_hierarchy(
        self, request: gr.DiscoverHierarchyRequest | None = None
    ) -> list[gr.GalaxyObject]:
        """Every object of every page, in one list."""
        return [obj async for obj in self.iter_hierarchy(request)]

    def watch_deploy_events(
        self, last_seen_deploy_time: dt.datetime | None = None
    ) -> AsyncIterator[gr.DeployEvent]:
        """Deploy events as they happen; break, aclose() or cancel closes the stream."""
        return calls.server_stream(
            self._channel, SERVICE + "WatchDeployEvents",
            gr.WatchDeployEventsRequest(last_seen_deploy_time=last_seen_deploy_time),
            gr.DeployEvent, timeout=None, endpoint=self.options.endpoint)
