"""Builds the grpclib Channel: TLS context (ALPN h2), keepalive, and the bearer-token hook."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import betterproto2
from grpclib.client import Channel, Handler
from grpclib.config import Configuration
from grpclib.encoding.base import CodecBase
from grpclib.events import SendRequest, listen
from grpclib.protocol import H2Protocol

from .contract import codec
from .errors import ConfigurationError, ConnectError, ReplyTooLargeError, TlsError
from .options import ClientOptions

log = logging.getLogger("mxgw.connection")


class LimitedProtoCodec(CodecBase):
    """The protobuf codec with the message size limit applied to replies.

    grpclib has no receive limit of its own and reads a whole message before decoding
    it, so a reply over the limit is refused here (ReplyTooLargeError) once read, before
    it is parsed. Requests may arrive already encoded (`bytes`), so that the caller can
    check their size before the call is opened without encoding them twice.
    """

    __content_subtype__ = "proto"

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes

    def encode(self, message: Any, message_type: type[Any]) -> bytes:
        if isinstance(message, bytes):
            return message
        if not isinstance(message, message_type):
            raise TypeError(f"message must be {message_type.__name__}, not {type(message)}")
        return bytes(message)

    def decode(self, data: bytes, message_type: type[Any]) -> Any:
        if len(data) > self.max_message_bytes:
            raise ReplyTooLargeError(len(data), self.max_message_bytes)
        if isinstance(message_type, type) and issubclass(message_type, betterproto2.Message):
            return codec.parse(message_type, data)
        return message_type.parse(data)


def ssl_context(options: ClientOptions) -> ssl.SSLContext:
    """A client TLS context: system roots or `ca_file`, optional client certificate, h2."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=options.ca_file)
        if options.client_cert and options.client_key:
            context.load_cert_chain(options.client_cert, options.client_key)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise ConfigurationError(f"cannot load TLS files: {reason}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # grpclib does not add ALPN to a context it did not build; gRPC servers require h2.
    context.set_alpn_protocols(["h2"])
    return context


class _Link:
    """What the connections of one channel log: its endpoint, how many connections it
    made, and whether we are closing it (grpclib reconnects on the next call by itself,
    so a connection lost and made again is only seen here)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.connections = 0
        self.closing = False

    def made(self) -> None:
        self.connections += 1
        if self.connections == 1:
            log.info("connected to %s", self.endpoint)
        else:
            log.info("reconnected to %s (connection %d)", self.endpoint, self.connections)

    def lost(self, exc: BaseException | None, keepalive_expired: bool) -> None:
        if self.closing:
            log.debug("connection to %s closed", self.endpoint)
        elif keepalive_expired:
            log.warning("keepalive timeout: %s did not answer a ping; connection closed",
                        self.endpoint)
        else:
            log.warning("connection to %s lost%s", self.endpoint, f" ({exc})" if exc else "")


def _keepalive_expired(protocol: H2Protocol) -> bool:
    """True when grpclib closed the connection itself because a keepalive ping went
    unanswered (it logs nothing then): its close-by-ping timer has come due. The one
    reach into grpclib's `Connection._close_by_ping_handler` (see test_transport.py)."""
    timer = getattr(getattr(protocol, "connection", None), "_close_by_ping_handler", None)
    return (isinstance(timer, asyncio.TimerHandle)
            and timer.when() <= asyncio.get_running_loop().time())


class _Protocol(H2Protocol):
    """grpclib's client protocol, noting whether the gateway spoke HTTP/2 before the
    connection was lost, and why it was lost (see `open_connection`), and logging the
    connection's life through its channel's `_Link`."""

    spoke_http2: asyncio.Future[bool]
    lost_reason: BaseException | None = None
    link: _Link | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.spoke_http2 = asyncio.get_running_loop().create_future()
        super().connection_made(transport)
        if self.link is not None:
            self.link.made()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # bytes that are not HTTP/2 close the connection here
        if not self.spoke_http2.done():
            self.spoke_http2.set_result(not getattr(self.handler, "connection_lost", False))

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost_reason = exc
        if not self.spoke_http2.done():
            self.spoke_http2.set_result(False)
        if self.link is not None:
            self.link.lost(exc, _keepalive_expired(self))
        super().connection_lost(exc)


Connect = Callable[[], Awaitable[H2Protocol]]


def _adopt(channel: Channel, link: _Link) -> Connect:
    """The one function that reaches into grpclib's Channel (grpclib is pinned to 0.4.x;
    tests/client/test_transport.py fails when these change shape):

    - `_h2_config.normalize_outbound_headers`: grpclib turns h2's outbound normalization
      off, and it is what sends `authorization` as an HPACK never-indexed field: kept out
      of the compression table (no CRIME-style oracle) and shown as SENSITIVE_REDACTED in
      hpack's debug log instead of the key. grpclib has no setting for it.
    - `_protocol_factory` and `_config`: grpclib has no hook for the protocol of a new
      connection; ours tells a gateway that hangs up from one that speaks HTTP/2.
    - `__connect__`: grpclib's only way to connect before the first call.

    Returns the channel's connect coroutine function.
    """
    h2_config = channel._h2_config
    h2_config.normalize_outbound_headers = True
    config = channel._config

    def new_protocol() -> _Protocol:
        protocol = _Protocol(Handler(), config, h2_config)
        protocol.link = link
        return protocol

    channel._protocol_factory = new_protocol  # type: ignore[method-assign]
    connect: Connect = channel.__connect__
    return connect


class _Channel(Channel):
    """grpclib's Channel, with our protocol and a way to connect now."""

    def __init__(self, *args: Any, endpoint: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.link = _Link(endpoint)
        self.connect_now = _adopt(self, self.link)

    def close(self) -> None:
        self.link.closing = True  # a lost connection is then ours, not a failure
        super().close()


async def open_connection(channel: Channel, options: ClientOptions) -> None:
    """Connect now, and wait until the gateway speaks HTTP/2 on the new connection.

    A gateway that hangs up instead (a TLS server reached in plaintext, a client
    certificate refused after a TLS 1.3 handshake) fails here with a typed error that
    says what to check, rather than as a lost connection on the first call.
    """
    if not isinstance(channel, _Channel):
        raise TypeError("open_connection needs a channel from channel_for")
    protocol = await channel.connect_now()
    if not isinstance(protocol, _Protocol) or await protocol.spoke_http2:
        return
    endpoint, reason = options.endpoint, protocol.lost_reason
    if options.plaintext:
        raise ConnectError(
            f"{endpoint} closed the connection without speaking HTTP/2: if the gateway "
            "serves TLS (the default), connect without plaintext (--plaintext)", endpoint)
    # With TLS 1.3 the server checks the client certificate after our side of the
    # handshake is done, and a refusal reaches us as a plain hang-up.
    detail = f" ({reason})" if reason else ""
    raise TlsError(
        f"the gateway at {endpoint} closed the connection right after the TLS handshake"
        f"{detail}: it may require a client certificate (client_cert/client_key, "
        "--client-cert/--client-key) or refuse the one given", endpoint)


def channel_for(options: ClientOptions) -> Channel:
    """A channel to the options' endpoint, adding `authorization` to every call."""
    config = Configuration(
        _keepalive_time=options.keepalive_time,
        _keepalive_timeout=options.keepalive_timeout,
        _keepalive_permit_without_calls=False,
        ssl_target_name_override=options.server_name_override,
    )
    channel = _Channel(
        options.host,
        options.port,
        ssl=None if options.plaintext else ssl_context(options),
        config=config,
        codec=LimitedProtoCodec(options.max_message_bytes),
        endpoint=options.endpoint,
    )
    if options.key is not None:
        header = f"Bearer {options.key.reveal()}"

        async def add_bearer(event: SendRequest) -> None:
            event.metadata["authorization"] = header

        listen(channel, SendRequest, add_bearer)
    return channel
