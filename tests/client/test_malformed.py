"""Malformed replies from a misbehaving gateway (a loopback gRPC server of the test's own)
are one typed error, MalformedMessageError, from every call shape."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from grpclib.const import Cardinality, Handler
from grpclib.encoding.base import CodecBase
from grpclib.server import Server, Stream

from mxgw import GatewayClient, MalformedMessageError, pb
from mxgw.contract import codec

from ..conftest import TEST_KEY

SERVICE = "/mxaccess_gateway.v1.MxAccessGateway/"


class _RawCodec(CodecBase):
    """Requests decoded as usual; replies sent as the raw bytes the handler gives."""

    __content_subtype__ = "proto"

    def encode(self, message: Any, message_type: Any) -> bytes:
        return message if isinstance(message, bytes) else codec.encode(message)

    def decode(self, data: bytes, message_type: Any) -> Any:
        return codec.parse(message_type, data)


def _field(number: int, payload: bytes) -> bytes:
    return codec.varint(number << 3 | 2) + codec.varint(len(payload)) + payload


def _nested(depth: int) -> bytes:
    """An MxValue nesting sparse arrays `depth` deep, 3,952 bytes at 400."""
    value = bytes(pb.MxValue(int32_value=1))
    for _ in range(depth):
        value = _field(19, _field(3, _field(2, value)))  # value.sparse.elements[].value
    return value


DEEP = _nested(400)


class _BadGateway:
    """Answers every call with the bytes in `reply` (events: a good one first)."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply

    async def _unary(self, stream: Stream[Any, Any]) -> None:
        await stream.recv_message()
        await stream.send_message(self.reply)

    async def _events(self, stream: Stream[Any, Any]) -> None:
        await stream.recv_message()
        await stream.send_message(bytes(pb.MxEvent(worker_sequence=1,
                                                    family=pb.MxEventFamily.ON_DATA_CHANGE)))
        await stream.send_message(self.reply)

    def __mapping__(self) -> dict[str, Handler]:
        return {
            SERVICE + "OpenSession": Handler(self._unary, Cardinality.UNARY_UNARY,
                                             pb.OpenSessionRequest, bytes),
            SERVICE + "Invoke": Handler(self._unary, Cardinality.UNARY_UNARY,
                                        pb.MxCommandRequest, bytes),
            SERVICE + "StreamEvents": Handler(self._events, Cardinality.UNARY_STREAM,
                                              pb.StreamEventsRequest, bytes),
        }


BAD_REPLIES = {
    "not utf-8": codec.varint(1 << 3 | 2) + b"\x02\xff\xfe",
    "truncated": codec.varint(1 << 3 | 2) + b"\x40abc",
    # MxCommandReply.return_value and MxEvent.on_data_change.value; OpenSessionReply has
    # no MxValue, so field 6 is unknown to it and its garbage a string field's.
    "deep": _field(6, DEEP) + _field(20, _field(1, DEEP)) + _field(1, b"\xff"),
    "bad wire type": b"\x0b",
    "long varint": b"\x08" + b"\xff" * 11,
}


@pytest.fixture
async def bad_gateway() -> AsyncIterator[tuple[_BadGateway, str]]:
    gateway = _BadGateway(b"")
    server = Server([gateway], codec=_RawCodec())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    await server.start(sock=sock)
    try:
        yield gateway, f"127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("name", sorted(BAD_REPLIES))
async def test_every_call_shape_raises_one_typed_error(
    bad_gateway: tuple[_BadGateway, str], name: str
) -> None:
    gateway, endpoint = bad_gateway
    gateway.reply = BAD_REPLIES[name]
    async with GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True) as client:
        with pytest.raises(MalformedMessageError) as opened:
            await client.open_session("x")
        assert opened.value.message_type == "OpenSessionReply"
        session = client.session("session-1")
        with pytest.raises(MalformedMessageError) as invoked:
            await session.register("x")
        assert invoked.value.message_type == "MxCommandReply"
        events = session.events()
        first = await events.__anext__()
        assert first.worker_sequence == 1
        with pytest.raises(MalformedMessageError) as streamed:
            await events.__anext__()
        assert streamed.value.message_type == "MxEvent"
        if name == "deep":  # bounded, not a RecursionError
            assert "nested" in invoked.value.reason and "nested" in streamed.value.reason
        assert events.closed
        await events.aclose()


async def test_the_cli_reports_a_malformed_reply_as_a_protocol_failure(
    bad_gateway: tuple[_BadGateway, str]
) -> None:
    from ..cli.conftest import run_cli_inprocess

    gateway, endpoint = bad_gateway
    gateway.reply = BAD_REPLIES["not utf-8"]
    run = await run_cli_inprocess("open-session", "--endpoint", endpoint, "--api-key",
                                  TEST_KEY, "--plaintext", "--json")
    assert run.code == 5, run.out + run.err
    assert run.json["category"] == "malformed"
    assert run.json["code"] == "PROTOCOL_STATUS_CODE_PROTOCOL_VIOLATION"
    assert "malformed OpenSessionReply at byte" in run.json["error"]
