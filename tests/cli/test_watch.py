"""`mxgw watch` as a user runs it, in a real child process against the simulator: lines
when stdout is a pipe, a screen redrawn in place on a terminal (a pty), Ctrl-C, tags
from the Galaxy, and a session replaced under it."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
import pty
import re
import signal
import struct
import sys
import termios
from collections.abc import AsyncIterator

import pytest

from mxgw.cli.terminal import SHOW_CURSOR
from mxgw.cli.watch_view import PLAIN_FIELDS
from mxgw.sim import SimServer
from mxgw.sim.runtime import CLOSED_BY_CLIENT

from ..conftest import ROOT, TEST_KEY, eventually
from .conftest import run_cli_inprocess

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="ptys and SIGINT are POSIX")

TAGS = ["TestMachine_001.TestChangingInt", "TestMachine_001.TestInt"]
NOWHERE = ["--endpoint", "127.0.0.1:1", "--plaintext", "--api-key", TEST_KEY]


def _argv(sim: SimServer, *args: str) -> list[str]:
    return [sys.executable, "-m", "mxgw.cli", "watch", *args, "--endpoint", sim.endpoint,
            "--plaintext", "--api-key", TEST_KEY]


def _default_sigint() -> None:
    # A shell without job control starts background jobs with SIGINT ignored, and a child
    # inherits that (Python then installs no Ctrl-C handler): give it Ctrl-C back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _closed_by_the_client(sim: SimServer) -> list[str]:
    return [sid for sid, (_, why) in sim.runtime.closed.items() if why == CLOSED_BY_CLIENT]


async def _run(argv: list[str], timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_piped_it_prints_one_parseable_line_per_update_and_closes_its_session(
        sim: SimServer) -> None:
    code, out, err = await _run(_argv(sim, *TAGS, "--max-updates", "4"))
    assert code == 0, err
    assert "\x1b" not in out  # no escapes into a pipe
    lines = [dict(zip(PLAIN_FIELDS, line.split("\t"), strict=True))
             for line in out.splitlines()]
    assert len(lines) == 4
    assert {line["tag"] for line in lines[:2]} == set(TAGS)  # a first value each
    counts: dict[str, int] = {}
    for line in lines:
        counts[line["tag"]] = counts.get(line["tag"], 0) + 1
        assert line["updates"] == str(counts[line["tag"]])
        assert re.fullmatch(r"-?\d+", line["value"]), line
        assert (line["quality"], line["quality_kind"], line["problem"]) == ("192", "good", "-")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", line["source_time"])
    assert not sim.runtime.sessions
    assert len(_closed_by_the_client(sim)) == 1


async def test_jsonl_with_tags_from_the_galaxy(sim: SimServer) -> None:
    code, out, err = await _run(_argv(sim, "--galaxy-glob", "testmachine_002.testint*",
                                      "--max-updates", "2", "--jsonl"))
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    # The glob's attribute part matches case-insensitively, as the object part does.
    assert {r["tag"] for r in records} == {"TestMachine_002.TestInt",
                                           "TestMachine_002.TestIntArray[]"}
    assert all(r["qualityKind"] == "good" and r["updates"] == 1 for r in records)
    assert {type(r["value"]) for r in records} == {int, list}


async def test_a_tag_that_does_not_exist_shows_bad_with_the_reason(sim: SimServer) -> None:
    code, out, err = await _run(_argv(sim, "Nope.Missing", "--max-updates", "1"))
    assert code == 0, err
    fields = dict(zip(PLAIN_FIELDS, out.rstrip("\n").split("\t"), strict=True))
    assert (fields["tag"], fields["quality_kind"]) == ("Nope.Missing", "bad")
    assert fields["problem"].startswith("CONFIGURATION_ERROR")


@pytest.mark.parametrize("argv", [
    [], ["TestMachine_001.TestInt", "--max-updates", "0"], [" "],
    ["--galaxy-glob", ""], ["--template", "$Pump", "--max-tags", "0"],
    ["TestMachine_001.TestInt", "--duration-seconds", "-1"],
], ids=["no-tags", "max-updates", "empty-tag", "empty-glob", "max-tags", "duration"])
async def test_bad_input_exits_2_before_anything_is_sent(argv: list[str]) -> None:
    run = await run_cli_inprocess("watch", *argv, *NOWHERE, "--json")
    assert run.code == 2, run.out
    assert run.json["category"] == "usage"


async def test_a_glob_that_matches_nothing_says_so(sim: SimServer) -> None:
    run = await run_cli_inprocess("watch", "--galaxy-glob", "NoSuchObject*", "--endpoint",
                                  sim.endpoint, "--plaintext", "--api-key", TEST_KEY)
    assert run.code == 2
    assert "no tag in the Galaxy matches" in run.err


class Terminal:
    """The master side of a pty a child writes its screen to, read as it comes, and the
    screen that output draws (rows as `Screen.draw` positions them, colour stripped)."""

    def __init__(self, columns: int, lines: int) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.raw = b""
        self.eof = False
        asyncio.get_running_loop().add_reader(self.master, self._read)

    def _read(self) -> None:
        try:
            chunk = os.read(self.master, 65536)
        except OSError as exc:  # EIO: every slave descriptor is closed
            if exc.errno != errno.EIO:
                raise
            chunk = b""
        if not chunk:
            self.eof = True
            asyncio.get_running_loop().remove_reader(self.master)
        self.raw += chunk

    def screen(self) -> dict[int, str]:
        """Row number -> text of the last frame drawn (each row as last written)."""
        rows: dict[int, str] = {}
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.raw.decode(errors="replace"))
        for row, line in re.findall(r"\x1b\[(\d+);1H\x1b\[2K([^\x1b]*)", text):
            rows[int(row)] = line.rstrip("\r\n")
        return rows

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)


@pytest.fixture
async def terminal() -> AsyncIterator[Terminal]:
    term = Terminal(100, 20)
    try:
        yield term
    finally:
        term.close()


def _row(screen: dict[int, str], tag: str) -> list[str] | None:
    for line in screen.values():
        if line.startswith(tag + " "):
            return re.split(r" {2,}", line.strip())
    return None


async def test_on_a_terminal_one_row_per_tag_redrawn_and_ctrl_c_closes_the_session(
        sim: SimServer, terminal: Terminal) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    proc = await asyncio.create_subprocess_exec(
        *_argv(sim, *TAGS), stdin=terminal.slave, stdout=terminal.slave,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT, env={**env, "TERM": "xterm-256color"},
        preexec_fn=_default_sigint)
    os.close(terminal.slave)  # the child holds it now: EOF once the child exits
    try:
        def shows_values() -> bool:
            rows = [_row(terminal.screen(), tag) for tag in TAGS]
            return all(row is not None and row[2] == "good 192" for row in rows)

        await eventually(shows_values, 60)
        # The changing tag's row is redrawn in place as its updates come.
        first = _row(terminal.screen(), TAGS[0])
        assert first is not None
        await eventually(lambda: (_row(terminal.screen(), TAGS[0]) or first)[-1] != first[-1],
                         30)
        screen = terminal.screen()
        assert len([line for line in screen.values() if line.startswith(tuple(TAGS))]) == 2
        assert screen[1].startswith(f"mxgw watch  {sim.endpoint}")
        assert screen[2].split()[:2] == ["TAG", "VALUE"]
        status = max(row for row, line in screen.items() if line)
        assert screen[status].startswith("connected  session session-")
        assert b"\x1b[32mgood 192" in terminal.raw  # coloured: NO_COLOR is not set
        (session,) = sim.runtime.sessions
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        await eventually(lambda: terminal.eof, 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err
    assert terminal.raw.endswith(SHOW_CURSOR.encode())  # the terminal is given back
    assert session not in sim.runtime.sessions
    assert _closed_by_the_client(sim) == [session]


async def test_the_view_carries_on_in_a_new_session_when_the_old_one_is_lost(
        sim: SimServer) -> None:
    proc = await asyncio.create_subprocess_exec(
        *_argv(sim, TAGS[0]), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT, preexec_fn=_default_sigint)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert first.split(b"\t")[1] == TAGS[0].encode()
        (old,) = sim.runtime.sessions
        sim.runtime.fault_session(old)
        notes: list[bytes] = []  # state changes (replacing, connected) and the marker
        while not any(b"session replaced" in note for note in notes):
            notes.append(await asyncio.wait_for(proc.stderr.readline(), 60))
            assert notes[-1], notes
        (new,) = sim.runtime.sessions
        assert new != old
        # Updates of the same tag keep coming, counted on from before.
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            fields = dict(zip(PLAIN_FIELDS, line.rstrip("\n").split("\t"), strict=True))
            if fields["quality_kind"] == "good" and int(fields["updates"]) > 2:
                break
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 130
    assert new in _closed_by_the_client(sim)


async def test_ctrl_c_after_a_lost_connection_still_exits_130(sim: SimServer) -> None:
    # grpclib cancels a task reading a call whose connection is lost and never withdraws
    # that request; asyncio.run then saw Ctrl-C as a CancelledError (exit 1, traceback).
    proc = await asyncio.create_subprocess_exec(
        *_argv(sim, TAGS[0]), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT, preexec_fn=_default_sigint)
    assert proc.stdout is not None
    try:
        await asyncio.wait_for(proc.stdout.readline(), 60)
        assert await sim.drop_connections() >= 1
        # Updates come again once it has reconnected (the same session, resumed).
        before = set(sim.runtime.sessions)
        await asyncio.wait_for(proc.stdout.readline(), 60)
        assert set(sim.runtime.sessions) == before
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err
    assert set(_closed_by_the_client(sim)) == before
