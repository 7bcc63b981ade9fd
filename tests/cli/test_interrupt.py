"""Ctrl-C (SIGINT) and SIGTERM part way through a streaming command: what arrived is
printed, as valid JSON that says it is incomplete, and the exit code is 130 or 143 (also
inside `batch`). Real signals to a real `mxgw` process; each test waits for what the
process printed (lines, or its --progress on stderr), never for a time."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.server import Server

from mxgw._proto.galaxy_repository import v1 as gr
from mxgw.cli.batch import run_batch
from mxgw.cli.context import Context
from mxgw.cli.main import amain
from mxgw.sim import RuntimeConfig, SimServer
from mxgw.sim.galaxy import GalaxyModel, GalaxyService

from ..conftest import ROOT, TEST_KEY, eventually, sim_config

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals to a child")

OBJECTS, PAGE = 50, 10
BATCH_EOR = "__MXGW_BATCH_EOR__"


def _default_sigint() -> None:
    # A shell without job control starts background jobs with SIGINT ignored, and a
    # child inherits that (and then keeps ignoring it): give the child Ctrl-C back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Child:
    """A running `mxgw` whose stdout and stderr are read as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.out = bytearray()
        self.err = bytearray()
        self.changed = asyncio.Event()
        assert proc.stdout is not None and proc.stderr is not None
        self.readers = [asyncio.ensure_future(self._read(proc.stdout, self.out)),
                        asyncio.ensure_future(self._read(proc.stderr, self.err))]

    async def _read(self, stream: asyncio.StreamReader, into: bytearray) -> None:
        while chunk := await stream.read(65536):
            into += chunk
            self.changed.set()
        self.changed.set()

    async def until(self, predicate: Callable[[], bool], timeout: float = 30) -> None:
        """Wait until `predicate()` holds on what the child printed so far."""
        async def wait() -> None:
            while not predicate():
                assert not all(r.done() for r in self.readers), (self.out, self.err)
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), timeout)

    def lines(self) -> list[str]:
        return self.out.decode().splitlines()

    async def stop(self, signum: signal.Signals) -> int:
        """Send `signum`; the exit code once the child has ended and said everything."""
        self.proc.send_signal(signum)
        await asyncio.wait_for(asyncio.gather(*self.readers), 30)
        code = await asyncio.wait_for(self.proc.wait(), 30)
        assert b"Traceback" not in self.err, self.err.decode()
        assert TEST_KEY.encode() not in self.out + self.err
        return code


@pytest.fixture
async def spawn() -> AsyncIterator[Callable[..., Any]]:
    children: list[Child] = []

    async def start(*argv: str) -> Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mxgw.cli", *argv, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
            env={**os.environ, "MXGATEWAY_API_KEY": TEST_KEY}, preexec_fn=_default_sigint)
        children.append(Child(proc))
        return children[-1]

    yield start
    for child in children:
        if child.proc.returncode is None:
            child.proc.kill()
            await child.proc.wait()
        for reader in child.readers:
            reader.cancel()


def connect(endpoint: str) -> list[str]:
    return ["--endpoint", endpoint, "--plaintext"]  # the key: MXGATEWAY_API_KEY


def progress_shows(child: Child, noun: str) -> Callable[[], bool]:
    """The child's --progress (one line per update on a pipe) counted one `noun` or more."""
    return lambda: re.search(rf"^[\d,]+ (of [\d,]+ )?{noun}", child.err.decode(), re.M) is not None


def interrupted(document: Any, signum: signal.Signals, count: int) -> None:
    """`document` is the interrupted envelope of `count` items."""
    assert document["type"] == "error" and document["category"] == "interrupted"
    assert document["code"] == signum.name and document["complete"] is False
    assert document["count"] == count
    assert f"interrupted by {signum.name} after {count} " in document["error"]


# ---------------------------------------------------------------- stream-events

EVENTS = 3


@pytest.fixture
async def queued() -> AsyncIterator[tuple[SimServer, str]]:
    """A gateway holding a session with EVENTS first values queued and nothing more to come
    (the items do not change on their own)."""
    async with SimServer(sim_config(RuntimeConfig(first_value_delay=0, event_rate=0,
                                                  alarm_rate=0))) as sim:
        session = sim.runtime.open_session("held")
        server = session.register("held")
        for n in range(1, EVENTS + 1):
            session.advise(session.add_item(server, f"TestMachine_00{n}.TestInt"), False)
        yield sim, session.id


