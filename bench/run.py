"""mxgw against Google's grpcio + protobuf, side by side: one markdown table of medians.

    python bench/run.py [--quick] [--rounds N] [--events N] [--objects N] [--no-sim]
                        [--profile DIR]

Starts the servers, then runs our client and a reference client on grpcio.aio + protobuf
(upb) through identical workloads, each client in its own process, interleaved round by
round, unpinned and pinned (server and client on separate cores, `os.sched_setaffinity`
on the child processes). Rows:

- against the neutral server (`bench/h2serve.py`: HTTP/2 framed by hand, every reply
  pre-encoded, many messages per DATA frame, so its own cost per call and per event is
  far below either client's): unary `Invoke` (`session.write`) with 1 and 16 in flight,
  data-change events through `session.events()`, a 10,000-entry `write_bulk` round trip,
  with client CPU per operation (`time.process_time` in the client: all its threads);
- against `mxgw sim` (what users of the simulator see): the same rows;
- cold start as whole processes (`mxgw version`, a grpcio.aio script making one call,
  and an mxgw script making one call), `mxgw batch` against `mxgw sim` (register, write,
  cached 5-tag read-bulk; commands/s, with the CPU the batch process and the simulator
  spend per command), the peak RSS of a client reading `--events` events, and of one
  paging a simulated Galaxy of `--objects` objects with `iter_hierarchy`.

Google's bindings are generated from protos/ with grpcio-tools (a dev extra) into a
temporary folder. `--quick` (fewer rounds, smaller counts) finishes in under 2 minutes.
`--profile DIR` prints no table: it runs the neutral-server workloads once per client under
cProfile and saves the stats (where the time goes).
The machine's load is noted: on a shared machine, read the ratios, not the absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
KEY = "mxgw_bench_BENCHkeyVALUE0123"
KEY_ENV = "MXGW_BENCH_KEY"
EOR = b"__MXGW_BATCH_EOR__\n"
STACKS = ("mxgw", "grpcio")
SIM_OBJECTS = 12_000
"""Enough Galaxy objects for 10,000 distinct writable, non-changing attributes."""
SIM_EVENT_RATE = 20.0
"""The simulator's change-rate multiplier: its changing attributes change 20x as often."""
SIM_EVENT_TAGS = 1000
"""Changing attributes advised for the simulator's event row (about 20,000 changes/s
asked for: more than the simulator makes, so the row shows what it can stream)."""
BATCH_TAGS = [f"TestMachine_00{n}.TestInt" for n in range(1, 6)]


@dataclass(frozen=True)
class Settings:
    rounds: int = 5
    unary: int = 2000
    """Calls per measurement, 1 in flight (16 in flight: twice as many)."""
    events: int = 100_000
    """Events per measurement of the stream row."""
    bulk_rounds: int = 3
    """10,000-entry write_bulk round trips per measurement (neutral server)."""
    sim_bulk_rounds: int = 1
    sim_seconds: float = 3.0
    """Seconds of the simulator's event stream per measurement."""
    sim_rounds: int = 3
    """Rounds that also run the `mxgw sim` rows (the first ones)."""
    sim_pinned: bool = True
    rss_events: int = 1_000_000
    galaxy_objects: int = 100_000
    """Objects of the simulator's Galaxy that the peak-RSS row pages through."""
    cold_runs: int = 10
    batch_commands: int = 300


FULL = Settings()
QUICK = Settings(rounds=3, unary=300, events=10_000, bulk_rounds=1, sim_seconds=1.0,
                 sim_rounds=1, sim_pinned=False, rss_events=100_000, galaxy_objects=20_000,
                 cold_runs=4,
                 batch_commands=60)


# ---------------------------------------------------------------------- processes

def python() -> list[str]:
    return [sys.executable]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(pid: int, cpus: set[int] | None) -> None:
    if cpus is not None:
        os.sched_setaffinity(pid, cpus)


