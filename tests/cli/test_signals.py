"""SIGTERM (a service manager stopping the CLI) ends a command as Ctrl-C does: it closes
what it opened before it exits, instead of leaving its session to the gateway's timers."""

from __future__ import annotations

import asyncio
import signal
import sys

from mxgw.cli.context import Context
from mxgw.cli.main import EXIT_SIGTERM
from mxgw.sim import SimServer
from mxgw.sim.runtime import CLOSED_BY_CLIENT
from mxgw.sim.session import SimSession

from ..conftest import ROOT, TEST_KEY, eventually


async def _start(sim: SimServer, *argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", *argv, "--endpoint", sim.endpoint, "--plaintext",
        "--api-key", TEST_KEY, "--json", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT)


def _streaming(sim: SimServer, name: str) -> list[SimSession]:
    return [s for s in sim.runtime.sessions.values() if s.name == name and s.events.subscribed]


async def test_sigterm_closes_the_session_a_streaming_command_opened(sim: SimServer) -> None:
    proc = await _start(sim, "bench-stream-events", "--duration-seconds", "300",
                        "--warmup-seconds", "0")
    try:
        await eventually(lambda: bool(_streaming(sim, "mxgw-bench-stream-events")), 60)
        (session,) = _streaming(sim, "mxgw-bench-stream-events")
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == EXIT_SIGTERM, err.decode()
    assert b"Traceback" not in err
    # Closed by the CLI before it exited: not left for the lease or detach grace.
    assert session.id not in sim.runtime.sessions
    assert sim.runtime.closed[session.id][1] == CLOSED_BY_CLIENT


async def test_sigterm_ends_a_batch_in_a_stream(sim: SimServer) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "batch", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT)
    session = sim.runtime.open_session("held")
    assert proc.stdin is not None
    proc.stdin.write(f"stream-events --session-id {session.id} --timeout 300 --endpoint "
                     f"{sim.endpoint} --plaintext --api-key {TEST_KEY}\n".encode())
    await proc.stdin.drain()
    try:
        await eventually(lambda: bool(_streaming(sim, "held")), 60)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == EXIT_SIGTERM, err.decode()
    assert b"Traceback" not in err
    await eventually(lambda: not session.events.subscribed)
    assert session.id in sim.runtime.sessions  # not the batch's to close


def test_a_signal_during_a_long_write_loses_no_output_on_unbuffered_stdout() -> None:
    """Under PYTHONUNBUFFERED=1 (common in containers) stdout is a TextIOWrapper straight
    over a FileIO, which drops what a write(2) cut short by a signal did not take: a
    SIGTERM while `galaxy-discover --json` wrote its array to a slow pipe left truncated
    JSON and exit 0. The reader starts only once the signal has come, so the write is
    blocked on a full pipe when it does."""
    import io
    import os
    import threading

    read_fd, write_fd = os.pipe()
    out = io.TextIOWrapper(io.FileIO(write_fd, "w"), encoding="utf-8", write_through=True)
    signalled = threading.Event()
    received: list[bytes] = []

    def drain() -> None:
        assert signalled.wait(60)
        while chunk := os.read(read_fd, 1 << 16):
            received.append(chunk)

    reader = threading.Thread(target=drain)
    previous = signal.signal(signal.SIGALRM, lambda *_: signalled.set())
    reader.start()
    text = "x" * (1 << 20)  # far more than a pipe holds
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        Context(out=out).write(text)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        signalled.set()
        out.close()
        reader.join(60)
        os.close(read_fd)
    assert b"".join(received) == (text + "\n").encode()


def test_sigterm_as_a_batch_input_ends_is_not_lost() -> None:
    """A service manager stopping a feeder and its batch together: SIGTERM and the end of
    stdin reach the idle batch at once. The batch ended on the EOF and the process exited
    0 before the loop ran the signal's callback; the signal must still give 143. (A race:
    before the fix this failed in about one run in three here, `communicate` closing
    stdin right after the signal.)"""
    import os
    import select
    import subprocess

    proc = subprocess.Popen([sys.executable, "-m", "mxgw.cli", "batch"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"version\n")
        proc.stdin.flush()
        answer = b""
        while b"__MXGW_BATCH_EOR__\n" not in answer:  # then the batch waits for a line
            assert select.select([proc.stdout], [], [], 60)[0], "no answer from the batch"
            answer += os.read(proc.stdout.fileno(), 4096)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)  # closes stdin at once
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == EXIT_SIGTERM, err.decode()
    assert b"Traceback" not in err
