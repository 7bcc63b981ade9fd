"""`mxgw batch` driven through a pipe, the way automation drives it: one line in, the JSON
result and the end-of-record marker out, one process and one connection throughout."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from mxgw.cli.batch import run_one
from mxgw.cli.context import MAX_CONNECTIONS, Context
from mxgw.cli.main import build_parser
from mxgw.sim import SimConfig, SimServer

from ..conftest import ROOT, TEST_KEY, eventually

EOR = "__MXGW_BATCH_EOR__"
KEY_ENV = "MXGW_BATCH_TEST_KEY"


class Batch:
    """A running `mxgw batch` process."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def send(self, line: str) -> list[str]:
        """Send one line; the lines printed before its end-of-record marker."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()
        lines: list[str] = []
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), 30)
            assert raw, f"batch ended early after {line!r}"
            text = raw.decode().rstrip("\n")
            if text == EOR:
                assert TEST_KEY not in "".join(lines)
                return lines
            lines.append(text)

    async def json(self, line: str) -> Any:
        """Send one line whose record is exactly one JSON document."""
        lines = await self.send(line)
        assert len(lines) == 1, lines
        return json.loads(lines[0])

    async def end(self) -> tuple[int, str, str]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"\n")
        await self.proc.stdin.drain()
        out, err = await asyncio.wait_for(self.proc.communicate(), 30)
        assert self.proc.returncode is not None
        return self.proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def batch() -> AsyncIterator[Batch]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "batch", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, KEY_ENV: TEST_KEY}, limit=64 * 1024 * 1024)
    yield Batch(proc)
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


def ok(reply: dict[str, Any]) -> None:
    assert reply["protocolStatus"]["code"] == "PROTOCOL_STATUS_CODE_OK", reply


async def test_an_automation_script_through_one_batch_process(
        batch: Batch, sim: SimServer) -> None:
    c = f"--endpoint {sim.endpoint} --plaintext --api-key-env {KEY_ENV}"
    opened = await batch.json(f"mxgw open-session {c} --client-name e2e --json")
    sid = opened["sessionId"]
    s = f"--session-id {sid}"
    reg = await batch.json(f"register {s} --client-name e2e {c}")
    ok(reg)
    server = reg["register"]["serverHandle"]
    h = f"{s} --server-handle {server}"
    added = await batch.json(f"add-item {h} --item TestMachine_001.TestChangingInt {c}")
    item = added["addItem"]["itemHandle"]
    ok(await batch.json(f"advise {h} --item-handle {item} {c}"))
    first = await batch.json(f"stream-events {s} --family ON_DATA_CHANGE --item-handle {item} "
                             f"--max-events 1 --timeout 10 {c}")
    assert first[0]["onDataChange"]["quality"] == 192

    # Write, and verify the OnWriteComplete (the upstream cross-language check).
    ok(await batch.json(f"write {h} --item-handle {item} --type int32 --value 123 {c}"))
    (done,) = await batch.json(f"stream-events {s} --max-events 1 --timeout 10 "
                               f"--family ON_WRITE_COMPLETE {c}")
    assert done["family"] == "MX_EVENT_FAMILY_ON_WRITE_COMPLETE"
    assert done["itemHandle"] == item
    assert [x["category"] for x in done["onWriteComplete"]["statuses"]] == [
        "MX_STATUS_CATEGORY_OK"]

    # Bulk subscribe, then read-bulk: the subscribed tag is served from cache.
    subscribed = await batch.json(
        f"subscribe-bulk {h} --items 'TestMachine_002.TestChangingInt,TestChildObject.TestInt' "
        f"{c}")
    assert [(r["tagAddress"], r["wasSuccessful"]) for r in subscribed] == [
        ("TestMachine_002.TestChangingInt", True), ("TestChildObject.TestInt", True)]
    await batch.json(f"stream-events {s} --family ON_DATA_CHANGE --item-handle "
                     f"{subscribed[0]['itemHandle']} --max-events 1 --timeout 10 {c}")
    reads = await batch.json(f"read-bulk {h} --items TestMachine_002.TestChangingInt,"
                             f"TestMachine_003.TestChangingInt --timeout-ms 5000 {c}")
    assert [(r["wasSuccessful"], r["wasCached"]) for r in reads] == [(True, True), (True, False)]
    assert all("int32Value" in r["value"] for r in reads)

    # Failures: an envelope each, and the batch goes on.
    bad_item = await batch.json(f"advise {h} --item-handle 99999 {c}")
    assert bad_item["category"] == "mxaccess"
    assert bad_item["code"] == "PROTOCOL_STATUS_CODE_MXACCESS_FAILURE"
    assert "99999" in bad_item["error"]
    unknown = await batch.json(f"register --session-id session-{'0' * 32} {c}")
    assert unknown["code"] == "PROTOCOL_STATUS_CODE_SESSION_NOT_FOUND"
    no_key = await batch.json(f"register {s} --endpoint {sim.endpoint} --plaintext")
    assert (no_key["category"], no_key["code"]) == ("grpc", "UNAUTHENTICATED")
    bad_value = await batch.json(f"write {h} --item-handle {item} --type int32 --value 1.5 {c}")
    assert bad_value["category"] == "value" and "1.5" in bad_value["error"]
    assert (await batch.json("no-such-command --json"))["category"] == "usage"
    assert "--bogus" in (await batch.json(f"register {s} --bogus {c}"))["error"]
    assert (await batch.json("write 'unbalanced"))["category"] == "usage"
    assert (await batch.json("batch"))["category"] == "usage"
    helptext = await batch.send("write --help")
    assert helptext[0].startswith("usage: mxgw write") and "example:" in helptext

    # One connection per distinct set of connection options, for the whole batch.
    assert sim.connection_count == 2  # with the key, and without
    assert (await batch.json("version"))["name"] == "mxgw"  # JSON without --json
    closed = await batch.json(f"close-session {s} {c}")
    assert closed["finalState"] == "SESSION_STATE_CLOSED"
    code, rest, err = await batch.end()
    assert (code, rest) == (0, "")
    assert TEST_KEY not in err


async def test_sim_inside_batch_is_one_simulator_for_the_whole_batch(batch: Batch) -> None:
    sid = (await batch.json("open-session --sim"))["sessionId"]
    reg = await batch.json(f"register --sim --session-id {sid}")
    ok(reg)
    events = await batch.send(f"stream-events --sim --session-id {sid} --timeout 0.2 --jsonl")
    assert events == []
    assert (await batch.json("galaxy-test-connection --sim")) == {"ok": True}
    code, _, _ = await batch.end()
    assert code == 0


async def test_a_line_of_megabytes_is_split_and_answered(batch: Batch, sim: SimServer) -> None:
    """A 4 MB value on one line (shlex took minutes for one of 2 MB) arrives intact."""
    c = f"--endpoint {sim.endpoint} --plaintext --api-key-env {KEY_ENV}"
    s = f"--session-id {(await batch.json(f'open-session {c}'))['sessionId']}"
    server = (await batch.json(f"register {s} --client-name big {c}"))["register"]["serverHandle"]
    h = f"{s} --server-handle {server}"
    item = (await batch.json(f"add-item {h} --item TestMachine_001.TestString {c}"))[
        "addItem"]["itemHandle"]
    ok(await batch.json(f"advise {h} --item-handle {item} {c}"))
    await batch.json(f"stream-events {s} --family ON_DATA_CHANGE --max-events 1 --timeout 20 "
                     f"{c}")
    value = "x y'z\"\\ " * 500_000
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ok(await batch.json(f"write {h} --item-handle {item} --type string --value {quoted} {c}"))
    await batch.json(f"stream-events {s} --family ON_WRITE_COMPLETE --max-events 1 "
                     f"--timeout 20 {c}")
    (read,) = await batch.json(f"read-bulk {h} --items TestMachine_001.TestString {c}")
    assert read["value"]["stringValue"] == value


def test_batch_reads_a_script_file_and_stops_at_eof(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text("version\nbogus\nversion --json")  # no newline at the end
    with script.open() as stdin:
        result = subprocess.run([sys.executable, "-m", "mxgw.cli", "batch"], stdin=stdin,
                                capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1::2] == [EOR] * 3
    assert json.loads(lines[0])["name"] == "mxgw"
    assert json.loads(lines[2])["category"] == "usage"


async def test_a_short_secret_on_one_line_changes_no_later_answer(
        batch: Batch, sim: SimServer) -> None:
    """`--password 1` or `--api-key e` once must not turn every later `1` or `e` into
    `<redacted>` (session ids altered, JSON made invalid)."""
    c = f"--endpoint {sim.endpoint} --plaintext --api-key-env {KEY_ENV}"
    sid = (await batch.json(f"open-session {c}"))["sessionId"]
    server = (await batch.json(f"register --session-id {sid} --client-name e {c}"))[
        "register"]["serverHandle"]
    wrong = await batch.json(f"authenticate-user --session-id {sid} --server-handle {server} "
                             f"--user-name operator --password 1 {c}")
    assert wrong["category"] == "mxaccess"
    echoed = await batch.json("version --api-key e")
    assert echoed["error"] == "unrecognized arguments: --api-key <redacted>"
    assert (await batch.json(f"register --session-id {sid} --api-key=1 --plaintext "
                             f"--endpoint {sim.endpoint}"))["code"] == "UNAUTHENTICATED"

    for _ in range(3):  # later answers are the gateway's, unchanged, and valid JSON
        opened = await batch.json(f"open-session {c} --client-name e1")
        assert sim.runtime.find(opened["sessionId"]) is not None
        assert isinstance(opened["workerProtocolVersion"], int)
    code, _, err = await batch.end()
    assert code == 0, err


async def test_one_batch_keeps_a_bounded_number_of_connections(batch: Batch) -> None:
    """A connection per distinct key is kept, but not forever: past MAX_CONNECTIONS the
    least recently used one is closed, and used again it reconnects."""
    keys = [f"mxgw_k{n}_{'s' * 12}{n}" for n in range(MAX_CONNECTIONS + 4)]
    async with SimServer(SimConfig(api_keys=keys)) as sim:
        c = f"--endpoint {sim.endpoint} --plaintext"
        for key in keys:
            assert (await batch.json(f"open-session {c} --api-key {key}"))["sessionId"]
        await eventually(lambda: sim.connection_count == MAX_CONNECTIONS)
        assert (await batch.json(f"open-session {c} --api-key {keys[0]}"))["sessionId"]
        await eventually(lambda: sim.connection_count == MAX_CONNECTIONS)
        code, _, err = await batch.end()
        assert code == 0, err
        await eventually(lambda: sim.connection_count == 0)


class _Writes(io.RawIOBase):
    """An unbuffered stdout (PYTHONUNBUFFERED=1) that keeps each write(2) it was given."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)


async def test_a_streamed_array_leaves_with_its_end_of_record_marker_in_one_write() -> None:
    """The reader is woken once per command: a streaming command's --json array too (it
    was written, and flushed, before the marker)."""
    raw = _Writes()
    # (typeshed wants the buffer protocol of a file; a RawIOBase is what -u gives too)
    out = io.TextIOWrapper(cast(Any, raw), encoding="utf-8", write_through=True)
    ctx = Context(out=out)
    ctx.in_batch = True
    try:
        await run_one(ctx, build_parser(), "galaxy-discover --sim --max-depth 0 "
                                           "--no-attributes\n")
    finally:
        await ctx.aclose()
    assert len(raw.chunks) == 1, raw.chunks
    text = raw.chunks[0].decode()
    assert text.endswith(f"\n{EOR}\n") and json.loads(text.splitlines()[0])
