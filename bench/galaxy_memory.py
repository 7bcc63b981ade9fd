"""Peak memory of a simulated gateway serving a large Galaxy (Linux: reads /proc).

    python bench/galaxy_memory.py --objects 100000 [--attributes] [--page-size 5000]

Starts the simulator in a child process, pages through the whole hierarchy with
DiscoverHierarchy (GalaxyRepositoryClient.iter_hierarchy), and prints the child's
resident memory after start-up and its peak (VmHWM) after paging, and the client's (this
process's) resident memory sampled at each tenth of the objects and its peak: a client
that pages without keeping the objects stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mxgw import GalaxyRepositoryClient

CHILD = """
import asyncio, json, sys
from mxgw.sim import SimConfig, SimServer

async def main():
    async with SimServer(SimConfig(galaxy_objects=int(sys.argv[1]))) as sim:
        print(json.dumps({"endpoint": sim.endpoint, "key": sim.api_key}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


async def page_through(endpoint: str, key: str, attributes: bool, page_size: int,
                       expected: int, samples: list[int]) -> int:
    """Page through everything; this process's VmRSS into `samples` at each tenth."""
    every = max(1, expected // 10)
    async with GalaxyRepositoryClient.connect(endpoint, api_key=key, plaintext=True,
                                              timeout=120) as galaxy:
        count = 0
        async for _ in galaxy.iter_hierarchy(include_attributes=attributes, page_size=page_size):
            count += 1
            if count % every == 0:
                samples.append(memory_kib(os.getpid())["VmRSS"])
        return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--attributes", action="store_true")
    parser.add_argument("--page-size", type=int, default=5000)
    args = parser.parse_args()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(args.objects)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        hello = json.loads(child.stdout.readline())
        started = memory_kib(child.pid)
        samples = [memory_kib(os.getpid())["VmRSS"]]
        begin = time.perf_counter()
        count = asyncio.run(page_through(hello["endpoint"], hello["key"], args.attributes,
                                         args.page_size, args.objects, samples))
        seconds = time.perf_counter() - begin
        after = memory_kib(child.pid)
        mine = memory_kib(os.getpid())
    finally:
        child.terminate()
        child.wait()
    print(json.dumps({
        "objects": count, "attributes": args.attributes, "pageSize": args.page_size,
        "seconds": round(seconds, 1), "rssAfterStartMiB": round(started["VmRSS"] / 1024, 1),
        "peakRssMiB": round(after["VmHWM"] / 1024, 1),
        "clientRssMiB": [round(kib / 1024, 1) for kib in samples],
        "clientPeakRssMiB": round(mine["VmHWM"] / 1024, 1),
    }))


if __name__ == "__main__":
    main()
