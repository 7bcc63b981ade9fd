"""The codec against betterproto2's own and Google's upb runtime, per message, in one run.

    python bench/codec.py [--runs 7]

Times parsing a data-change MxEvent, parsing a 10,000-result BulkWriteReply, and
building + encoding a 10,000-entry WriteBulk request, each a median of `--runs` rounds.
Google's bindings are generated from protos/ with grpcio-tools (a dev extra) into a
temporary folder. Prints one markdown table: microseconds per operation and ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mxgw import pb
from mxgw.contract import codec, commands

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)


def google_module() -> Any:
    out = tempfile.mkdtemp(prefix="mxgw-bench-pb2-")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'protos'}",
                    f"--python_out={out}", "mxaccess_gateway.proto"], check=True,
                   cwd=ROOT / "protos")
    sys.path.insert(0, out)
    return importlib.import_module("mxaccess_gateway_pb2")


def event_bytes() -> bytes:
    status = pb.MxStatusProxy(success=-1, category=pb.MxStatusCategory.OK,
                              detected_by=pb.MxStatusSource.RESPONDING_LMX, raw_detected_by=1)
    return bytes(pb.MxEvent(
        session_id="session-0123456789abcdef0123456789abcdef", worker_sequence=123456,
        family=pb.MxEventFamily.ON_DATA_CHANGE, server_handle=1, item_handle=7,
        worker_timestamp=NOW, gateway_receive_timestamp=NOW,
        on_data_change=pb.OnDataChangeEvent(
            value=pb.MxValue(data_type=pb.MxDataType.INTEGER, variant_type="VT_I4",
                             raw_data_type=2, int32_value=42),
            quality=192, source_timestamp=NOW, statuses=[status])))


def bulk_reply_bytes(count: int) -> bytes:
    status = pb.MxStatusProxy(success=-1, category=pb.MxStatusCategory.OK,
                              detected_by=pb.MxStatusSource.RESPONDING_LMX)
    results = [pb.BulkWriteResult(item_handle=i + 1, was_successful=True, statuses=[status])
               for i in range(count)]
    return bytes(pb.MxCommandReply(kind=pb.MxCommandKind.WRITE_BULK,
                                   protocol_status=pb.ProtocolStatus(),
                                   bulk_write=pb.BulkWriteReply(results=results)))


def median_us(func: Callable[[], object], number: int, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(number):
            func()
        samples.append((time.perf_counter() - started) / number * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    g = google_module()
    event, bulk = event_bytes(), bulk_reply_bytes(10_000)
    items = [(i + 1, i % 1000) for i in range(10_000)]

    def google_bulk_request() -> bytes:
        cmd = g.MxCommand(kind=30)
        entries = cmd.write_bulk_command.entries
        cmd.write_bulk_command.server_handle = 1
        for handle, value in items:
            entry = entries.add()
            entry.item_handle = handle
            entry.value.data_type = 4
            entry.value.variant_type = "VT_I4"
            entry.value.int32_value = value
        return bytes(cmd.SerializeToString())

    rows = [
        ("parse a data-change MxEvent", 2000,
         lambda: codec.parse(pb.MxEvent, event), lambda: pb.MxEvent.parse(event),
         lambda: g.MxEvent.FromString(event)),
        ("parse a 10,000-result BulkWriteReply", 1,
         lambda: codec.parse(pb.MxCommandReply, bulk), lambda: pb.MxCommandReply.parse(bulk),
         lambda: g.MxCommandReply.FromString(bulk)),
        ("build + encode a 10,000-entry WriteBulk", 1,
         lambda: codec.encode(commands.write_bulk(1, items)),
         lambda: bytes(commands.write_bulk(1, items)), google_bulk_request),
    ]
    print("| operation | mxgw codec µs | betterproto2 µs | upb µs | codec ÷ upb |")
    print("|---|---|---|---|---|")
    for name, number, ours, reference, google in rows:
        fast = median_us(ours, number, args.runs)
        slow = median_us(reference, number, args.runs)
        upb = median_us(google, number, args.runs)
        print(f"| {name} | {fast:,.1f} | {slow:,.1f} | {upb:,.1f} | {fast / upb:.1f}x |")


if __name__ == "__main__":
    main()