async def test_json_prints_the_events_received_in_one_incomplete_document(
        spawn: Any, queued: tuple[SimServer, str]) -> None:
    sim, sid = queued
    signum = signal.SIGINT
    child = await spawn("stream-events", "--session-id", sid, "--timeout", "120", "--json",
                        "--progress", *connect(sim.endpoint))
    await child.until(progress_shows(child, "event"))
    assert await child.stop(signum) == 128 + signum
    (line,) = child.lines()  # one JSON document, on one line
    document = json.loads(line)
    shown = int(re.findall(r"^(\d+) events?", child.err.decode(), re.M)[0])
    interrupted(document, signum, len(document["received"]))
    assert shown <= len(document["received"]) <= EVENTS
    assert all(e["family"] == "MX_EVENT_FAMILY_ON_DATA_CHANGE" for e in document["received"])
    assert document["received"][0]["workerSequence"] == "1"


async def test_jsonl_lines_stay_whole_and_the_last_says_incomplete(
        spawn: Any, queued: tuple[SimServer, str]) -> None:
    sim, sid = queued
    child = await spawn("stream-events", "--session-id", sid, "--timeout", "120", "--jsonl",
                        *connect(sim.endpoint))
    await child.until(lambda: child.out.count(b"\n") >= EVENTS)
    assert await child.stop(signal.SIGINT) == 130
    *events, last = [json.loads(line) for line in child.lines()]
    assert [e["workerSequence"] for e in events] == ["1", "2", "3"]
    interrupted(last, signal.SIGINT, EVENTS)
    assert "received" not in last  # printed above it already


async def test_text_output_ends_with_a_note_on_stderr(
        spawn: Any, queued: tuple[SimServer, str]) -> None:
    sim, sid = queued
    child = await spawn("stream-events", "--session-id", sid, "--timeout", "120",
                        *connect(sim.endpoint))
    await child.until(lambda: child.out.count(b"\n") >= EVENTS)
    assert await child.stop(signal.SIGTERM) == 143
    assert [line.split()[0] for line in child.lines()] == ["#1", "#2", "#3"]
    assert child.err.decode() == ("mxgw: interrupted by SIGTERM after 3 events: the output "
                                  "is incomplete\n")


# ---------------------------------------------------------------- galaxy-discover

class HeldGalaxy(GalaxyService):
    """A Galaxy Repository that serves the first DiscoverHierarchy page and holds the next:
    an interrupt finds exactly one page received."""

    def __init__(self) -> None:
        super().__init__(GalaxyModel.default(OBJECTS))
        self.release = asyncio.Event()
        self.holding = asyncio.Event()
        self.fail = False
        """Once released, fail the held call instead of answering it."""

    async def discover_hierarchy(
            self, message: gr.DiscoverHierarchyRequest) -> gr.DiscoverHierarchyReply:
        if message.page_token:  # not a first page
            self.holding.set()
            await self.release.wait()
            if self.fail:
                raise GRPCError(Status.UNAVAILABLE, "the Galaxy Repository went away")
        return await super().discover_hierarchy(message)


@dataclass
class Held:
    """A HeldGalaxy served on a loopback port."""

    service: HeldGalaxy
    server: Server
    endpoint: str


@pytest.fixture
async def held_galaxy() -> AsyncIterator[Held]:
    service = HeldGalaxy()
    server = Server([service])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    await server.start(sock=sock)
    yield Held(service, server, f"127.0.0.1:{sock.getsockname()[1]}")
    service.release.set()
    server.close()
    await server.wait_closed()


@pytest.fixture
def held(held_galaxy: Held) -> str:
    """The endpoint of a HeldGalaxy."""
    return held_galaxy.endpoint


DISCOVER = ("galaxy-discover", "--no-attributes", "--page-size", str(PAGE))


async def test_interrupted_discover_is_not_a_complete_array(spawn: Any, held: str) -> None:
    child = await spawn(*DISCOVER, "--json", "--progress", *connect(held))
    await child.until(progress_shows(child, "object"))
    assert f"of {OBJECTS} objects" in child.err.decode()  # the gateway's total
    assert await child.stop(signal.SIGINT) == 130
    (line,) = child.lines()
    document = json.loads(line)
    assert isinstance(document, dict)  # not an array that passes for the whole hierarchy
    interrupted(document, signal.SIGINT, PAGE)
    assert len(document["received"]) == PAGE and all("tagName" in o
                                                     for o in document["received"])
    # The progress line was completed before the process ended.
    assert child.err.decode().splitlines()[-1].startswith(f"{PAGE} of {OBJECTS} objects")


