"""Builds the grpclib Channel: TLS context (ALPN h2), the bearer-token hook, and what
grpclib lacks for a connection that must live for months (docs/transport.md):

- keepalive after gRPC's A8 design, kept within the gateway's ping policy;
- a check that the peer speaks HTTP/2 at all, so a banner-speaking service on the port
  is reported as such at once instead of as a hang;
- a bound on every (re)connect, and receive windows small enough for backpressure.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import betterproto2
from grpclib.client import Channel, Handler
from grpclib.config import Configuration
from grpclib.encoding.base import GRPC_CONTENT_TYPE, CodecBase
from grpclib.events import SendRequest, listen
from grpclib.metadata import USER_AGENT, encode_timeout
from grpclib.protocol import H2Protocol
from h2.errors import ErrorCodes

from .contract import codec
from .datapath import LeanH2Protocol
from .errors import (
    ConfigurationError,
    ConnectError,
    ConnectionLostError,
    DeadlineExceededError,
    MxGatewayError,
    OptionText,
    ReplyTooLargeError,
    TlsError,
    TransportError,
)
from .log import logger
from .options import MAX_WINDOW, ClientOptions

log = logger("mxgw.connection")

GRPC_PERMIT_TIME = 300.0
"""gRPC servers' default `grpc.http2.min_ping_interval_without_data_ms` (A8's
PERMIT_KEEPALIVE_TIME), assumed once a gateway said `too_many_pings`."""
FAST_PINGS = 2
"""Pings allowed at keepalive_time after the gateway's last data: A8's enforcement takes
the first as valid and the next as the first of two tolerated strikes; the second strike
is left spare (for a ping that arrives early, or one that crossed the gateway's data)."""
PERMIT_MARGIN = 1.1
"""Pings spaced by the permit time are spaced by this much more, against jitter."""
STREAMS_PER_CONNECTION_WINDOW = 128
"""The connection's receive window is this many stream windows: Kestrel allows 100
streams per connection, so every one of them can hold a full window and unary replies
still flow."""


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
    except (OSError, ssl.SSLError) as exc:
        raise unloadable(exc, {"ca_file": options.ca_file}) from None
    if options.client_cert and options.client_key:
        try:
            context.load_cert_chain(options.client_cert, options.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise unloadable(exc, {"client_cert": options.client_cert,
                                   "client_key": options.client_key}) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # grpclib does not add ALPN to a context it did not build; gRPC servers require h2.
    context.set_alpn_protocols(["h2"])
    return context


def unloadable(exc: OSError, files: dict[str, str | None]) -> ConfigurationError:
    """The error for TLS files (option -> path) that did not load, naming the file: the
    first that cannot be opened, with why; else all of them, with the ssl module's reason
    (it does not say which file of a certificate and key it refused)."""
    given = {option: path for option, path in files.items() if path}
    if not given:
        return ConfigurationError(f"cannot load the system CA certificates: {exc}")
    for option, path in given.items():
        try:
            open(path, "rb").close()  # ssl just read it, blocking, too
        except OSError as unreadable:
            reason = unreadable.strerror or unreadable.__class__.__name__
            return ConfigurationError(OptionText(
                f"cannot load {{{option}}} {{path!r}}: {{reason}}", path=path, reason=reason))
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
    names = " with ".join(f"{{{option}}} {{{option}_path!r}}" for option in given)
    return ConfigurationError(OptionText(
        f"cannot load {names}: {{reason}}", reason=reason,
        **{f"{option}_path": path for option, path in given.items()}))


class _Closed(str):
    """The reason a connection of ours was closed, as grpclib passes it to each of the
    connection's calls (StreamTerminatedError's message), carrying the typed error that
    the calls raise for it (see `failure_of`)."""

    error: TransportError

    def __new__(cls, error: TransportError) -> _Closed:
        reason = super().__new__(cls, str(error))
        reason.error = error
        return reason


def failure_of(exc: BaseException, method: str) -> TransportError | None:
    """The typed error for a call ended because we closed its connection (a hung
    connection, a peer that is not an HTTP/2 server), or None."""
    reason = exc.args[0] if exc.args else None
    if not isinstance(reason, _Closed):
        return None
    error = reason.error
    return again(error, f"{method}: ")


def again(error: TransportError, prefix: str = "") -> TransportError:
    """A new error like `error` (each call raises its own), its message after `prefix`,
    still naming the options it names (OptionText)."""
    text = error.args[0] if error.args else ""
    if isinstance(text, OptionText):
        return type(error)(text.after(prefix) if prefix else text, error.endpoint)
    return type(error)(prefix + str(error), error.endpoint)


class _Link:
    """What the connections of one channel share: their settings, the gateway's ping
    policy as far as it is known, the latest connection; and what they log: how many
    connections the channel made, and whether we are closing it (grpclib reconnects on
    the next call by itself, so a connection lost and made again is only seen here)."""

    def __init__(self, options: ClientOptions) -> None:
        self.endpoint = options.endpoint
        self.connections = 0
        self.closing = False
        self.connect_timeout = options.connect_timeout
        self.keepalive_time = options.keepalive_time
        self.keepalive_timeout = options.keepalive_timeout
        self.permit_time = options.keepalive_permit_time
        self.protocol: _Protocol | None = None
        self.scheme = self.authority = ""
        """The `:scheme` and `:authority` of the channel's requests (set by `_adopt`)."""

    def made(self) -> None:
        self.connections += 1
        if self.connections == 1:
            log.info("connected to %s", self.endpoint)
        else:
            log.info("reconnected to %s (connection %d)", self.endpoint, self.connections)

    def lost(self, exc: BaseException | None, failure: TransportError | None,
             hung: float | None) -> None:
        """The connection went: we closed it (`closing`), it hung (`hung`: the keepalive
        timeout), we ended it for `failure`, or it was lost (`exc`)."""
        if self.closing:
            log.debug("connection to %s closed", self.endpoint)
        elif hung is not None:
            log.warning("keepalive timeout: %s sent nothing for %g s after a ping; "
                        "connection closed", self.endpoint, hung)
        elif failure is not None:
            log.warning("connection to %s closed: %s", self.endpoint, failure)
        else:
            log.warning("connection to %s lost%s", self.endpoint, f" ({exc})" if exc else "")

    def refused_pings(self) -> None:
        """The gateway said `too_many_pings`: keep further from its limit from now on
        (A8 doubles keepalive time; doubling the permit time keeps pings right after the
        gateway's data, when they cost it nothing, at keepalive_time)."""
        self.permit_time = GRPC_PERMIT_TIME if self.permit_time is None else self.permit_time * 2
        log.warning("%s refused our keepalive pings (GOAWAY too_many_pings): streams without "
                    "data are pinged at most every %g s from now on; set keepalive_permit_time "
                    "to the gateway's grpc.http2.min_ping_interval_without_data_ms",
                    self.endpoint, self.permit_time * PERMIT_MARGIN)


class _Keepalive:
    """HTTP/2 keepalive of one connection, after gRPC's A8 client-side keepalive.

    While a call or stream is open and nothing was read for keepalive_time, send a ping;
    if nothing at all is read for keepalive_timeout after it, the connection is hung.
    Measured from the last byte read (as A8 asks), so a stream carrying data is never
    pinged. grpclib's own keepalive is not used: it measures from its last ping, sends
    one ping per 300 s at most and none after two without the client sending data (the
    gateway's data does not count), and closes gracefully, which over TLS waits 30 s for
    the hung peer's close_notify.
    """

    def __init__(self, protocol: _Protocol, link: _Link, every: float) -> None:
        self._protocol = protocol
        self._link = link
        self._every = every
        self._ping_at: float | None = None
        """When the ping we wait on went out."""
        self._last_ping = -math.inf
        self._fast_pings = 0
        """Pings since the gateway's last data (DATA frames reset its ping strikes)."""
        self.pings = 0
        self._handle = asyncio.get_running_loop().call_later(every, self._tick)

    @property
    def waiting(self) -> bool:
        """True while a ping is out and nothing was read since."""
        return self._ping_at is not None

    def answered(self) -> None:
        """Something was read while a ping was out: the connection lives; the next
        ping is due keepalive_time from now."""
        self._ping_at = None
        self._handle.cancel()
        self._arm(self._every)

    def cancel(self) -> None:
        self._handle.cancel()

    def _arm(self, delay: float) -> None:
        self._handle = asyncio.get_running_loop().call_later(max(delay, 0.001), self._tick)

    def _tick(self) -> None:
        protocol, timeout = self._protocol, self._link.keepalive_timeout
        if protocol.connection.is_closing():
            return
        now = time.monotonic()
        if self._ping_at is not None:  # nothing read since (see `answered`)
            if now - self._ping_at >= timeout:
                protocol.hung(timeout)
                return
            self._arm(self._ping_at + timeout - now)
            return
        idle = now - protocol.last_read
        if idle < self._every:
            self._arm(self._every - idle)
            return
        if not protocol.calls_in_flight():
            self._arm(self._every)
            return
        wait = self._policy_wait(now)
        if wait > 0:
            self._arm(wait)
            return
        protocol.ping(self.pings)
        self.pings += 1
        self._fast_pings += 1
        self._ping_at = self._last_ping = now
        self._arm(timeout)

    def _policy_wait(self, now: float) -> float:
        """How long until a ping keeps within the gateway's ping policy (A8's server
        enforcement: a ping less than the permit time after the previous one, with no
        data sent by the gateway in between, is a strike; the third strike is a GOAWAY)."""
        permit = self._link.permit_time
        if permit is None:
            return 0.0
        data_at = self._protocol.connection.last_data_received  # grpclib's statistic
        if data_at is not None and data_at > self._last_ping:
            self._fast_pings = 0
        if self._fast_pings < FAST_PINGS:
            return 0.0
        return self._last_ping + permit * PERMIT_MARGIN - now


def _not_http2(head: bytes) -> str | None:
    """Why `head`, the first bytes from the peer (9 or more), does not start an HTTP/2
    server's connection preface (a SETTINGS frame on stream 0, RFC 9113 3.4), or None."""
    length = int.from_bytes(head[:3], "big")
    kind, flags, stream = head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
    if kind == 0x4 and not flags & 0x1 and stream == 0 and length % 6 == 0 and length <= 16384:
        return None
    if head[0] in (0x15, 0x16) and head[1] == 0x03:
        return "it answered with TLS"
    text = head[:80].split(b"\r\n", 1)[0].split(b"\n", 1)[0]
    if len(text) >= 4 and all(32 <= byte < 127 for byte in text):
        return f"it answered {text.decode('ascii')!r}"
    return f"it answered bytes {head[:16].hex(' ')}"


class _GoawayScanner:
    """Follows the frames of the gateway's byte stream (from its first byte, a frame
    header) and picks out GOAWAY frames; the rest is skipped by length, not copied."""

    def __init__(self) -> None:
        self._skip = 0
        """Payload bytes of the current frame (not a GOAWAY) still to come."""
        self._rest = b""
        """An incomplete frame header, or an incomplete GOAWAY frame."""

    def goaway(self, data: bytes) -> tuple[int, bytes] | None:
        """The (error code, debug data) of a GOAWAY frame that `data` completes."""
        if self._skip >= len(data):
            self._skip -= len(data)
            return None
        buffer, self._rest = self._rest + data[self._skip:], b""
        self._skip, position, found = 0, 0, None
        while len(buffer) - position >= 9:
            length = int.from_bytes(buffer[position:position + 3], "big")
            kind = buffer[position + 3]
            end = position + 9 + length
            if end > len(buffer):
                if kind == 0x7:
                    self._rest = buffer[position:]
                else:
                    self._skip = end - len(buffer)
                return found
            if kind == 0x7 and length >= 8:
                found = (int.from_bytes(buffer[position + 13:position + 17], "big"),
                         bytes(buffer[position + 17:end]))
            position = end
        self._rest = buffer[position:]
        return found


class _Protocol(LeanH2Protocol):
    """grpclib's client protocol with the lean data path of `mxgw.datapath`, plus: the
    check that the gateway's first frame is HTTP/2 SETTINGS (`spoke_http2`, `failure`),
    keepalive, and `too_many_pings`."""

    spoke_http2: asyncio.Future[bool]
    lost_reason: BaseException | None = None
    failure: TransportError | None = None
    """The typed error we closed the connection with, if we did."""
    hung_after: float | None = None
    """The keepalive timeout, if the connection was closed as hung."""

    def __init__(self, handler: Handler, config: Configuration, h2_config: Any,
                 link: _Link) -> None:
        super().__init__(handler, config, h2_config)
        self._link = link
        self._head = b""
        self._frames = _GoawayScanner()
        self.last_read = time.monotonic()
        self._preface_timer: asyncio.TimerHandle | None = None
        self._made_at = self.last_read
        self.keepalive: _Keepalive | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        loop = asyncio.get_running_loop()
        self.spoke_http2 = loop.create_future()
        self.transport = cast(asyncio.Transport, transport)
        super().connection_made(transport)
        self._link.protocol = self
        self._link.made()
        self.last_read = self._made_at = time.monotonic()
        # RFC 9113 3.4: a server's first frame is SETTINGS, sent at once. Silence for the
        # whole connect timeout is no gateway of ours (or a hung one).
        self._preface_timer = loop.call_later(self._link.connect_timeout, self._silent)
        if self._link.keepalive_time is not None:
            self.keepalive = _Keepalive(self, self._link, self._link.keepalive_time)

    def data_received(self, data: bytes) -> None:
        self.last_read = time.monotonic()
        if self.keepalive is not None and self.keepalive.waiting:
            self.keepalive.answered()
        if not self.spoke_http2.done():
            data = self._head + data
            if len(data) < 9:
                self._head = data
                return
            self._head = b""
            problem = _not_http2(data)
            if problem is not None:
                self._fail(self._not_a_gateway(problem))
                return
            self._stop_preface_timer()
            self.spoke_http2.set_result(True)
        # Found here, not among h2's events: h2 drops the events of a read when a later
        # frame in it is refused, as grpc core's trailers after its GOAWAY are.
        goaway = self._frames.goaway(data)
        if goaway == (ErrorCodes.ENHANCE_YOUR_CALM, b"too_many_pings"):
            self._link.refused_pings()
            self._fail(ConnectionLostError(
                f"{self._link.endpoint} closed the connection: too many keepalive pings "
                "(GOAWAY too_many_pings); later connections ping less often",
                self._link.endpoint))
            return
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost_reason = exc
        self._stop_timers()
        if not self.spoke_http2.done():
            self.spoke_http2.set_result(False)
        self._link.lost(exc, self.failure, self.hung_after)
        if self.failure is None:  # else the calls were ended with our reason already
            super().connection_lost(exc)

    # ------------------------------------------------------------------ keepalive

    def calls_in_flight(self) -> bool:
        return self.h2.open_outbound_streams > 0

    def ping(self, number: int) -> None:
        if not self.connection.is_closing():
            self.h2.ping(struct.pack("!Q", number))
            self.connection.flush()

    def hung(self, timeout: float) -> None:
        if not self.spoke_http2.done():
            # Not a gateway that stopped answering: one that never spoke HTTP/2 at all
            # (the keepalive noticed before the connect timeout did). Said as such, a
            # ConnectError: a stream does not resume what never opened.
            self._fail(silent_peer(self._link.endpoint, round(time.monotonic() - self._made_at, 1)))
            return
        self.hung_after = timeout
        self._fail(ConnectionLostError(
            f"the connection to {self._link.endpoint} hung (nothing received for "
            f"{timeout:g} s after a keepalive ping)", self._link.endpoint))

    # ------------------------------------------------------------------ failures

    def closed_error(self) -> TransportError:
        """What to raise for a call that finds this connection closed already."""
        if self.failure is not None:
            return again(self.failure)
        return ConnectionLostError(f"{self._link.endpoint} closed the connection as it "
                                   "opened", self._link.endpoint)

    def _not_a_gateway(self, problem: str) -> ConnectError:
        endpoint = self._link.endpoint
        hint = ""
        if problem == "it answered with TLS":
            hint = ": it serves TLS (the default), so connect without {plaintext}"
        return ConnectError(OptionText("{endpoint} is not a gRPC (HTTP/2) server: {problem}"
                                       + hint, endpoint=endpoint, problem=problem), endpoint)

    def _silent(self) -> None:
        if not self.spoke_http2.done():
            self._fail(silent_peer(self._link.endpoint, self._link.connect_timeout))

    def _fail(self, error: TransportError) -> None:
        """Close the connection at once (abort: a graceful close would wait on a hung
        peer) and end its calls with `error`."""
        if self.failure is not None:
            return
        self.failure = error
        self._stop_timers()
        if not self.spoke_http2.done():
            self.spoke_http2.set_result(False)
        self.transport.abort()
        self.processor.close(_Closed(error))

    def _stop_preface_timer(self) -> None:
        if self._preface_timer is not None:
            self._preface_timer.cancel()
            self._preface_timer = None

    def _stop_timers(self) -> None:
        self._stop_preface_timer()
        if self.keepalive is not None:
            self.keepalive.cancel()


def silent_peer(endpoint: str, seconds: float) -> ConnectError:
    """The error for a peer that accepted the connection and sent nothing in HTTP/2."""
    return ConnectError(
        f"{endpoint} accepted the connection but sent no HTTP/2 within {seconds:g} s: it is "
        "not a gRPC server, or it is hung", endpoint)


Connect = Callable[[], Awaitable[H2Protocol]]


def _adopt(channel: Channel, link: _Link) -> Connect:
    """The one function that reaches into grpclib's Channel (grpclib is pinned to 0.4.x;
    tests/client/test_transport.py fails when these change shape):

    - `_h2_config` and `_config`, for the protocols made here; `authorization` goes out
      as an HPACK never-indexed field without h2's header normalization (which grpclib
      keeps off): see `mxgw.datapath.CachedHeaderEncoder`.
    - `_protocol_factory`: grpclib has no hook for the protocol of a new
      connection; ours checks that the peer speaks HTTP/2 and runs the keepalive.
    - the h2 connection of a grpclib connection (`mxgw.datapath.h2_connection_of`, kept
      as `LeanH2Protocol.h2`): the keepalive sends its pings there (grpclib sends pings
      only from its own timer).
    - `_scheme` and `_authority`: the `:scheme` and `:authority` grpclib's requests
      carry, for the unary calls' own header block (`RequestHead`).
    - `__connect__`: grpclib's only way to connect before the first call; it is also what
      each call awaits to (re)connect, so bounding it here bounds every reconnect by the
      connect timeout (the kernel gives up on an unanswered SYN after about 2 minutes).

    Besides these private names, the transport relies on two unprefixed parts of
    grpclib's protocol: `processor.close(reason)` fails the connection's calls with
    `StreamTerminatedError(reason)` (how `failure_of` tells why we closed it), and
    `connection.last_data_received` (what the keepalive measures from). The keepalive
    tests fail when either changes.

    Returns grpclib's own connect coroutine function, for an eager connect (which has a
    deadline of its own, see `connect_timed_out`).
    """
    h2_config = channel._h2_config
    config = channel._config
    link.scheme, link.authority = channel._scheme, channel._authority
    channel._protocol_factory = (  # type: ignore[method-assign]
        lambda: _Protocol(Handler(), config, h2_config, link))
    connect: Connect = channel.__connect__

    async def connect_within() -> H2Protocol:
        current = link.protocol
        if current is not None and not current.connection.is_closing():
            return await connect()  # connected: no deadline (nor a task for one) needed
        try:
            protocol = await asyncio.wait_for(connect(), link.connect_timeout)
        except asyncio.TimeoutError:
            raise ConnectError(f"no connection to {link.endpoint} within "
                               f"{link.connect_timeout:g} s", link.endpoint) from None
        # The peer may have closed the new connection (or we did: not HTTP/2) before the
        # call resumed here; grpclib would then fail creating the call's stream.
        if isinstance(protocol, _Protocol) and protocol.connection.is_closing():
            raise protocol.closed_error()
        return protocol

    channel.__connect__ = connect_within  # type: ignore[method-assign]
    return connect


class RequestHead:
    """What a unary call of one channel needs besides its route and message: the
    channel's connect, the header fields every call sends (those grpclib's `Stream`
    sends, the bearer token among them), and the reply codec. `mxgw.calls.unary` opens
    its HTTP/2 stream with these instead of through grpclib's per-call `Stream`."""

    def __init__(self, connect: Connect, link: _Link, codec: LimitedProtoCodec,
                 metadata: list[tuple[bytes, bytes]]) -> None:
        self.connect = connect
        self.codec = codec
        self._start = ((b":method", b"POST"), (b":scheme", link.scheme.encode()))
        self._authority = (b":authority", link.authority.encode())
        self._end = ((b"te", b"trailers"), (b"content-type", GRPC_CONTENT_TYPE.encode()),
                     (b"user-agent", USER_AGENT.encode()), *metadata)

    def __repr__(self) -> str:
        return "RequestHead(...)"  # the fields hold the API key

    def fields(self, route: bytes, timeout: float | None) -> list[tuple[bytes, bytes]]:
        """The call's header fields, in grpclib's order; `timeout` is what is left of
        the call's deadline (`grpc-timeout`), None for no deadline."""
        if timeout is None:
            return [*self._start, (b":path", route), self._authority, *self._end]
        return [*self._start, (b":path", route), self._authority,
                (b"grpc-timeout", encode_timeout(max(timeout, 0.0)).encode()), *self._end]


class _Channel(Channel):
    """grpclib's Channel, with our protocol and a way to connect now."""

    head: RequestHead
    """What its unary calls send (set by `channel_for`)."""

    def __init__(self, options: ClientOptions, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.link = _Link(options)
        self.connect_now = _adopt(self, self.link)

    def close(self) -> None:
        self.link.closing = True  # a lost connection is then ours, not a failure
        super().close()


def request_head(channel: Channel) -> RequestHead:
    """What the unary calls of a channel from `channel_for` send."""
    if not isinstance(channel, _Channel):
        raise TypeError("request_head needs a channel from channel_for")
    return channel.head


async def open_connection(channel: Channel, options: ClientOptions) -> None:
    """Connect now, and wait until the gateway speaks HTTP/2 on the new connection.

    A peer that answers with something else (a banner, HTTP/1.1, TLS while we speak
    plaintext) or with nothing, and a gateway that hangs up instead (a TLS server
    reached in plaintext, a client certificate refused after a TLS 1.3 handshake), fail
    here with a typed error that says what to check, rather than on the first call.
    """
    if not isinstance(channel, _Channel):
        raise TypeError("open_connection needs a channel from channel_for")
    protocol = await channel.connect_now()
    # shielded: the caller's deadline must not cancel the future `connect_timed_out` reads
    if not isinstance(protocol, _Protocol) or await asyncio.shield(protocol.spoke_http2):
        return
    endpoint, reason = options.endpoint, protocol.lost_reason
    if protocol.failure is not None:
        raise protocol.closed_error()
    if options.plaintext:
        raise ConnectError(OptionText(
            "{endpoint} closed the connection without speaking HTTP/2: if the gateway "
            "serves TLS (the default), connect without {plaintext}", endpoint=endpoint),
            endpoint)
    # With TLS 1.3 the server checks the client certificate after our side of the
    # handshake is done, and a refusal reaches us as a plain hang-up.
    detail = f" ({reason})" if reason else ""
    raise TlsError(OptionText(
        "the gateway at {endpoint} closed the connection right after the TLS handshake"
        "{detail}: it may require a client certificate ({client_cert} with {client_key}) "
        "or refuse the one given", endpoint=endpoint, detail=detail), endpoint)


def connect_timed_out(channel: Channel, options: ClientOptions) -> MxGatewayError:
    """The error for an eager connect that did not finish within the connect timeout:
    the peer was silent after accepting the connection, or there was no connection."""
    protocol = channel.link.protocol if isinstance(channel, _Channel) else None
    if protocol is not None and protocol.failure is not None:
        return protocol.closed_error()  # it timed out as the deadline passed
    if protocol is not None and not protocol.spoke_http2.done():
        return silent_peer(options.endpoint, options.connect_timeout)
    return DeadlineExceededError(
        f"no connection to {options.endpoint} within {options.connect_timeout:g} s")


def channel_for(options: ClientOptions) -> Channel:
    """A channel to the options' endpoint, adding `authorization` to every call."""
    window = options.stream_window_bytes
    config = Configuration(
        _keepalive_time=None,  # ours instead: see _Keepalive
        ssl_target_name_override=options.server_name_override,
        http2_stream_window_size=window,
        http2_connection_window_size=min(MAX_WINDOW, window * STREAMS_PER_CONNECTION_WINDOW),
    )
    codec = LimitedProtoCodec(options.max_message_bytes)
    channel = _Channel(
        options,
        options.host,
        options.port,
        ssl=None if options.plaintext else ssl_context(options),
        config=config,
        codec=codec,
    )
    header = None if options.key is None else f"Bearer {options.key.reveal()}"
    metadata = [] if header is None else [(b"authorization", header.encode())]
    channel.head = RequestHead(channel.__connect__, channel.link, codec, metadata)
    if header is not None:  # the streams' calls go through grpclib's Stream

        async def add_bearer(event: SendRequest) -> None:
            event.metadata["authorization"] = header

        listen(channel, SendRequest, add_bearer)
    return channel
