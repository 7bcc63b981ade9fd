"""`bench-read-bulk`, `bench-stream-events`: throughput and latency percentiles as JSON."""

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from ...errors import MxGatewayError
from ...session import Session
from ..bounded import bounded
from ..context import Context
from ..flags import ConnectionFlags
from ..output import UsageError
from ..parsing import str_list
from ..received import receive_summary
from . import command

DEFAULT_ITEMS = [f"TestMachine_{n:03d}.TestChangingInt" for n in range(1, 7)]


def latency_summary(samples_ms: list[float]) -> dict[str, float]:
    """p50, p95, p99 (nearest rank), max and mean of latencies in ms."""
    if not samples_ms:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    ordered = sorted(samples_ms)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {"p50": round(rank(50), 3), "p95": round(rank(95), 3), "p99": round(rank(99), 3),
            "max": round(ordered[-1], 3), "mean": round(sum(ordered) / len(ordered), 3)}


def _check_times(duration: float, warmup: float) -> None:
    if duration <= 0 or warmup < 0:
        raise UsageError("--duration-seconds must be > 0 and --warmup-seconds >= 0")


def _bench_text(result: dict[str, Any]) -> str:
    lat = result["latencyMs"]
    rate = (f"{result['callsPerSecond']:.1f} calls/s" if "callsPerSecond" in result
            else f"{result['eventsPerSecond']:.1f} events/s")
    return (f"{rate} over {result['durationMs'] / 1000:.1f} s; latency ms p50 {lat['p50']} "
            f"p95 {lat['p95']} p99 {lat['p99']} max {lat['max']} mean {lat['mean']}")


@dataclass
class BenchReadBulkFlags:
    bulk_size: int = field(default=10, metadata={"help": "tags per ReadBulk call"})
    duration_seconds: float = field(default=10.0, metadata={"help": "measured time"})
    warmup_seconds: float = field(default=2.0, metadata={"help": "unmeasured time first"})
    items: Optional[list[str]] = field(default=None, metadata={
        "type": str_list, "help": "tags to read, cycled to --bulk-size (default: "
                                  "TestMachine_001..006.TestChangingInt)"})
    timeout_ms: int = field(default=0, metadata={"help": "ReadBulk per-tag timeout in ms"})
    subscribe: bool = field(default=False, metadata={
        "help": "subscribe the tags first, so reads are served from cache"})


@command("bench-read-bulk", "Call ReadBulk back to back for a while in a fresh session; prints "
         "calls per second and latency percentiles (ms) as one JSON object.",
         "mxgw bench-read-bulk --sim --bulk-size 10 --duration-seconds 5 --warmup-seconds 1 "
         "--json", BenchReadBulkFlags, text=_bench_text)
async def bench_read_bulk(ctx: Context, conn: ConnectionFlags, flags: BenchReadBulkFlags) -> Any:
    _check_times(flags.duration_seconds, flags.warmup_seconds)
    if flags.bulk_size <= 0:
        raise UsageError("--bulk-size must be > 0")
    pool = flags.items or DEFAULT_ITEMS
    tags = [pool[i % len(pool)] for i in range(flags.bulk_size)]
    stats = {"calls": 0, "ok": 0, "failed": 0, "results": 0, "cached": 0}
    latencies: list[float] = []
    begin: float | None = None  # when the measured time started

    def summary() -> dict[str, Any]:
        elapsed = time.perf_counter() - begin if begin is not None else 0.0
        return {
            "language": "python", "durationMs": round(elapsed * 1000, 3),
            "totalCalls": stats["calls"], "successfulCalls": stats["ok"],
            "failedCalls": stats["failed"], "totalReadResults": stats["results"],
            "cachedReadResults": stats["cached"],
            "callsPerSecond": round(stats["calls"] / elapsed, 3) if elapsed > 0 else 0.0,
            "latencyMs": latency_summary(latencies),
        }

    receive_summary(ctx, summary)  # interrupted: the envelope has what was measured
    client = await ctx.client(conn)
    async with await client.open_session("mxgw-bench-read-bulk") as session:
        server = await session.register("mxgw-bench")
        if flags.subscribe:
            await session.subscribe_bulk(server, sorted(set(tags)))

        async def call(measure: bool) -> None:
            started = time.perf_counter()
            try:
                results = await session.read_bulk(server, tags, timeout_ms=flags.timeout_ms)
            except MxGatewayError:
                if measure:
                    stats["failed"] += 1
            else:
                if measure:
                    stats["ok"] += 1
                    stats["results"] += len(results)
                    stats["cached"] += sum(1 for r in results if r.was_cached)
            if measure:
                stats["calls"] += 1
                latencies.append((time.perf_counter() - started) * 1000)

        warm_until = time.perf_counter() + flags.warmup_seconds
        while time.perf_counter() < warm_until:
            await call(False)
        begin = time.perf_counter()
        end = begin + flags.duration_seconds
        while time.perf_counter() < end:
            await call(True)
        result = summary()
    return result


@dataclass
class BenchStreamEventsFlags:
    duration_seconds: float = field(default=10.0, metadata={"help": "measured time"})
    warmup_seconds: float = field(default=2.0, metadata={"help": "unmeasured time first"})
    items: Optional[list[str]] = field(default=None, metadata={
        "type": str_list, "help": "tags to advise (default: "
                                  "TestMachine_001..006.TestChangingInt)"})


async def _advise_all(session: Session, server: int, items: list[str]) -> None:
    for item in items:
        await session.advise(server, await session.add_item(server, item))


@command("bench-stream-events", "Advise tags in a fresh session and read its event stream for "
         "a while; prints events per second and delivery latency percentiles (ms, from the "
         "gateway's receive timestamp) as one JSON object.",
         "mxgw bench-stream-events --sim --duration-seconds 5 --json", BenchStreamEventsFlags,
         text=_bench_text)
async def bench_stream_events(ctx: Context, conn: ConnectionFlags,
                              flags: BenchStreamEventsFlags) -> Any:
    _check_times(flags.duration_seconds, flags.warmup_seconds)
    latencies: list[float] = []
    measure_from: float | None = None  # when the measured time starts (after the warmup)

    def summary() -> dict[str, Any]:
        elapsed = 0.0 if measure_from is None else max(time.perf_counter() - measure_from, 0.0)
        return {
            "language": "python", "durationMs": round(elapsed * 1000, 3),
            "totalEvents": len(latencies),
            "eventsPerSecond": round(len(latencies) / elapsed, 3) if elapsed > 0 else 0.0,
            "latencyMs": latency_summary(latencies),
        }

    receive_summary(ctx, summary)  # interrupted: the envelope has what was measured
    client = await ctx.client(conn)
    async with await client.open_session("mxgw-bench-stream-events") as session:
        server = await session.register("mxgw-bench")
        await _advise_all(session, server, flags.items or DEFAULT_ITEMS)
        measure_from = start = time.perf_counter() + flags.warmup_seconds

        async def pump() -> None:
            async with session.events() as stream:
                async for event in stream:
                    received = event.gateway_receive_timestamp
                    if time.perf_counter() >= start and received is not None:
                        delay = dt.datetime.now(dt.timezone.utc) - received
                        latencies.append(delay.total_seconds() * 1000)

        await bounded(pump(), flags.warmup_seconds + flags.duration_seconds)
        result = summary()
    return result
