"""The library's log records: what it logs under `mxgw.*` and at which level, silence by
default, and never the API key, whatever happens to the connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from hpack import huffman_constants
from hpack.huffman import HuffmanEncoder

import mxgw
from mxgw import GatewayClient, SessionReplaced
from mxgw.sim import SimConfig, SimServer

from ..conftest import ROOT, TEST_KEY, eventually, first_data_change, sim_config

KEY = "mxgw_logs_DURABLEdebugSECRETvalue"
TAG = "TestMachine_001.TestInt"


def encodings(secret: str) -> list[str]:
    """How a key could show in a record: as is, as the header value, and both as HPACK
    Huffman-coded bytes (as a bytes repr would print them)."""
    encoder = HuffmanEncoder(huffman_constants.REQUEST_CODES,
                             huffman_constants.REQUEST_CODES_LENGTH)
    texts = [secret, f"Bearer {secret}"]
    return texts + [repr(encoder.encode(t.encode()))[2:-1] for t in texts]


def record_text(record: logging.LogRecord) -> str:
    return " ".join([record.getMessage(), repr(record.args), record.exc_text or ""])


def messages(caplog: pytest.LogCaptureFixture, name: str, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name and r.levelno == level]


async def test_a_durable_run_with_drops_and_a_replacement_logs_no_key_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger of every library
    async with SimServer(SimConfig(api_keys=[KEY])) as sim, GatewayClient.connect(
            sim.endpoint, api_key=KEY, plaintext=True) as client:
        durable = await client.durable_session("logs", backoff=0.02, max_backoff=0.2)
        server = await durable.register("logs")
        [result] = await durable.subscribe_bulk(server, [TAG])
        events = durable.events()
        await asyncio.wait_for(events.__anext__(), 10)
        reading = asyncio.get_running_loop().create_task(events.__anext__())
        await sim.drop_connections()
        await eventually(lambda: durable.health().reconnects == 1)
        await durable.write(server, result.item_handle, 1)  # (a write is never retried)
        await asyncio.wait_for(reading, 10)  # an event after the resume
        await sim.send_goaway(close_after=0.02)
        sim.runtime.fault_session(durable.id)
        while not isinstance(await asyncio.wait_for(events.__anext__(), 10), SessionReplaced):
            pass
        await asyncio.wait_for(events.__anext__(), 10)  # the new session's first value
        await durable.close()
    records = caplog.records
    assert any(r.name.startswith("hpack") for r in records), "hpack logged nothing: blind"
    assert not [r.name for r in records if KEY in record_text(r)]
    # Any encoding, in every record but hpack's own (tests/client/test_key_logging.py).
    assert not [r.name for r in records if not r.name.startswith("hpack")
                and any(e in record_text(r) for e in encodings(KEY))]
    # What happened, each at its level.
    assert messages(caplog, "mxgw.connection", logging.INFO)[0].startswith("connected to")
    assert any("reconnected" in m for m in messages(caplog, "mxgw.connection", logging.INFO))
    assert any("lost" in m for m in messages(caplog, "mxgw.connection", logging.WARNING))
    assert any("event stream lost" in m
               for m in messages(caplog, "mxgw.durable", logging.WARNING))
    assert any("replacing it" in m for m in messages(caplog, "mxgw.durable", logging.WARNING))
    assert any("replaced by" in m for m in messages(caplog, "mxgw.durable", logging.INFO))
    assert any("opened" in m for m in messages(caplog, "mxgw.session", logging.INFO))
    assert messages(caplog, "mxgw.events", logging.DEBUG)  # each stream opened


async def test_a_plain_stream_logs_its_resume_and_a_replay_gap(
    caplog: pytest.LogCaptureFixture, sim: SimServer, client: GatewayClient,
) -> None:
    caplog.set_level(logging.INFO, logger="mxgw")
    session = await client.open_session("plain")
    server = await session.register("plain")
    item = await session.add_item(server, TAG)
    await session.advise(server, item)
    async with session.events() as events:
        await first_data_change(events, item)
        reading = asyncio.get_running_loop().create_task(first_data_change(events, item))
        await sim.drop_connections()
        await eventually(lambda: events.resumes == 1)
        await session.write(server, item, 3)
        await reading
    assert any("resuming the event stream after sequence 1" in m
               for m in messages(caplog, "mxgw.events", logging.INFO))
    await session.close()


def test_the_library_is_silent_until_logging_is_configured() -> None:
    """A lost connection is a WARNING; without a handler of the application's, Python
    would print it on stderr (its last-resort handler): the NullHandler on `mxgw` stops
    that."""
    code = f"""
import asyncio, contextlib
from mxgw import ConnectionLostError, GatewayClient
from mxgw.sim import SimConfig, SimServer

async def main():
    async with SimServer(SimConfig(api_keys=[{TEST_KEY!r}])) as sim:
        async with GatewayClient.connect(sim.endpoint, api_key={TEST_KEY!r},
                                         plaintext=True) as client:
            session = await client.open_session("quiet")
            await sim.drop_connections()
            with contextlib.suppress(ConnectionLostError):
                await session.register("quiet")  # the loss shows here, or
            await session.register("quiet")  # over a new connection
asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


class StallingProxy:
    """A TCP proxy to the gateway that, once `stall()` is called, stops forwarding in both
    directions but keeps every connection open (a link that hangs without closing)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.stalled = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stall(self) -> None:
        self.stalled = True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pump(source, sink))
            self._tasks.add(task)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                if not self.stalled:
                    sink.write(data)
        sink.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def stalling_proxy(sim: SimServer) -> AsyncIterator[StallingProxy]:
    proxy = StallingProxy(("127.0.0.1", sim.port))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


async def test_a_keepalive_timeout_is_logged_as_such(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mxgw")
    async with SimServer(sim_config()) as sim, stalling_proxy(sim) as proxy, \
            GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as direct:
        session = await direct.open_session("keepalive")
        async with GatewayClient.connect(f"127.0.0.1:{proxy.port}", api_key=TEST_KEY,
                                         plaintext=True, keepalive_time=1.0,
                                         keepalive_timeout=0.5, eager=False) as client:
            events = client.session(session.id).events(resume=False)
            reading = asyncio.get_running_loop().create_task(events.__anext__())
            await eventually(lambda: sim.runtime.sessions[session.id].events.subscribed)
            proxy.stall()  # before the first ping (1 s after the connection was made)
            with pytest.raises(mxgw.ConnectionLostError):
                await asyncio.wait_for(reading, 20)
        await session.close()
    warnings = messages(caplog, "mxgw.connection", logging.WARNING)
    assert any(m.startswith("keepalive timeout: 127.0.0.1:") for m in warnings), warnings
