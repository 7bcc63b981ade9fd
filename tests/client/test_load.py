"""64 sessions at once on one client, each streaming its events while it writes and reads:
nothing lost or reordered, every write completed once, and fds, tasks and RSS back to
where they were once everything is closed (the fault matrix of the durability issue).

The default run is short; `MXGW_SOAK_SECONDS=600 pytest -m soak tests/client/test_load.py`
runs the same for as long as asked."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field

import pytest

from mxgw import GatewayClient, Session, pb
from mxgw.sim import RuntimeConfig, SimServer
from mxgw.sim.event_log import EventLimits

from ..conftest import TEST_KEY, eventually, sim_config
from .resources import rss_kib, watched

SESSIONS = 64
TAGS = ["TestMachine_001.TestChangingInt", "TestMachine_002.TestChangingInt",
        "TestMachine_003.TestChangingInt", "TestMachine_004.TestInt"]
SOAK_SECONDS = float(os.environ.get("MXGW_SOAK_SECONDS", "0"))
RSS_SLACK_KIB = 24 * 1024
"""RSS may stay above the baseline by this much: freed memory is not all handed back to
the system (allocator arenas). Measured: +7 MiB after 3 s, +10 MiB after 30 s."""


@dataclass
class Worker:
    """One session: its events in a task of their own, writes and reads in another."""

    index: int
    session: Session
    server: int
    item: int
    sequences: list[int] = field(default_factory=list)
    write_completes: int = 0
    writes: int = 0
    reads: int = 0
    first_value: asyncio.Event = field(default_factory=asyncio.Event)

    async def consume(self, events: object) -> None:
        async for event in events:  # type: ignore[attr-defined]
            assert isinstance(event, pb.MxEvent)
            self.sequences.append(event.worker_sequence)
            if event.item_handle == self.item and event.on_data_change is not None:
                self.first_value.set()
            if event.on_write_complete is not None:
                self.write_completes += 1

    async def invoke(self, stop: asyncio.Event) -> None:
        await asyncio.wait_for(self.first_value.wait(), 30)  # the item's type is known
        value = self.index * 1_000_000
        while not stop.is_set():
            value += 1
            await self.session.write(self.server, self.item, value)
            self.writes += 1
            results = await self.session.read_bulk(self.server, TAGS[:2], timeout_ms=2000)
            assert all(r.was_successful for r in results), results
            self.reads += 1
            # the pace of a plant service, not a wait for a condition
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)


async def exercise(sim: SimServer, client: GatewayClient, seconds: float) -> int:
    """64 sessions streaming, writing and reading for `seconds` (and until each wrote
    twice), checked, then closed; the RSS at the end of the run."""
    workers: list[Worker] = []
    for index in range(SESSIONS):
        session = await client.open_session(f"load-{index}")
        server = await session.register(f"load-{index}")
        subscribed = await session.subscribe_bulk(server, TAGS)
        workers.append(Worker(index, session, server, subscribed[-1].item_handle))
    streams = [w.session.events() for w in workers]
    consumers = [asyncio.ensure_future(w.consume(s))
                 for w, s in zip(workers, streams, strict=True)]
    stop = asyncio.Event()
    invokers = [asyncio.ensure_future(w.invoke(stop)) for w in workers]
    done, _ = await asyncio.wait(invokers, timeout=seconds,
                                 return_when=asyncio.FIRST_EXCEPTION)
    if not done:  # and every session has written and read (a busy machine)
        await eventually(lambda: all(w.writes >= 2 for w in workers)
                         or any(i.done() for i in invokers), 60)
    stop.set()
    busy_rss = rss_kib()
    await asyncio.gather(*invokers)  # any failure of a write or read: raised
    assert not any(c.done() for c in consumers), [c for c in consumers if c.done()]
    # every write's OnWriteComplete, then the gateway's last event, arrive
    await eventually(lambda: all(w.write_completes >= w.writes for w in workers)
                     and all(w.sequences and w.sequences[-1] ==
                             sim.runtime.sessions[w.session.id].events.sequence
                             for w in workers), 30)
    for stream in streams:
        await stream.aclose()
    await asyncio.gather(*consumers)
    for worker in workers:
        await worker.session.close()
        # gapless from 1 and in order: nothing lost, repeated or reordered
        assert worker.sequences == list(range(1, len(worker.sequences) + 1)), worker.index
        assert worker.write_completes == worker.writes >= 2
        assert worker.reads == worker.writes
    assert [s.resumes for s in streams] == [0] * SESSIONS  # no connection was lost
    return busy_rss


async def run(seconds: float) -> None:
    # A small replay ring: the simulator runs in this process, and its rings (64 x 1,024
    # events by default) would dwarf what the client holds in the RSS figures.
    runtime = RuntimeConfig(first_value_delay=0.01, max_sessions=SESSIONS, alarm_rate=0,
                            events=EventLimits(replay_capacity=32))
    async with SimServer(sim_config(runtime)) as sim:
        with watched() as baseline:
            async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY,
                                             plaintext=True, timeout=30) as client:
                busy_rss = await exercise(sim, client, seconds)
            await baseline.restored(timeout=30)
            assert rss_kib() - baseline.rss_kib < RSS_SLACK_KIB, baseline.figures()
            print(f"\n{SESSIONS} sessions for {seconds:g} s: {baseline.figures()} "
                  f"(at the end of the run: {busy_rss} KiB)")


async def test_64_sessions_streaming_and_invoking_lose_nothing_and_leave_nothing() -> None:
    await run(3.0)


@pytest.mark.soak
@pytest.mark.skipif(not SOAK_SECONDS, reason="a soak: set MXGW_SOAK_SECONDS to run it")
async def test_64_sessions_soak() -> None:
    await run(SOAK_SECONDS)
