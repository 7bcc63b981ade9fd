"""`bench/floor.py`'s minimal client runs the bench workloads against the neutral server.

A report, not a gate: no figure is checked, only that both floor clients (with our codec
and with none) complete every workload (the driver checks each reply, the event count
and order) and that the tables hold a measurement. grpcio and mxgw are left out to keep
it short (bench/run.py's test runs them).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_floor_clients_run_every_workload_and_print_their_tables() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "floor.py"), "--rounds", "1", "--calls", "50",
         "--events", "2000", "--no-pinned", "--stacks", "floor,floor-raw"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [line for line in proc.stdout.splitlines()
            if line.startswith("| client CPU per") and line.split(" | ")[0].endswith("unpinned")]
    assert len(rows) == 4, proc.stdout
    for row in rows:
        cells = row.split(" | ")[1:]
        assert len(cells) == 2 and all(any(ch.isdigit() for ch in c) for c in cells), row
    assert "Where floor + our codec's CPU goes" in proc.stdout
    assert "Where floor, no codec's CPU goes" in proc.stdout
