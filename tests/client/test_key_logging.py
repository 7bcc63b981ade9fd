"""With every logger at DEBUG (hpack, h2, grpclib, asyncio, mxgw), no log record of the
client or the simulator holds the API key in any encoding: raw, repr, hex, base64, or an
HPACK literal (Huffman-coded or not) in a header block."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterator

import pytest
from hpack import Encoder, NeverIndexedHeaderTuple

from mxgw import GatewayClient
from mxgw.errors import UnauthenticatedError
from mxgw.sim import SimConfig, SimServer

from ..conftest import first_data_change
from ..secret_scan import CaptureAll, find_in_record, find_secret

KEY = "mxgw_logs_DEBUGlevelSECRETvalue"
WRONG_KEY = "mxgw_logs_WRONGkeyNEVERaccepted"
TAG = "TestMachine_001.TestChangingInt"


@pytest.fixture
def every_record() -> Iterator[CaptureAll]:
    """Every record of every logger at DEBUG, caught on the root logger."""
    root = logging.getLogger()
    capture = CaptureAll()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


def test_the_scanner_finds_the_key_in_each_encoding() -> None:
    """The scan below is not blind: each encoding of the key is found."""
    block = Encoder().encode([NeverIndexedHeaderTuple(b"authorization", f"Bearer {KEY}")],
                             huffman=True)
    assert KEY.encode() not in block  # Huffman-coded: not there as bytes
    record = logging.LogRecord("hpack.hpack", logging.DEBUG, __file__, 1,
                               "Encoded header block to %s", (block,), None)
    assert find_secret(block, KEY) == "HPACK literal"
    assert find_in_record(record, KEY) == "HPACK literal in a bytes literal"
    assert find_secret(f"hex {block.hex()}", KEY) == "HPACK literal in hex"
    assert find_secret(f"logged {block!r}", KEY) == "HPACK literal in a bytes literal"
    for prefix in ("", "a", "ab"):
        encoded = base64.b64encode((prefix + KEY).encode()).decode()
        assert find_secret(f"token={encoded}", KEY) == "base64"
    assert find_secret(repr(KEY.encode()), KEY) == "raw"
    assert find_secret("nothing to see", KEY) is None


async def test_no_log_record_holds_the_key(every_record: CaptureAll) -> None:
    asyncio.get_running_loop().set_debug(True)  # asyncio's own DEBUG records too
    async with SimServer(SimConfig(api_keys=[KEY])) as sim:
        async with GatewayClient.connect(sim.endpoint, api_key=WRONG_KEY,
                                         plaintext=True) as wrong:
            with pytest.raises(UnauthenticatedError):
                await wrong.open_session("logs")
        async with GatewayClient.connect(sim.endpoint, api_key=KEY, plaintext=True) as client:
            session = await client.open_session("logs")  # unary
            server = await session.register("logs")
            (sub,) = await session.subscribe_bulk(server, [TAG])
            async with session.events() as stream:  # server stream
                await first_data_change(stream, sub.item_handle)
                await sim.drop_connections()  # the stream resumes on a new connection
                await first_data_change(stream, sub.item_handle)
            galaxy = client.galaxy()
            assert await galaxy.test_connection()
            watch = galaxy.watch_deploy_events()  # the other service's server stream
            await anext(watch)
            await watch.aclose()  # type: ignore[attr-defined]
            await session.close()
    records = list(every_record.records)
    every_record.records.clear()
    logging.getLogger().removeHandler(every_record)  # the scan's own hpack use: not caught

    names = {record.name for record in records}
    assert {"hpack.hpack", "grpclib.server", "mxgw.sim"} <= names, names
    blocks = [r for r in records if r.msg in ("Encoded header block to %s", "Decoding %s")]
    assert len(blocks) >= 10, "hpack logged no header blocks: the scan would be blind"
    leaks = [(r.name, r.msg, how) for r in records
             for secret in (KEY, WRONG_KEY) if (how := find_in_record(r, secret))]
    assert not leaks, leaks[:5]
    assert any("SENSITIVE_REDACTED" in r.getMessage() and "authorization" in r.getMessage()
               for r in records if r.msg.startswith("Decoded")), \
        "the simulator's decoded authorization header is not shown as redacted"