async def test_interrupted_discover_jsonl_and_text(spawn: Any, held: str) -> None:
    lines = await spawn(*DISCOVER, "--jsonl", *connect(held))
    text = await spawn(*DISCOVER, *connect(held))
    await lines.until(lambda: lines.out.count(b"\n") >= PAGE)
    await text.until(lambda: text.out.count(b"\n") >= PAGE)
    assert await lines.stop(signal.SIGTERM) == 143
    assert await text.stop(signal.SIGINT) == 130
    *objects, last = [json.loads(line) for line in lines.lines()]
    assert len(objects) == PAGE
    interrupted(last, signal.SIGTERM, PAGE)
    assert len(text.lines()) == PAGE
    assert text.err.decode() == (f"mxgw: interrupted by SIGINT after {PAGE} objects: the "
                                 "output is incomplete\n")


async def test_a_failure_part_way_is_marked_incomplete_too(held_galaxy: Held) -> None:
    """The second page fails: the first page is in the envelope, which says incomplete
    (in process: no signal here)."""
    out, err = io.StringIO(), io.StringIO()
    run = asyncio.ensure_future(amain([*DISCOVER, "--json", *connect(held_galaxy.endpoint),
                                       "--api-key", TEST_KEY], Context(out, err)))
    await asyncio.wait_for(held_galaxy.service.holding.wait(), 30)
    held_galaxy.service.fail = True
    held_galaxy.service.release.set()
    assert await asyncio.wait_for(run, 30) == 4  # a gRPC status
    (line,) = out.getvalue().splitlines()
    document = json.loads(line)
    assert (document["type"], document["category"], document["code"]) == (
        "error", "grpc", "UNAVAILABLE")
    assert document["complete"] is False
    assert document["count"] == len(document["received"]) == PAGE


# ---------------------------------------------------------------- galaxy-watch, stream-alarms

async def test_watch_json_lines_end_with_the_incomplete_line(spawn: Any, sim: SimServer) -> None:
    child = await spawn("galaxy-watch", "--json", *connect(sim.endpoint))
    await child.until(lambda: b"\n" in child.out)
    assert await child.stop(signal.SIGINT) == 130
    first, last = [json.loads(line) for line in child.lines()]
    assert first["sequence"] == "1"
    interrupted(last, signal.SIGINT, 1)


async def test_stream_alarms_json_prints_what_arrived(spawn: Any, sim: SimServer) -> None:
    child = await spawn("stream-alarms", "--timeout", "120", "--json", "--progress",
                        *connect(sim.endpoint))
    await child.until(progress_shows(child, "message"))
    assert await child.stop(signal.SIGINT) == 130
    (line,) = child.lines()
    document = json.loads(line)
    messages = document["received"]
    interrupted(document, signal.SIGINT, len(messages))
    arms = [next(iter(m)) for m in messages]
    snapshot = len(sim.runtime.alarms.snapshots())
    # A prefix of the feed: the snapshot, its marker, the provider status.
    assert arms == (["activeAlarm"] * snapshot + ["snapshotComplete", "providerStatus"]
                    )[:len(arms)]


async def test_an_interrupted_bench_prints_what_it_measured(spawn: Any, sim: SimServer) -> None:
    child = await spawn("bench-stream-events", "--duration-seconds", "300", "--warmup-seconds",
                        "0", "--json", *connect(sim.endpoint))
    await eventually(lambda: any(s.name == "mxgw-bench-stream-events" and s.events.subscribed
                                 for s in sim.runtime.sessions.values()), 60)
    assert await child.stop(signal.SIGINT) == 130
    (line,) = child.lines()
    document = json.loads(line)
    assert (document["category"], document["code"], document["complete"]) == (
        "interrupted", "SIGINT", False)
    assert document["error"] == "interrupted by SIGINT: the output is incomplete"
    summary = document["received"]  # the upstream shape, of the time measured
    assert set(summary) == {"language", "durationMs", "totalEvents", "eventsPerSecond",
                            "latencyMs"}
    assert summary["durationMs"] > 0 and summary["totalEvents"] >= 0


# ---------------------------------------------------------------- before connecting

@pytest.fixture
async def silent() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """An endpoint that accepts connections and never speaks (so a client stays in its
    connect phase), and an Event set once one is accepted."""
    accepted = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        accepted.set()
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}", accepted
    server.close()
    for writer in writers:
        writer.close()
    await server.wait_closed()


