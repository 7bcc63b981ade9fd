"""What `mxgw watch` costs on a terminal: frames drawn, updates applied and its CPU, with
the simulator's changing tags slow and fast.

    python bench/watch_redraw.py [--seconds 10] [--rates 1,100,1000]

Per rate, the simulator (in this process) changes its changing attributes `rate` times
as often as by default; `mxgw watch` runs in a child whose stdout is a pty 120 x 30 and
watches five changing tags for `--seconds`; then Ctrl-C. Prints one markdown table:
updates/s applied, frames/s drawn (at most 10 + ticks by design) and the child's CPU
as a share of one core (start-up included).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import fcntl
import os
import pty
import re
import resource
import signal
import struct
import sys
import termios
import time
from pathlib import Path

from mxgw.sim import RuntimeConfig, SimConfig, SimServer

ROOT = Path(__file__).resolve().parent.parent
KEY = "mxgw_bench_watchKEY0123456789"
TAGS = [f"TestMachine_00{n}.TestChangingInt" for n in range(1, 6)]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def one(rate: float, seconds: float) -> tuple[float, float, float]:
    config = SimConfig(api_keys=[KEY], runtime=RuntimeConfig(event_rate=rate, alarm_rate=0))
    async with SimServer(config) as sim:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        raw = bytearray()
        loop = asyncio.get_running_loop()
        up = asyncio.Event()

        def read() -> None:
            try:
                raw.extend(os.read(master, 1 << 16))
                if b"good 192" in raw:
                    up.set()
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                loop.remove_reader(master)

        loop.add_reader(master, read)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mxgw.cli", "watch", *TAGS, "--endpoint", sim.endpoint,
            "--plaintext", "--api-key", KEY, stdout=slave, stderr=asyncio.subprocess.DEVNULL,
            cwd=ROOT, env={**env, "TERM": "xterm"}, preexec_fn=_default_sigint)
        os.close(slave)
        await asyncio.wait_for(up.wait(), 60)  # the view is up
        frames_at, started = raw.count(b"\x1b[1;1H"), time.monotonic()
        updates_at = _updates(raw)
        await asyncio.sleep(seconds)
        frames, updates = raw.count(b"\x1b[1;1H") - frames_at, _updates(raw) - updates_at
        elapsed = time.monotonic() - started
        proc.send_signal(signal.SIGINT)
        await proc.wait()
        loop.remove_reader(master)
        os.close(master)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return updates / elapsed, frames / elapsed, cpu / elapsed


def _updates(raw: bytearray) -> int:
    """The update count on the last status line drawn."""
    found = re.findall(rb"(\d+) update\(s\)", bytes(raw))
    return int(found[-1]) if found else 0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", default="1,100,1000")
    args = parser.parse_args()
    print("| event rate | updates/s | frames/s | child CPU (share of a core) |")
    print("|---:|---:|---:|---:|")
    for rate in (float(r) for r in args.rates.split(",")):
        updates, frames, cpu = await one(rate, args.seconds)
        print(f"| {rate:g}x | {updates:,.0f} | {frames:.1f} | {cpu:.0%} |")


if __name__ == "__main__":
    asyncio.run(main())
