"""GatewayClient: one connection to a gateway, the raw calls, and sessions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Generator
from types import TracebackType
from typing import Any, Generic, TypeVar

from grpclib.client import Channel

from . import calls
from ._proto.mxaccess_gateway import v1 as pb
from .errors import ConfigurationError, DeadlineExceededError, protocol_error
from .failures import check_protocol
from .options import ApiKey, ClientOptions
from .session import Session
from .transport import build_channel, open_connection

ClientT = TypeVar("ClientT")

SERVICE = "/mxaccess_gateway.v1.MxAccessGateway/"


class GatewayClient:
    """A connection to an MXAccess Gateway.

        async with GatewayClient.connect("host:5001", api_key=key, ca_file="ca.pem") as client:
            async with await client.open_session("my-app") as session:
                ...

    `connect(...)` may also be awaited (`client = await GatewayClient.connect(...)`); then
    call `await client.close()` when done. Many clients may share one event loop.
    """

    def __init__(self, options: ClientOptions, channel: Channel) -> None:
        self.options = options
        self._channel = channel
        self._closed = False

    def __repr__(self) -> str:
        return f"GatewayClient({self.options!r})"

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
        max_bulk_entries: int = ClientOptions.max_bulk_entries,
        eager: bool = True,
    ) -> _Connecting[GatewayClient]:
        """Connect to `endpoint` (TLS unless `plaintext=True`); see ClientOptions.

        Pass either `options` or the individual settings. With `eager` (the default) the
        TCP and TLS handshake happen now, so a wrong address, CA or certificate fails
        here as ConnectError or TlsError rather than on the first call.
        """
        if options is not None and endpoint is not None:
            raise ConfigurationError("give either an endpoint or options, not both")
        opts = options or ClientOptions(
            endpoint or "",
            api_key=api_key,  # type: ignore[arg-type]
            api_key_env=api_key_env,
            plaintext=plaintext,
            ca_file=ca_file,
            server_name_override=server_name_override,
            client_cert=client_cert,
            client_key=client_key,
            timeout=timeout,
            connect_timeout=connect_timeout,
            keepalive_time=keepalive_time,
            max_message_bytes=max_message_bytes,
            max_bulk_entries=max_bulk_entries,
        )
        return _Connecting(cls, opts, eager)

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        """True once `close()` was called."""
        return self._closed

    async def close(self) -> None:
        """Close the connection. Open sessions stay on the gateway until closed or expired."""
        if not self._closed:
            self._closed = True
            self._channel.close()

    # ------------------------------------------------------------------ plumbing

    async def _unary(self, method: str, request: Any, reply_type: type[Any],
                     timeout: float | None = None) -> Any:
        if self._closed:
            raise ConfigurationError("the client is closed")
        return await calls.unary(
            self._channel, SERVICE + method, request, reply_type,
            timeout=self.options.timeout if timeout is None else timeout,
            endpoint=self.options.endpoint, max_bytes=self.options.max_message_bytes,
        )

    # ------------------------------------------------------------------ raw calls

    async def open_session_raw(self, client_session_name: str = "mxgw") -> pb.OpenSessionReply:
        """OpenSession, reply untouched (gRPC failures still raise)."""
        reply: pb.OpenSessionReply = await self._unary(
            "OpenSession", pb.OpenSessionRequest(client_session_name=client_session_name),
            pb.OpenSessionReply,
        )
        return reply

    async def close_session_raw(self, session_id: str) -> pb.CloseSessionReply:
        """CloseSession, reply untouched (gRPC failures still raise). Idempotent."""
        reply: pb.CloseSessionReply = await self._unary(
            "CloseSession", pb.CloseSessionRequest(session_id=session_id), pb.CloseSessionReply
        )
        return reply

    async def invoke_raw(
        self,
        session_id: str,
        command: pb.MxCommand,
        *,
        correlation_id: str | None = None,
        timeout: float | None = None,
    ) -> pb.MxCommandReply:
        """Invoke one command. Raises for gRPC and protocol-status failures only; an
        MXAccess failure (hresult, statuses, MXACCESS_FAILURE) is left in the reply."""
        request = pb.MxCommandRequest(
            session_id=session_id,
            command=command,
            client_correlation_id=correlation_id or uuid.uuid4().hex,
        )
        reply: pb.MxCommandReply = await self._unary(
            "Invoke", request, pb.MxCommandReply, timeout
        )
        check_protocol(reply)
        return reply

    def stream_events_raw(
        self, session_id: str, after_worker_sequence: int = 0, *, timeout: float | None = None
    ) -> AsyncIterator[pb.MxEvent]:
        """One StreamEvents call as an async generator; no resume, events untouched.
        Break, aclose() or cancel closes the HTTP/2 stream at once."""
        if self._closed:
            raise ConfigurationError("the client is closed")
        return calls.server_stream(
            self._channel, SERVICE + "StreamEvents",
            pb.StreamEventsRequest(
                session_id=session_id, after_worker_sequence=after_worker_sequence
            ),
            pb.MxEvent, timeout=timeout, endpoint=self.options.endpoint,
        )

    # ------------------------------------------------------------------ sessions

    async def open_session(self, client_session_name: str = "mxgw") -> Session:
        """Open a session; raises unless the gateway answers OK."""
        reply = await self.open_session_raw(client_session_name)
        if reply.protocol_status is None or reply.protocol_status.code != pb.ProtocolStatusCode.OK:
            raise protocol_error(reply.protocol_status, reply)
        return Session(self, reply.session_id, reply)

    def session(self, session_id: str) -> Session:
        """A Session object for a session opened elsewhere (another process, say)."""
        if not session_id:
            raise ConfigurationError("a session id is required")
        return Session(self, session_id, None)


class _Connecting(Generic[ClientT]):
    """What `connect` returns: awaitable, or an async context manager."""

    def __init__(self, cls: type[ClientT], options: ClientOptions, eager: bool) -> None:
        self._cls: Any = cls
        self._options = options
        self._eager = eager
        self._client: Any = None

    async def _open(self) -> ClientT:
        channel = build_channel(self._options)
        if self._eager:
            try:
                await asyncio.wait_for(
                    open_connection(channel, self._options), self._options.connect_timeout)
            except asyncio.TimeoutError:
                channel.close()
                raise DeadlineExceededError(
                    f"no connection to {self._options.endpoint} within "
                    f"{self._options.connect_timeout:g} s"
                ) from None
            except BaseException as exc:
                channel.close()
                if isinstance(exc, Exception):
                    raise calls.translate(exc, "connect", self._options.endpoint) from None
                raise
        client: ClientT = self._cls(self._options, channel)
        return client

    def __await__(self) -> Generator[Any, None, ClientT]:
        return self._open().__await__()

    async def __aenter__(self) -> ClientT:
        client = await self._open()
        self._client = client
        return client

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()

