"""Builds the grpclib Channel: TLS context (ALPN h2), keepalive, and the bearer-token hook."""

from __future__ import annotations

import ssl
from typing import Any

from grpclib.client import Channel
from grpclib.config import Configuration
from grpclib.encoding.base import CodecBase
from grpclib.events import SendRequest, listen

from .errors import ConfigurationError, ReplyTooLargeError
from .options import ClientOptions


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


def build_channel(options: ClientOptions) -> Channel:
    """A channel to the options' endpoint, adding `authorization` to every call."""
    config = Configuration(
        _keepalive_time=options.keepalive_time,
        _keepalive_timeout=options.keepalive_timeout,
        _keepalive_permit_without_calls=False,
        ssl_target_name_override=options.server_name_override,
    )
    channel = Channel(
        options.host,
        options.port,
        ssl=None if options.plaintext else ssl_context(options),
        config=config,
        codec=LimitedProtoCodec(options.max_message_bytes),
    )
    if options.api_key is not None:
        header = f"Bearer {options.api_key.reveal()}"

        async def add_bearer(event: SendRequest) -> None:
            event.metadata["authorization"] = header

        listen(channel, SendRequest, add_bearer)
    return channel
