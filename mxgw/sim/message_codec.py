"""How the simulator encodes and decodes messages: the contract layer's codec, with the
gateway's message size limit on what it receives (and a variant contract's extra bytes on
what it sends)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import betterproto2
from grpclib.const import Status
from grpclib.encoding.base import CodecBase
from grpclib.exceptions import GRPCError

from ..contract import codec

if TYPE_CHECKING:
    from .variant import Extras


class SizeLimitedCodec(CodecBase):
    """Protobuf through `mxgw.contract.codec`, refusing received messages over `limit`
    bytes with RESOURCE_EXHAUSTED (as the gateway's 16 MiB limit does). With `extras` (a
    variant contract), sent messages carry the variant's fields."""

    __content_subtype__ = "proto"

    def __init__(self, limit: int, extras: Extras | None = None) -> None:
        self.limit = limit
        self.extras = extras

    def encode(self, message: Any, message_type: Any) -> bytes:
        if not isinstance(message, message_type):
            raise TypeError(f"message must be {message_type.__name__}, not {type(message)}")
        if type(message) is not message_type:  # pre-encoded (Galaxy pages, events): bytes
            data = bytes(message)
            if self.extras:  # appended bytes are fields of the whole page
                data += self.extras.by_class.get(message_type, b"")
            return data
        if self.extras:
            self.extras.mark(message)
        return codec.encode(message)

    def decode(self, data: bytes, message_type: Any) -> Any:
        if len(data) > self.limit:
            raise GRPCError(Status.RESOURCE_EXHAUSTED,
                            f"the request is {len(data)} bytes, over the gateway's "
                            f"{self.limit}-byte message limit: split it")
        if isinstance(message_type, type) and issubclass(message_type, betterproto2.Message):
            return codec.parse(message_type, data)
        return message_type.FromString(data)
