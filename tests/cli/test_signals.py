"""SIGTERM (a service manager stopping the CLI) ends a command as Ctrl-C does: it closes
what it opened before it exits, instead of leaving its session to the gateway's timers."""

from __future__ import annotations

import asyncio
import signal
import sys

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