STREAMING: dict[tuple[str, ...], dict[str, Any]] = {  # line -> its envelope's received
    ("stream-events", "--session-id", "session-x", "--json"): {"received": []},
    ("stream-alarms", "--json"): {"received": []},
    ("galaxy-discover", "--json"): {"received": []},
    ("galaxy-watch", "--json"): {},  # JSON lines: the envelope is the last line
    ("stream-events", "--session-id", "session-x", "--jsonl"): {},
}


@pytest.mark.parametrize("argv", list(STREAMING), ids=" ".join)
async def test_interrupted_while_connecting_says_nothing_arrived(
        spawn: Any, silent: tuple[str, asyncio.Event], argv: tuple[str, ...]) -> None:
    endpoint, accepted = silent
    child = await spawn(*argv, "--timeout", "120", *connect(endpoint))
    await asyncio.wait_for(accepted.wait(), 30)
    assert await child.stop(signal.SIGINT) == 130
    (line,) = child.lines()
    document = json.loads(line)
    interrupted(document, signal.SIGINT, 0)
    assert {k: v for k, v in document.items() if k == "received"} == STREAMING[argv]


async def test_interrupted_while_connecting_in_text_says_after_0(
        spawn: Any, silent: tuple[str, asyncio.Event]) -> None:
    endpoint, accepted = silent
    child = await spawn("stream-alarms", "--timeout", "120", *connect(endpoint))
    await asyncio.wait_for(accepted.wait(), 30)
    assert await child.stop(signal.SIGTERM) == 143
    assert child.out == b""
    assert child.err.decode() == ("mxgw: interrupted by SIGTERM after 0 messages: the "
                                  "output is incomplete\n")


async def test_a_bench_interrupted_while_connecting_has_an_empty_summary(
        spawn: Any, silent: tuple[str, asyncio.Event]) -> None:
    endpoint, accepted = silent
    child = await spawn("bench-read-bulk", "--json", "--timeout", "120", *connect(endpoint))
    await asyncio.wait_for(accepted.wait(), 30)
    assert await child.stop(signal.SIGINT) == 130
    (line,) = child.lines()
    document = json.loads(line)
    assert (document["category"], document["complete"]) == ("interrupted", False)
    assert document["received"]["totalCalls"] == 0
    assert document["received"]["durationMs"] == 0


# ---------------------------------------------------------------- batch

async def test_batch_answers_the_interrupted_line_then_stops(spawn: Any, held: str) -> None:
    child = await spawn("batch")
    assert child.proc.stdin is not None
    child.proc.stdin.write(f"{' '.join(DISCOVER)} --progress {' '.join(connect(held))}\n"
                           "version\n".encode())
    await child.proc.stdin.drain()
    await child.until(progress_shows(child, "object"))
    assert await child.stop(signal.SIGINT) == 130
    envelope, eor = child.lines()  # the line after it (version) was never run
    assert eor == BATCH_EOR
    document = json.loads(envelope)
    interrupted(document, signal.SIGINT, PAGE)
    assert len(document["received"]) == PAGE


async def test_batch_between_lines_just_stops(spawn: Any) -> None:
    child = await spawn("batch")
    assert child.proc.stdin is not None
    child.proc.stdin.write(b"version\n")
    await child.proc.stdin.drain()
    await child.until(lambda: child.out.endswith(f"{BATCH_EOR}\n".encode()))
    assert await child.stop(signal.SIGTERM) == 143
    assert child.lines()[-1] == BATCH_EOR
    assert child.err.decode() == "mxgw: interrupted by SIGTERM\n"


async def test_a_batch_line_after_a_stream_reports_only_its_own_failure(sim: SimServer) -> None:
    """What a stream received belongs to its own line: the next line's envelope is plain."""
    c = " ".join([*connect(sim.endpoint), "--api-key", TEST_KEY])
    lines = io.StringIO(f"galaxy-watch --max-events 1 {c}\nregister --no-such-flag {c}\n")
    out = io.StringIO()
    ctx = Context(out, io.StringIO())
    try:
        await run_batch(ctx, lines)
    finally:
        await ctx.aclose()
    watch, eor, failure, eor2 = out.getvalue().splitlines()
    assert json.loads(watch)["sequence"] == "1" and eor == eor2 == BATCH_EOR
    envelope = json.loads(failure)
    assert envelope["type"] == "error" and "complete" not in envelope and "count" not in envelope
