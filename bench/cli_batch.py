"""Per-operation cost of `mxgw batch` against one `mxgw` process per operation.

    python bench/cli_batch.py [--runs 15]

Starts a simulated gateway in this process, prepares a session (registered, one item
advised and written once), then times each operation two ways, side by side in one run:
a fresh `python -m mxgw.cli ...` process per operation (what automation without batch
pays), and one line through a long-lived `mxgw batch` process (until its end-of-record
marker). Prints one table of medians and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from mxgw import GatewayClient, MxAccessError
from mxgw.sim import SimConfig, SimServer

ROOT = Path(__file__).resolve().parent.parent
KEY = "mxgw_bench_BENCHkeyVALUE0123"
KEY_ENV = "MXGW_BENCH_KEY"
EOR = b"__MXGW_BATCH_EOR__\n"
CLI = [sys.executable, "-m", "mxgw.cli"]


async def one_process(argv: list[str]) -> float:
    """Seconds for one `mxgw` process to run `argv` and exit."""
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *CLI, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT)
    out, err = await proc.communicate()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {out!r} {err!r}")
    return elapsed


class Batch:
    """A long-lived `mxgw batch` process."""

    async def start(self) -> float:
        started = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            *CLI, "batch", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            cwd=ROOT)
        await self.run(["version"])  # ready: imported, parser built
        return time.perf_counter() - started

    async def run(self, argv: list[str]) -> float:
        """Seconds from sending one command line to its end-of-record marker."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        started = time.perf_counter()
        self.proc.stdin.write(" ".join(argv).encode() + b"\n")
        await self.proc.stdin.drain()
        lines = []
        while (line := await self.proc.stdout.readline()) != EOR:
            if not line:
                raise RuntimeError(f"batch ended during {argv[0]}")
            lines.append(line)
        elapsed = time.perf_counter() - started
        if lines and lines[0].startswith(b'{"error"'):
            raise RuntimeError(f"{argv[0]} failed in batch: {lines[0]!r}")
        return elapsed

    async def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"\n")
        await self.proc.stdin.drain()
        await self.proc.wait()


async def prepare(sim: SimServer) -> tuple[str, int, int]:
    """A session with a registration and one advised item, written once.

    No event stream is opened: the gateway closes a session 30 s after its last stream
    detaches, and this session must outlive the bench."""
    client = await GatewayClient.connect(sim.endpoint, api_key=KEY, plaintext=True)
    session = await client.open_session("bench")
    server = await session.register("bench")
    item = await session.add_item(server, "TestMachine_001.TestChangingInt")
    await session.advise(server, item)
    for _ in range(200):  # a write fails until the item's first value has resolved its type
        try:
            await session.write(server, item, 1, type_name="int32")
            break
        except MxAccessError:
            await asyncio.sleep(0.05)
    await client.close()  # the session stays open on the gateway
    return session.id, server, item


def operations(sim: SimServer, sid: str, server: int, item: int) -> dict[str, list[str]]:
    conn = ["--endpoint", sim.endpoint, "--plaintext", "--api-key-env", KEY_ENV, "--json"]
    base = ["--session-id", sid, "--server-handle", str(server)]
    return {
        "version (no network)": ["version", "--json"],
        "register": ["register", "--session-id", sid, "--client-name", "bench", *conn],
        "write int32": ["write", *base, "--item-handle", str(item), "--type", "int32",
                        "--value", "7", *conn],
        "read-bulk (3 tags)": ["read-bulk", *base, "--items",
                               "TestMachine_001.TestChangingInt,TestMachine_002.TestInt,"
                               "TestChildObject.TestInt", "--timeout-ms", "2000", *conn],
    }


async def main(runs: int) -> None:
    os.environ[KEY_ENV] = KEY
    async with SimServer(SimConfig(api_keys=[KEY])) as sim:
        sid, server, item = await prepare(sim)
        ops = operations(sim, sid, server, item)
        batch = Batch()
        startup = await batch.start()
        rows = []
        for name, argv in ops.items():
            await one_process(argv)  # warm the OS page cache for this command
            await batch.run(argv)    # and this batch's connection
            per_process = [await one_process(argv) for _ in range(runs)]
            in_batch = [await batch.run(argv) for _ in range(runs)]
            rows.append((name, statistics.median(per_process) * 1000,
                         statistics.median(in_batch) * 1000))
        await batch.stop()
    width = max(len(name) for name, _, _ in rows)
    print(f"mxgw CLI, per-operation cost, median of {runs} runs "
          f"(python {sys.version.split()[0]}, {os.cpu_count()} cpu)")
    print(f"{'operation':<{width}}  {'process/op ms':>13}  {'batch ms':>9}  {'ratio':>7}")
    for name, process_ms, batch_ms in rows:
        print(f"{name:<{width}}  {process_ms:>13.1f}  {batch_ms:>9.2f}  "
              f"{process_ms / batch_ms:>6.0f}x")
    print(f"(batch start-up, paid once: {startup * 1000:.0f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per operation and mode")
    asyncio.run(main(parser.parse_args().runs))
