"""The lean data path (`mxgw.datapath`): header blocks a peer's HPACK decoder reads back
as sent, `authorization` never-indexed on the wire, writes coalesced without loss; and
the grpclib internals it relies on are still the pinned grpclib's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpclib
import grpclib.protocol
import hpack
import pytest
from h2.connection import H2Connection
from h2.events import Event, RequestReceived
from hpack import HeaderTuple, NeverIndexedHeaderTuple

from mxgw import GatewayClient, MxGatewayError
from mxgw.datapath import (
    CachedHeaderDecoder,
    CachedHeaderEncoder,
    CoalescingTransport,
    LeanH2Protocol,
)
from mxgw.sim import SimServer
from mxgw.transport import _Channel

from ..conftest import TEST_KEY
from .peers import h2_peer

REQUEST = [
    (":method", "POST"),  # in HPACK's static table: an index
    (":scheme", "http"),
    (":path", "/mxaccess_gateway.v1.MxAccessGateway/Invoke"),  # static name, literal value
    (":authority", "127.0.0.1:5000"),
    ("grpc-timeout", "2999m"),
    ("te", "trailers"),  # neither name nor value in the static table
    ("content-type", "application/grpc"),
    ("user-agent", "grpc-python-grpclib"),
    ("authorization", f"Bearer {TEST_KEY}"),
]


def _decoded(decoder: hpack.Decoder, block: bytes) -> list[tuple[str, str, bool]]:
    return [(str(name), str(value), isinstance(header, NeverIndexedHeaderTuple))
            for header in decoder.decode(block) for name, value in [header]]


def test_header_blocks_decode_as_sent_and_repeat_as_indexes() -> None:
    encoder, decoder = CachedHeaderEncoder(), hpack.Decoder()
    expected = [(name, value, name == "authorization") for name, value in REQUEST]
    first = encoder.encode(REQUEST)
    assert TEST_KEY.encode() not in first  # Huffman-coded
    assert _decoded(decoder, first) == expected
    entries = len(decoder.header_table.dynamic_entries)
    for timeout in ("2999m", "15S", "7u", "15S"):  # a field that changes from call to call
        headers = [(n, timeout if n == "grpc-timeout" else v) for n, v in REQUEST]
        block = encoder.encode(headers)
        assert _decoded(decoder, block) == [
            (n, timeout if n == "grpc-timeout" else v, s) for n, v, s in expected]
        assert len(block) < len(first) / 2  # the constant fields are indexes now
    # the per-call field and the key never enter the table, nor the decoder's
    assert len(decoder.header_table.dynamic_entries) == entries
    assert all(name not in (b"grpc-timeout", b"authorization")
               for name, _ in decoder.header_table.dynamic_entries)
    # hpack's own ways to ask for never-indexed fields are kept
    marked = [NeverIndexedHeaderTuple("x-token", "a"), ("x-other", "b", True),
              HeaderTuple("x-plain", "c")]
    assert _decoded(decoder, encoder.encode(marked)) == [
        ("x-token", "a", True), ("x-other", "b", True), ("x-plain", "c", False)]


def test_the_same_field_marked_and_unmarked_keeps_each_its_own_form() -> None:
    """The cache tells a field hpack is asked to keep never-indexed (a 3-tuple's flag)
    from the same name and value sent plainly, in either order."""
    encoder, decoder = CachedHeaderEncoder(), hpack.Decoder()
    for blocks in ([("x-id", "7")], [("x-id", "7", True)], [("x-id", "7")],
                   [("x-id", "7", True)], [("x-id", "7", False)]):
        sensitive = len(blocks[0]) > 2 and bool(blocks[0][2])
        assert _decoded(decoder, encoder.encode(blocks)) == [("x-id", "7", sensitive)]


def test_blocks_decode_as_sent_while_a_small_table_evicts() -> None:
    encoder, decoder = CachedHeaderEncoder(), hpack.Decoder()
    encoder.header_table_size = 200  # room for 2 or 3 of the fields below at a time
    decoder.max_allowed_table_size = 4096
    pool = [(f"x-field-{n % 7}", f"value-{n % 5}") for n in range(35)]
    for start in range(60):
        headers = [pool[(start * 3 + k) % len(pool)] for k in range(1 + start % 6)]
        headers = [*REQUEST[:2], *headers]
        assert [h[:2] for h in _decoded(decoder, encoder.encode(headers))] == headers


@pytest.mark.parametrize("encoder", [CachedHeaderEncoder, hpack.Encoder])
def test_the_caching_decoder_reads_every_block_as_hpacks_own_does(
    encoder: type[hpack.Encoder],
) -> None:
    """Repeated blocks of indexes and literals (from the cache), blocks that add entries
    and evict others (the cache emptied), a table size update, in one sequence."""
    sender, ours, theirs = encoder(), CachedHeaderDecoder(), hpack.Decoder()
    pool = [(f"x-field-{n % 7}", f"value-{n % 5}") for n in range(35)]
    blocks = []
    for round_ in range(120):
        if round_ == 60:
            sender.header_table_size = 100  # the peer's SETTINGS: a size update first
        extra = pool[round_ % 9:round_ % 9 + round_ % 4] if round_ % 5 == 0 else []
        block = sender.encode([*REQUEST, *extra])
        blocks.append(block)
        assert ours.decode(block, raw=True) == theirs.decode(block, raw=True)
        assert ours.header_table_size == theirs.header_table_size
        assert list(ours.header_table.dynamic_entries) == list(
            theirs.header_table.dynamic_entries)
    assert len(set(blocks)) < len(blocks) / 2  # most repeat: the cache was used


def test_a_block_is_not_reused_after_the_table_changed_to_one_of_the_same_look() -> None:
    """A large field evicts every entry, the fields after it are added again, the last
    one equal to the first entry before: the table has as many entries as before and an
    equal first one, yet another second one. An index block seen before it must be
    decoded again (hpack's own encoder, which searches the table first, sends these)."""
    sender, ours, theirs = hpack.Encoder(), CachedHeaderDecoder(), hpack.Decoder()
    first, second, later = ("x-e", "1"), ("x-f", "2"), ("x-y", "3")
    large = ("x-x", "v" * 4026)  # an entry of 4061 bytes: the 4096-byte table holds one
    blocks = [sender.encode([second, first]),  # the table: first, second
              sender.encode([second]),  # the second dynamic entry: index 63
              sender.encode([large, later, first]),  # the table: first, later
              sender.encode([later])]  # index 63 again: the same bytes, another field
    assert blocks[1] == blocks[3]
    for block in blocks:
        assert ours.decode(block, raw=True) == theirs.decode(block, raw=True)
    assert list(ours.header_table.dynamic_entries) == list(theirs.header_table.dynamic_entries)


def test_a_table_size_the_peer_asks_for_is_signalled_first() -> None:
    encoder, decoder = CachedHeaderEncoder(), hpack.Decoder()
    for _ in range(2):  # entries in the table, then their indexes cached
        assert [h[:2] for h in _decoded(decoder, encoder.encode(REQUEST))] == REQUEST
    encoder.header_table_size = 0  # as h2 does on the peer's SETTINGS_HEADER_TABLE_SIZE
    block = encoder.encode(REQUEST)
    assert block[0] == 0x20  # a dynamic table size update to 0 (RFC 7541 6.3)
    assert [h[:2] for h in _decoded(decoder, block)] == REQUEST
    assert decoder.header_table_size == 0
    again = encoder.encode(REQUEST)
    assert again[0] != 0x20  # signalled once
    assert [h[:2] for h in _decoded(decoder, again)] == REQUEST


@contextlib.asynccontextmanager
async def recording_server(requests: list[list[tuple[str, str, bool]]]
                           ) -> AsyncIterator[str]:
    """A plaintext HTTP/2 server of the test's own that records each request's headers as
    its h2 decodes them (and whether each was sent never-indexed), and answers every call
    UNIMPLEMENTED in a trailers-only response."""

    def answer(conn: H2Connection, event: Event) -> None:
        if isinstance(event, RequestReceived):
            requests.append([(str(n), str(v), isinstance(h, NeverIndexedHeaderTuple))
                             for h in event.headers or () for n, v in [h]])
            conn.send_headers(event.stream_id, [
                (":status", "200"), ("content-type", "application/grpc"),
                ("grpc-status", "12")], end_stream=True)

    async with h2_peer(answer, header_encoding="utf-8") as endpoint:
        yield endpoint


async def test_calls_send_authorization_never_indexed_and_the_same_headers_each_time() -> None:
    requests: list[list[tuple[str, str, bool]]] = []
    async with recording_server(requests) as endpoint:
        async with GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True) as c:
            for _ in range(3):
                with pytest.raises(MxGatewayError):
                    await c.open_session_raw("headers")
    assert len(requests) == 3
    for headers in requests:
        assert ("authorization", f"Bearer {TEST_KEY}", True) in headers
        assert [h for h in headers if h[2]] == [("authorization", f"Bearer {TEST_KEY}", True)]
        assert (":path", "/mxaccess_gateway.v1.MxAccessGateway/OpenSession", False) in headers
    without_timeout = [[h for h in r if h[0] != "grpc-timeout"] for r in requests]
    assert without_timeout[0] == without_timeout[1] == without_timeout[2]


async def test_coalesced_writes_arrive_whole_and_in_order_and_close_sends_them() -> None:
    received = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.set_result(await reader.read())  # until the client's close
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        raw, _ = await asyncio.get_running_loop().create_connection(
            asyncio.Protocol, "127.0.0.1", port)
        transport = CoalescingTransport(raw)
        pieces = [bytes([n]) * size for n, size in enumerate([1, 70_000, 3, 200_000, 5])]
        for piece in pieces:
            transport.write(piece)
        assert transport.get_write_buffer_size() > 0
        transport.close()  # in the same pass of the loop as the writes
        assert await asyncio.wait_for(received, 30) == b"".join(pieces)
    finally:
        server.close()
        await server.wait_closed()


async def test_the_grpclib_internals_the_data_path_relies_on_are_the_pinned_ones(
    sim: SimServer,
) -> None:
    assert grpclib.__version__.startswith("0.4."), grpclib.__version__
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as c:
        await c.open_session_raw("datapath")
        channel = c._grpc
        assert isinstance(channel, _Channel)
        protocol = channel.link.protocol
        assert isinstance(protocol, LeanH2Protocol)
        connection = protocol.connection
        assert isinstance(connection, grpclib.protocol.Connection)
        # h2_connection_of; and grpclib writes through the transport it was given
        assert isinstance(connection._connection, H2Connection)
        assert isinstance(connection._connection.encoder, CachedHeaderEncoder)
        assert isinstance(connection._connection.decoder, CachedHeaderDecoder)
        assert isinstance(connection._transport, CoalescingTransport)
    # the simulator's accepted connections: made from grpclib's protocol's parts
    made = sim._server._protocol_factory()
    assert isinstance(made, LeanH2Protocol)
    for part in ("handler", "config", "h2_config"):
        assert part in vars(made)