class Child:
    """A long-lived child process that announces itself on its first stdout line."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
        assert self.proc.stdout is not None
        self.hello = self.proc.stdout.readline().decode()
        if not self.hello:
            raise RuntimeError(f"{argv[1:3]} ended before announcing itself")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def generate_pb2(out: Path) -> None:
    subprocess.run([*python(), "-m", "grpc_tools.protoc", f"-I{ROOT / 'protos'}",
                    f"--python_out={out}", f"--grpc_python_out={out}",
                    "mxaccess_gateway.proto"], check=True, cwd=ROOT / "protos")


def run_client(spec: dict[str, Any], cpus: set[int] | None) -> dict[str, dict[str, Any]]:
    """One client process through its workloads; its results by workload label."""
    proc = subprocess.Popen([*python(), str(BENCH / "clients.py"), json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    pin(proc.pid, cpus)
    out, err = proc.communicate(timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['stack']} client failed:\n{err.decode()[-3000:]}")
    results = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    return {r["workload"]: r for r in results}


# ---------------------------------------------------------------------- checks

def check_identical_requests(pb2_dir: Path) -> None:
    """Both stacks put the same bytes on the wire for the same call (correlation id aside)."""
    sys.path.insert(0, str(pb2_dir))
    import mxaccess_gateway_pb2 as g  # type: ignore[import-not-found]  # generated here

    from mxgw import pb
    from mxgw.contract import codec, commands

    def google_value(number: int) -> Any:
        return g.MxValue(data_type=g.MX_DATA_TYPE_INTEGER, variant_type="VT_I4",
                         int32_value=number)

    ours = codec.encode(pb.MxCommandRequest(
        session_id="s", command=commands.write(1, 7, 42, type_name="int32"),
        client_correlation_id="c"))
    theirs = g.MxCommandRequest(session_id="s", client_correlation_id="c", command=g.MxCommand(
        kind=g.MX_COMMAND_KIND_WRITE, write_command=g.WriteCommand(
            server_handle=1, item_handle=7, value=google_value(42)))).SerializeToString()
    items = [(i + 1, i % 1000) for i in range(1000)]
    ours_bulk = codec.encode(commands.write_bulk(1, items, type_name="int32"))
    # Session.write_bulk's own path: the entries encoded one by one, the payload joined
    encoded = commands.encoded_write_bulk(pb.MxCommandKind.WRITE_BULK, 1, items,
                                          type_name="int32")
    ours_encoded = codec.encode(commands.encoded_command(
        encoded.kind, encoded.head + b"".join(encoded.entries)))
    command = g.MxCommand(kind=g.MX_COMMAND_KIND_WRITE_BULK)
    command.write_bulk_command.server_handle = 1
    for handle, number in items:
        entry = command.write_bulk_command.entries.add()
        entry.item_handle = handle
        entry.value.CopyFrom(google_value(number))
    if ours != theirs or not ours_bulk == ours_encoded == command.SerializeToString():
        raise SystemExit("the two stacks would not send the same requests: fix bench/clients.py")


# ---------------------------------------------------------------------- the simulator

@dataclass
class SimTargets:
    writes: dict[str, dict[str, Any]]
    """Per stack: a session with a registration and one advised item."""
    bulk: dict[str, dict[str, Any]]
    """Per stack: a session with a registration and 10,000 advised items."""
    tags: list[str]
    """Changing attributes for the event row."""


def writable_tags(count: int) -> tuple[list[str], list[str]]:
    """`count` writable non-changing numeric attributes, and the changing ones."""
    from mxgw.sim.galaxy import SECURED_WRITE, VERIFIED_WRITE, VIEW_ONLY
    from mxgw.sim.galaxy.model import GalaxyModel

    still, changing = [], []
    for obj in GalaxyModel.default(SIM_OBJECTS, 0).objects():
        for attr in obj.attributes:
            name = f"{obj.tag_name}.{attr.name}"
            if attr.change_period_ms == 1000 and not attr.is_array:
                changing.append(name)
            elif (attr.change_period_ms == 0 and not attr.is_array and attr.data_type in (2, 3, 4)
                  and attr.security not in (VIEW_ONLY, SECURED_WRITE, VERIFIED_WRITE)):
                still.append(name)
    if len(still) < count:
        raise RuntimeError(f"only {len(still)} writable attributes in the simulator's Galaxy")
    return still[:count], changing


async def prepare_writes(endpoint: str, tags: list[str]) -> dict[str, Any]:
    """A session with `tags` advised, their first values in (so writes succeed)."""
    from mxgw import GatewayClient, MxAccessError

    async with GatewayClient.connect(endpoint, api_key=KEY, plaintext=True,
                                     timeout=120) as client:
        session = await client.open_session("bench-writes")
        server = await session.register("bench")
        handles = [r.item_handle for r in await session.add_item_bulk(server, tags)]
        await session.advise_item_bulk(server, handles)
        for _ in range(400):  # the first values arrive in advise order
            try:
                await session.write(server, handles[-1], 1, type_name="int32")
                break
            except MxAccessError:
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError("the simulator's items never resolved their type")
        return {"session": session.id, "server": server, "item": handles[0],
                "handles": handles if len(handles) > 1 else None}


async def prepare_events(endpoint: str, tags: list[str]) -> str:
    from mxgw import GatewayClient

    async with GatewayClient.connect(endpoint, api_key=KEY, plaintext=True,
                                     timeout=120) as client:
        session = await client.open_session("bench-events")
        server = await session.register("bench")
        handles = [r.item_handle for r in await session.add_item_bulk(server, tags)]
        await session.advise_item_bulk(server, handles)
        return session.id


async def close_session(endpoint: str, session_id: str) -> None:
    from mxgw import GatewayClient

    async with GatewayClient.connect(endpoint, api_key=KEY, plaintext=True) as client:
        await client.close_session_raw(session_id)


# ---------------------------------------------------------------------- rounds

Samples = dict[tuple[str, str, str], list[dict[str, Any]]]
"""(target, mode, stack) -> one result dict per round, by workload label."""


def neutral_workloads(s: Settings) -> list[dict[str, Any]]:
    return [
        {"label": "unary1", "name": "unary", "count": s.unary, "inflight": 1, "warmup": 200},
        {"label": "unary16", "name": "unary", "count": 2 * s.unary, "inflight": 16,
         "warmup": 200},
        {"label": "events", "name": "events", "count": s.events, "warmup": 2000},
        {"label": "bulk", "name": "bulk", "entries": 10_000, "rounds": s.bulk_rounds},
    ]


def sim_workloads(s: Settings, writes: dict[str, Any], bulk: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    calls = max(100, s.unary // 4)
    return [
        {"label": "unary1", "name": "unary", "count": calls, "inflight": 1, "warmup": 50,
         "target": writes},
        {"label": "unary16", "name": "unary", "count": 2 * calls, "inflight": 16,
         "warmup": 50, "target": writes},
        # The simulator spends seconds on each 10,000-entry bulk: no warm-up round.
        {"label": "bulk", "name": "bulk", "entries": 10_000, "rounds": s.sim_bulk_rounds,
         "warmup": False, "target": bulk},
    ]


def sim_events_workload(s: Settings, session_id: str) -> dict[str, Any]:
    return {"label": "events", "name": "events_for", "session": session_id, "skip": 1.0,
            "seconds": s.sim_seconds}


def run_sim(s: Settings, stack: str, base: dict[str, Any], sim: Child, endpoint: str,
            targets: SimTargets, cpus: set[int] | None) -> dict[str, dict[str, Any]]:
    """The `mxgw sim` rows of one client: the calls, then (in a second process, so the
    simulator makes no events while the calls are measured) a live event stream."""
    writes, bulk = targets.writes[stack], targets.bulk[stack]
    spec = {**base, "stack": stack, "endpoint": endpoint, "server_pid": sim.pid}
    calls = run_client({**spec, **writes, "workloads": sim_workloads(s, writes, bulk)}, cpus)
    events_session = asyncio.run(prepare_events(endpoint, targets.tags))
    try:
        calls.update(run_client({**spec, **writes,
                                 "workloads": [sim_events_workload(s, events_session)]}, cpus))
    finally:
        asyncio.run(close_session(endpoint, events_session))
    return calls


def rounds(s: Settings, modes: dict[str, tuple[set[int] | None, set[int] | None]],
           neutral: Child, pb2_dir: Path, sim: Child | None, sim_endpoint: str,
           targets: SimTargets | None, log: IO[str]) -> Samples:
    samples: Samples = {}
    port = int(neutral.hello)
    base = {"key": KEY, "pb2_dir": str(pb2_dir)}
    for r in range(s.rounds):
        for mode, (server_cpus, client_cpus) in modes.items():
            pin(neutral.pid, server_cpus)
            if sim is not None:
                pin(sim.pid, server_cpus)
            order = STACKS if r % 2 == 0 else STACKS[::-1]
            for stack in order:
                spec = {**base, "stack": stack, "endpoint": f"127.0.0.1:{port}",
                        "session": "bench", "server": 1, "item": 7, "server_pid": neutral.pid,
                        "workloads": neutral_workloads(s)}
                samples.setdefault(("neutral", mode, stack), []).append(
                    run_client(spec, client_cpus))
                if (sim is not None and targets is not None and r < s.sim_rounds
                        and (mode == "unpinned" or s.sim_pinned)):
                    samples.setdefault(("sim", mode, stack), []).append(
                        run_sim(s, stack, base, sim, sim_endpoint, targets, client_cpus))
            print(f"  round {r + 1}/{s.rounds} {mode} done "
                  f"(load {os.getloadavg()[0]:.2f})", file=log, flush=True)
    return samples


# ---------------------------------------------------------------------- cold start, batch, rss

def one_process(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (its rusage) of one whole process."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=ROOT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise RuntimeError(f"{argv} failed: {proc.stderr.read().decode()[-2000:]}")
    if proc.stderr is not None:
        proc.stderr.close()
    return elapsed, usage.ru_utime + usage.ru_stime


def mxgw_command() -> list[str]:
    script = Path(sys.executable).parent / "mxgw"
    return [str(script)] if script.exists() else [*python(), "-m", "mxgw.cli"]


def cold_start(s: Settings, pb2_dir: Path, endpoint: str) -> dict[str, list[tuple[float, float]]]:
    # Bytecode cached (in a folder of the run's), as an installed package has it: with
    # PYTHONDONTWRITEBYTECODE set, every run would compile each module changed since its
    # last .pyc, and the generated grpcio bindings, from source.
    env = {**os.environ, KEY_ENV: KEY, "PYTHONPYCACHEPREFIX": str(pb2_dir / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    runs = {
        "mxgw version": [*mxgw_command(), "version"],
        "grpcio one call": [*python(), str(BENCH / "one_call.py"), "grpcio", endpoint,
                            str(pb2_dir)],
        "mxgw one call": [*python(), str(BENCH / "one_call.py"), "mxgw", endpoint],
    }
    for argv in runs.values():  # warm the page cache
        one_process(argv, env)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(s.cold_runs):
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(one_process(runs[name], env))
    return times


class Batch:
    """A long-lived `mxgw batch` process, one command line at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([*mxgw_command(), "batch"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, cwd=ROOT,
                                     env={**os.environ, KEY_ENV: KEY})

    def run(self, line: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        first = None
        while (got := self.proc.stdout.readline()) != EOR:
            if not got:
                raise RuntimeError(f"batch ended during {line.split()[0]}")
            first = first or got
        if first is not None and first.startswith(b"{"):
            envelope = json.loads(first)
            if envelope.get("type") == "error":
                raise RuntimeError(f"batch failed: {first!r}")

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"\n")
        self.proc.stdin.close()
        self.proc.wait(30)


async def prepare_batch(endpoint: str) -> tuple[str, int, int]:
    """A session with a registration, the 5 read-bulk tags advised (so reads are served
    from the cache) and the first one written once."""
    from mxgw import GatewayClient, MxAccessError

    async with GatewayClient.connect(endpoint, api_key=KEY, plaintext=True) as client:
        session = await client.open_session("bench-batch")
        server = await session.register("bench")
        handles = [await session.add_item(server, tag) for tag in BATCH_TAGS]
        for handle in handles:
            await session.advise(server, handle)
        for _ in range(200):
            try:
                await session.write(server, handles[0], 1, type_name="int32")
                break
            except MxAccessError:
                await asyncio.sleep(0.05)
        return session.id, server, handles[0]


def batch_rates(s: Settings, sim: Child, endpoint: str) -> dict[str, dict[str, float]]:
    sid, server, item = asyncio.run(prepare_batch(endpoint))
    conn = f"--endpoint {endpoint} --plaintext --api-key-env {KEY_ENV} --json"
    base = f"--session-id {sid} --server-handle {server}"
    lines = {
        "register": f"register --session-id {sid} --client-name bench {conn}",
        "write": f"write {base} --item-handle {item} --type int32 --value 7 {conn}",
        "read-bulk": f"read-bulk {base} --items {','.join(BATCH_TAGS)} --timeout-ms 2000 "
                     f"{conn}",
    }
    batch = Batch()
    out: dict[str, dict[str, float]] = {}
    try:
        for name, line in lines.items():
            for _ in range(5):
                batch.run(line)
            batch_cpu, sim_cpu = cpu_seconds(batch.proc.pid), cpu_seconds(sim.pid)
            started = time.perf_counter()
            for _ in range(s.batch_commands):
                batch.run(line)
            elapsed = time.perf_counter() - started
            n = s.batch_commands
            out[name] = {"rate": n / elapsed,
                         "batch_cpu": (cpu_seconds(batch.proc.pid) - batch_cpu) / n,
                         "sim_cpu": (cpu_seconds(sim.pid) - sim_cpu) / n}
    finally:
        batch.stop()
    return out


def peak_rss(s: Settings, pb2_dir: Path, port: int) -> dict[str, dict[str, Any]]:
    out = {}
    for stack in STACKS:
        spec = {"stack": stack, "endpoint": f"127.0.0.1:{port}", "key": KEY,
                "pb2_dir": str(pb2_dir), "session": "bench", "server": 1, "item": 7,
                "workloads": [{"label": "rss", "name": "events", "count": s.rss_events,
                               "warmup": 1000, "samples": 10}]}
        out[stack] = run_client(spec, None)["rss"]
    return out


def galaxy_rss(s: Settings) -> dict[str, Any]:
    """bench/galaxy_memory.py: the client's RSS paging the whole hierarchy of a simulator
    with `galaxy_objects` objects (mxgw only: the Galaxy has no grpcio client here)."""
    proc = subprocess.run([*python(), str(ROOT / "bench" / "galaxy_memory.py"), "--objects",
                           str(s.galaxy_objects)], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


# ---------------------------------------------------------------------- the table

def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


class Table:
    def __init__(self, samples: Samples, modes: Sequence[str]) -> None:
        self.samples = samples
        self.modes = modes

    def values(self, target: str, mode: str, stack: str, label: str, what: str) -> list[float]:
        out = []
        for result in self.samples.get((target, mode, stack), []):
            r = result[label]
            if what == "rate":
                out.append(r["ops"] / r["seconds"])
            elif what == "cpu":
                out.append(r["cpu"] / r["ops"] * 1e6)
            elif what == "ms":
                out.append(r["seconds"] / r["ops"] * 1e3)
            elif what == "cpu_ms":
                out.append(r["cpu"] / r["ops"] * 1e3)
            elif what in ("server_cpu", "server_sys"):
                out.append(r[what] / r["ops"] * 1e6)
        return out

    def cell(self, target: str, mode: str, label: str, what: str, unit: str,
             digits: int = 0) -> str:
        ours = self.values(target, mode, "mxgw", label, what)
        theirs = self.values(target, mode, "grpcio", label, what)
        if not ours or not theirs:
            return ""
        a, b = med(ours), med(theirs)
        return f"{a / b:.2f}x ({fmt(a, digits)} vs {fmt(b, digits)} {unit})"

    def row(self, name: str, target: str, label: str, what: str, unit: str, goal: str,
            digits: int = 0) -> str:
        cells = [self.cell(target, mode, label, what, unit, digits) for mode in self.modes]
        return f"| {name} | {' | '.join(cells)} | {goal} |"

    def server_note(self, target: str) -> str:
        parts = []
        for label, unit in (("unary1", "per unary call"), ("unary16", "per call at 16 in "
                            "flight"), ("events", "per event"), ("bulk", "per write_bulk")):
            total, system = ([v for mode in self.modes for stack in STACKS
                              for v in self.values(target, mode, stack, label, what)]
                             for what in ("server_cpu", "server_sys"))
            if total:
                digits = 1 if label == "events" else 0
                parts.append(f"{fmt(med(total), digits)} µs {unit} "
                             f"({fmt(med(system), digits)} in the kernel)")
        return ", ".join(parts)


def print_table(s: Settings, samples: Samples, modes: Sequence[str],
                cold: dict[str, list[tuple[float, float]]] | None,
                batch: dict[str, dict[str, float]] | None,
                rss: dict[str, dict[str, Any]] | None, galaxy: dict[str, Any] | None,
                load: tuple[float, float], elapsed: float) -> None:
    t = Table(samples, modes)
    blank = " |" * (len(modes) - 1)
    print(f"mxgw vs grpcio {_version('grpcio')} + protobuf {_version('protobuf')} (upb), "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; medians of "
          f"{s.rounds} interleaved rounds (`mxgw sim` rows: {s.sim_rounds}"
          f"{'' if s.sim_pinned else ', unpinned only'}); ratio = mxgw ÷ grpcio; pinned: "
          f"server and client on separate cores.")
    print(f"Load average (1 min) {load[0]:.2f} at the start, {load[1]:.2f} at the end; "
          f"{elapsed:.0f} s in all.\n")
    print(f"| workload | {' | '.join(modes)} | goal |")
    print(f"|---|{'---|' * len(modes)}---|")
    sections = [("neutral", "")]
    if any(key[0] == "sim" for key in samples):
        sections.append(("sim", " (`mxgw sim`)"))
    for target, suffix in sections:
        print(t.row(f"unary `Invoke` (`session.write`), 1 in flight{suffix}", target,
                    "unary1", "rate", "calls/s", "≥ 0.9x"))
        print(t.row(f"unary, 16 in flight{suffix}", target, "unary16", "rate", "calls/s",
                    "≥ 0.9x"))
        print(t.row(f"client CPU per unary call, 1 in flight{suffix}", target, "unary1",
                    "cpu", "µs", "≤ 1.1x"))
        print(t.row(f"client CPU per unary call, 16 in flight{suffix}", target, "unary16",
                    "cpu", "µs", "≤ 1.1x"))
        what = ("streamed data-change events through `session.events()`" if target ==
                "neutral" else f"events through `session.events()`{suffix}, "
                f"{SIM_EVENT_TAGS} tags changing")
        print(t.row(what, target, "events", "rate", "ev/s", "≥ 2x"))
        print(t.row(f"client CPU per event{suffix}", target, "events", "cpu", "µs",
                    "≤ 0.5x", 1))
        print(t.row(f"10,000-entry `write_bulk` round trip{suffix}", target, "bulk", "ms",
                    "ms", "≤ 3x", 1))
        print(t.row(f"client CPU per `write_bulk` round trip{suffix}", target, "bulk",
                    "cpu_ms", "ms", "", 1))
    if cold:
        ms = {name: (med([w for w, _ in runs]) * 1e3, med([c for _, c in runs]) * 1e3)
              for name, runs in cold.items()}
        (vw, vc), (gw, gc), (ow, oc) = (ms["mxgw version"], ms["grpcio one call"],
                                        ms["mxgw one call"])
        print(f"| cold start: `mxgw version` vs a grpcio.aio script making one call "
              f"(wall; CPU) | {vw / gw:.2f}x ({vw:.0f} vs {gw:.0f} ms; {vc:.0f} vs "
              f"{gc:.0f} ms CPU) |{blank} ≤ 1.0x, and < 150 ms |")
        print(f"| cold start: a script making one call, mxgw vs grpcio.aio (wall; CPU) | "
              f"{ow / gw:.2f}x ({ow:.0f} vs {gw:.0f} ms; {oc:.0f} vs {gc:.0f} ms CPU) |"
              f"{blank} |")
    if batch:
        rates = " / ".join(fmt(v["rate"]) for v in batch.values())
        cpu = " / ".join(f"{v['batch_cpu'] * 1e3:.2f}" for v in batch.values())
        sim_cpu = " / ".join(f"{v['sim_cpu'] * 1e3:.2f}" for v in batch.values())
        print(f"| `mxgw batch` against `mxgw sim`: register / write / cached 5-tag read-bulk "
              f"| {rates} commands/s (CPU per command: batch {cpu} ms, sim {sim_cpu} ms) |"
              f"{blank} ≥ 1,000/s each |")
    if rss:
        def mib(kib: float) -> str:
            return f"{kib / 1024:.1f}"

        ours, theirs = rss["mxgw"], rss["grpcio"]
        print(f"| peak RSS reading {s.rss_events:,} events | {mib(ours['peak_rss_kib'])} MiB "
              f"(RSS {mib(min(ours['rss_samples_kib']))}-{mib(max(ours['rss_samples_kib']))}"
              f" MiB over the stream; grpcio {mib(theirs['peak_rss_kib'])}, "
              f"{mib(min(theirs['rss_samples_kib']))}-{mib(max(theirs['rss_samples_kib']))})"
              f" |{blank} stays flat |")
    if galaxy:
        paging: list[float] = galaxy["clientRssMiB"]
        print(f"| peak RSS paging {galaxy['objects']:,} Galaxy objects with `iter_hierarchy` | "
              f"{galaxy['clientPeakRssMiB']:.1f} MiB (RSS {paging[0]:.1f} before, "
              f"{min(paging[1:]):.1f}-{max(paging[1:]):.1f} MiB over the paging, "
              f"{galaxy['seconds']:.1f} s) |{blank} stays flat |")
    notes = [f"{target}: {t.server_note(target)}" for target, _ in sections]
    print(f"\nServer CPU per operation, from /proc clock ticks of 10 ms (medians over both "
          f"clients and modes): {'; '.join(notes)}.")


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


# ---------------------------------------------------------------------- main

@contextmanager
def servers(pb2_dir: Path, with_sim: bool) -> Iterator[tuple[Child, Child | None, str]]:
    neutral = Child([*python(), str(BENCH / "h2serve.py"), "--pb2-dir", str(pb2_dir)])
    sim = None
    try:
        endpoint = ""
        if with_sim:
            sim = Child([*mxgw_command(), "sim", "--port", "0", "--plaintext", "--json",
                         "--api-key", KEY, "--objects", str(SIM_OBJECTS),
                         "--event-rate", str(SIM_EVENT_RATE), "--alarm-rate", "0",
                         "--queue-capacity", "200000", "--overflow", "disconnect",
                         "--max-sessions", "1000"])
            endpoint = json.loads(sim.hello)["endpoint"]
        yield neutral, sim, endpoint
    finally:
        neutral.stop()
        if sim is not None:
            sim.stop()


def profile(s: Settings, pb2_dir: Path, folder: Path) -> None:
    """The neutral-server workloads once per client under cProfile: stats saved in
    `folder/<stack>/<workload>.prof`; mxgw's top functions printed."""
    import pstats

    with servers(pb2_dir, False) as (neutral, _, _):
        for stack in STACKS:
            out = folder / stack
            out.mkdir(parents=True, exist_ok=True)
            run_client({"stack": stack, "endpoint": f"127.0.0.1:{int(neutral.hello)}",
                        "key": KEY, "pb2_dir": str(pb2_dir), "session": "bench", "server": 1,
                        "item": 7, "profile": str(out), "workloads": neutral_workloads(s)},
                       None)
    for work in neutral_workloads(s):
        path = folder / "mxgw" / f"{work['label']}.prof"
        print(f"\n## mxgw, {work['label']} ({path}; grpcio's beside it)\n")
        pstats.Stats(str(path), stream=sys.stdout).sort_stats("tottime").print_stats(15)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds and smaller counts (under 2 minutes)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5, quick 3)")
    parser.add_argument("--events", type=int,
                        help="events of the peak-RSS row (default 1,000,000, quick 100,000)")
    parser.add_argument("--objects", type=int,
                        help="Galaxy objects of the iter_hierarchy peak-RSS row (default "
                             "100,000, quick 20,000)")
    parser.add_argument("--no-sim", action="store_true", help="skip the `mxgw sim` rows")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="no table: run the neutral-server workloads once per client "
                             "under cProfile, save the stats in DIR, print mxgw's top "
                             "functions")
    args = parser.parse_args(argv)
    s = QUICK if args.quick else FULL
    if args.rounds:
        s = replace(s, rounds=args.rounds)
    if args.events:
        s = replace(s, rss_events=args.events)
    if args.objects:
        s = replace(s, galaxy_objects=args.objects)
    started, load = time.perf_counter(), os.getloadavg()[0]
    log = sys.stderr
    cpus = sorted(os.sched_getaffinity(0))
    # (server cpus, client cpus); unpinned sets every core again after a pinned round
    modes: dict[str, tuple[set[int] | None, set[int] | None]] = {
        "unpinned": (set(cpus), set(cpus))}
    if len(cpus) >= 2:
        modes["pinned"] = ({cpus[0]}, {cpus[1]})
    else:
        print("one core only: no pinned runs", file=log)
    pb2_dir = Path(tempfile.mkdtemp(prefix="mxgw-bench-pb2-"))
    try:
        generate_pb2(pb2_dir)
        check_identical_requests(pb2_dir)
        if args.profile:
            profile(s, pb2_dir, args.profile)
            return
        with servers(pb2_dir, not args.no_sim) as (neutral, sim, sim_endpoint):
            if sim is not None:
                pin(sim.pid, set(cpus))
            targets = None
            if sim is not None:
                still, changing = writable_tags(10_000)
                print("preparing the simulator's sessions", file=log, flush=True)
                writes = {stack: asyncio.run(prepare_writes(sim_endpoint, still[:1]))
                          for stack in STACKS}
                bulk = {stack: asyncio.run(prepare_writes(sim_endpoint, still))
                        for stack in STACKS}
                targets = SimTargets(writes, bulk, changing[:SIM_EVENT_TAGS])
            print(f"rounds ({s.rounds})", file=log, flush=True)
            samples = rounds(s, modes, neutral, pb2_dir, sim, sim_endpoint, targets, log)
            for child in (neutral, sim):
                if child is not None:
                    pin(child.pid, set(cpus))
            print("cold start", file=log, flush=True)
            cold = cold_start(s, pb2_dir, f"127.0.0.1:{int(neutral.hello)}")
            batch = None
            if sim is not None:
                print("batch", file=log, flush=True)
                batch = batch_rates(s, sim, sim_endpoint)
            print(f"peak RSS ({s.rss_events:,} events)", file=log, flush=True)
            rss = peak_rss(s, pb2_dir, int(neutral.hello))
            print(f"peak RSS ({s.galaxy_objects:,} Galaxy objects)", file=log, flush=True)
            galaxy = galaxy_rss(s)
        print_table(s, samples, list(modes), cold, batch, rss, galaxy,
                    (load, os.getloadavg()[0]), time.perf_counter() - started)
    finally:
        shutil.rmtree(pb2_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
