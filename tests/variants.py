"""Variant contracts for the tests: protos/ with one change each, compiled by grpcio-tools'
protoc (the dev extra) into a FileDescriptorSet, as a gateway with other protos would
serve them by reflection."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
GATEWAY_PROTO = "mxaccess_gateway.proto"

Edit = tuple[str, str]

VARIANTS: dict[str, list[Edit]] = {
    # a field we do not declare, in every event
    "extra-field": [("  optional ReplayGap replay_gap = 14;\n",
                     "  optional ReplayGap replay_gap = 14;\n  string site_name = 40;\n")],
    # one of our fields under another number
    "renumbered": [("  uint64 worker_sequence = 2; // number: reconstructed\n",
                    "  uint64 worker_sequence = 41;\n")],
    # a value our enum does not name
    "extra-enum-value": [("  MX_EVENT_FAMILY_ON_ALARM_TRANSITION = 5;\n",
                          "  MX_EVENT_FAMILY_ON_ALARM_TRANSITION = 5;\n"
                          "  MX_EVENT_FAMILY_ON_HEARTBEAT = 6;\n")],
    # one of our numbers with another type (and so another wire type)
    "retyped": [("  int32 server_handle = 4; // number: reconstructed\n"
                 "  int32 item_handle = 5; // number: reconstructed\n"
                 "  google.protobuf.Timestamp worker_timestamp = 6;",
                 "  string server_handle = 4;\n"
                 "  int32 item_handle = 5; // number: reconstructed\n"
                 "  google.protobuf.Timestamp worker_timestamp = 6;")],
}


def protoc(root: Path, out: Path, *extra: str) -> None:
    """Compile every .proto under `root` (its imports included) into the set `out`."""
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.proto"))
    result = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"--descriptor_set_out={out}",
         "--include_imports", *extra, *names],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def variant_protos(into: Path, edits: list[Edit]) -> Path:
    """A copy of protos/ in `into` with `edits` made to the gateway proto (each must match
    exactly once); returns the copy's root."""
    root = into / "protos"
    shutil.copytree(PROTOS, root)
    path = root / GATEWAY_PROTO
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"edit does not match once: {old!r}"
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return root


def compile_variant(into: Path, edits: list[Edit]) -> bytes:
    """The serialized FileDescriptorSet of protos/ with `edits` made."""
    root = variant_protos(into, edits)
    out = into / "variant.bin"
    protoc(root, out)
    return out.read_bytes()
