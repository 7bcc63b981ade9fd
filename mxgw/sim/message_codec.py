"""How the simulator encodes and decodes messages: the contract layer's codec, with the
gateway's message size limit on what it receives."""

from __future__ import annotations

from typing import Any

import betterproto2
from grpclib.const import Status
from grpclib.encoding.base import CodecBase
from grpclib.exceptions import GRPCError

from ..contract import codec


class SizeLimitedCodec(CodecBase):
    """Protobuf through `mxgw.contract.codec`, refusing received messages over `limit`
    bytes with RESOURCE_EXHAUSTED (as the gateway's 16 MiB limit does)."""

    __content_subtype__ = "proto"

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def encode(self, message: Any, message_type: Any) -> bytes:
        if not isinstance(message, message_type):
            raise TypeError(f"message must be {message_type.__name__}, not {type(message)}")
        if type(message) is not message_type:  # pre-encoded Galaxy pages bring their bytes
            return bytes(message)
        return codec.encode(message)

    def decode(self, data: bytes, message_type: Any) -> Any:
        if len(data) > self.limit:
            raise GRPCError(Status.RESOURCE_EXHAUSTED,
                            f"the request is {len(data)} bytes, over the gateway's "
                            f"{self.limit}-byte message limit: split it")
        if isinstance(message_type, type) and issubclass(message_type, betterproto2.Message):
            return codec.parse(message_type, data)
        return message_type.FromString(data)
