"""`bench/run.py --quick` runs end to end and prints its table.

A report, not a gate: no number in the table is checked (speed lives in bench/, and this
machine is shared), only that every row is there and holds a measurement.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ROWS = [
    "unary `Invoke` (`session.write`), 1 in flight |",
    "unary, 16 in flight |",
    "client CPU per unary call, 1 in flight |",
    "streamed data-change events through `session.events()` |",
    "client CPU per event |",
    "10,000-entry `write_bulk` round trip |",
    "unary `Invoke` (`session.write`), 1 in flight (`mxgw sim`) |",
    "10,000-entry `write_bulk` round trip (`mxgw sim`) |",
    "cold start: `mxgw version` vs a grpcio.aio script making one call",
    "`mxgw batch` against `mxgw sim`",
    "peak RSS reading 20,000 events |",
    "peak RSS paging 5,000 Galaxy objects with `iter_hierarchy` |",
]


def test_the_quick_bench_prints_one_table_with_every_row() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--rounds", "1",
         "--events", "20000", "--objects", "5000"],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| workload |"))
    assert lines[header + 1].startswith("|---|")
    table = []
    for line in lines[header + 2:]:
        if not line.startswith("| "):
            break
        table.append(line)
    for row in ROWS:
        found = [line for line in table if line.startswith("| " + row)]
        assert found, f"no row {row!r} in:\n{proc.stdout}"
        first_cell = found[0].split(" | ")[1]
        assert any(ch.isdigit() for ch in first_cell), found[0]
    assert "Load average" in proc.stdout
