"""The connection both service clients share: connect, close, and the two call shapes.

Every connection option is a field of ClientOptions and a keyword of `connect`, here
once for both GatewayClient and GalaxyRepositoryClient.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

from grpclib.client import Channel

from . import calls
from .errors import ConfigurationError, OptionText, UnauthenticatedError
from .hpack_logging import keep_secrets_out_of_hpack_logs
from .log import logger
from .options import KEY_ENV, ApiKey, ClientOptions
from .transport import channel_for, connect_timed_out, open_connection, request_head

ConnectionT = TypeVar("ConnectionT", bound="Connection")
ReplyT = TypeVar("ReplyT")

_DEFAULTS = ClientOptions  # the dataclass defaults are the keyword defaults below

log = logger("mxgw.connection")


async def _connect_now(channel: Channel, options: ClientOptions) -> None:
    """Connect `channel` now (a no-op while it is connected), within `connect_timeout`;
    every failure is an MxGatewayError."""
    try:
        await asyncio.wait_for(open_connection(channel, options), options.connect_timeout)
    except asyncio.TimeoutError:
        raise connect_timed_out(channel, options) from None
    except Exception as exc:
        raise calls.translate(exc, "connect", options.endpoint) from None


class Connection:
    """A connection to one of the gateway's services (a subclass names the service)."""

    SERVICE: ClassVar[str] = ""
    """The gRPC service path prefix, `/package.Service/`."""

    def __init__(self, options: ClientOptions, channel: Channel, *,
                 shares: Connection | None = None) -> None:
        self.options = options
        self._grpc = channel
        self._head = request_head(channel)
        self._owner = shares.owner if shares is not None else self
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.options!r})"

    @property
    def owner(self) -> Connection:
        """The connection that owns the HTTP/2 channel (this one unless it shares one)."""
        return self._owner

    @classmethod
    def connect(
        cls: type[ConnectionT],
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
        timeout: float | None = _DEFAULTS.timeout,
        connect_timeout: float = _DEFAULTS.connect_timeout,
        keepalive_time: float | None = _DEFAULTS.keepalive_time,
        keepalive_timeout: float = _DEFAULTS.keepalive_timeout,
        keepalive_permit_time: float | None = _DEFAULTS.keepalive_permit_time,
        stream_window_bytes: int = _DEFAULTS.stream_window_bytes,
        max_message_bytes: int = _DEFAULTS.max_message_bytes,
        max_bulk_entries: int = _DEFAULTS.max_bulk_entries,
        max_bulk_bytes: int | None = _DEFAULTS.max_bulk_bytes,
        eager: bool = True,
    ) -> Connecting[ConnectionT]:
        """Connect to `endpoint` (TLS unless `plaintext=True`); see ClientOptions.

        Await it (`client = await X.connect(...)`, then `await client.close()`) or use it
        as `async with X.connect(...) as client:`. Pass either `options` or the settings;
        without an endpoint, the endpoint, TLS and key come from the MXGATEWAY_* variables
        (`ClientOptions.from_env`).
        With `eager` (the default) the TCP and TLS handshake happen now, so a wrong
        address, CA or certificate fails here as ConnectError or TlsError rather than on
        the first call.
        """
        if options is not None and endpoint is not None:
            raise ConfigurationError("give either an endpoint or options, not both")
        if options is not None:
            return Connecting(cls, options, eager)
        settings: dict[str, Any] = dict(
            api_key=api_key, api_key_env=api_key_env, client_cert=client_cert,
            client_key=client_key, timeout=timeout, connect_timeout=connect_timeout,
            keepalive_time=keepalive_time, keepalive_timeout=keepalive_timeout,
            keepalive_permit_time=keepalive_permit_time, stream_window_bytes=stream_window_bytes,
            max_message_bytes=max_message_bytes, max_bulk_entries=max_bulk_entries,
            max_bulk_bytes=max_bulk_bytes)
        # The TLS choice given here wins; left at its defaults, the variables decide.
        tls = {"plaintext": plaintext or None, "ca_file": ca_file,
               "server_name_override": server_name_override}
        settings.update({k: v for k, v in tls.items() if v is not None})
        if endpoint is None:
            return Connecting(cls, ClientOptions.from_env(**settings), eager)
        return Connecting(cls, ClientOptions(endpoint, **settings), eager)

    def with_timeout(self: ConnectionT, timeout: float | None) -> ConnectionT:
        """This client with another default deadline for unary calls, on the same
        connection (closing it leaves the connection to its owner)."""
        return self._sharing(type(self), self.options.with_changes(timeout=timeout))

    def _sharing(self, cls: type[ConnectionT], options: ClientOptions) -> ConnectionT:
        return cls(options, self._grpc, shares=self)

    async def __aenter__(self: ConnectionT) -> ConnectionT:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        """True once `close()` was called (on this client or on the connection's owner)."""
        return self._closed or self._owner._closed

    async def close(self) -> None:
        """Close this client; the owner also closes the connection."""
        if not self._closed:
            self._closed = True
            if self._owner is self:
                log.debug("closing the connection to %s", self.options.endpoint)
                self._grpc.close()

    async def ensure_connected(self) -> None:
        """Connect now unless connected (calls reconnect on their own; this says at once
        whether the gateway can be reached): ConnectError, TlsError, or
        DeadlineExceededError after `connect_timeout`."""
        self._check_open()
        await _connect_now(self._grpc, self.options)

    def _check_open(self) -> None:
        if self.closed:
            raise ConfigurationError("the client is closed")

    async def _unary(self, method: str, request: Any, reply_type: type[ReplyT],
                     timeout: float | None = None) -> ReplyT:
        self._check_open()
        try:
            return await calls.unary(
                self._head, self.SERVICE + method, request, reply_type,
                timeout=self.options.timeout if timeout is None else timeout,
                endpoint=self.options.endpoint, max_bytes=self.options.max_message_bytes,
            )
        except UnauthenticatedError as exc:
            raise self._unauthenticated(exc) from None

    def _unauthenticated(self, exc: UnauthenticatedError) -> UnauthenticatedError:
        """The error, with a hint when no key was given at all."""
        if self.options.key is not None:
            return exc
        return UnauthenticatedError(
            exc.status_name, OptionText(
                "{message} (no API key was given: pass {api_key_env} or {api_key}, or set "
                "{variable})", message=exc.grpc_message, variable=KEY_ENV), exc.method)

    def _server_stream(self, method: str, request: Any, reply_type: type[ReplyT], *,
                       timeout: float | None = None) -> AsyncIterator[ReplyT]:
        self._check_open()
        return calls.server_stream(self._grpc, self.SERVICE + method, request, reply_type,
                                   timeout=timeout, endpoint=self.options.endpoint)


class Connecting(Generic[ConnectionT]):
    """What `connect` returns: awaitable, or an async context manager."""

    def __init__(self, cls: type[ConnectionT], options: ClientOptions, eager: bool) -> None:
        self._cls = cls
        self._options = options
        self._eager = eager
        self._client: ConnectionT | None = None

    async def _open(self) -> ConnectionT:
        keep_secrets_out_of_hpack_logs()  # hpack's DEBUG records would show the key
        channel = channel_for(self._options)
        if self._eager:
            try:
                await _connect_now(channel, self._options)
            except BaseException:
                channel.close()
                raise
        return self._cls(self._options, channel)

    def __await__(self) -> Generator[Any, None, ConnectionT]:
        return self._open().__await__()

    async def __aenter__(self) -> ConnectionT:
        self._client = await self._open()
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()
