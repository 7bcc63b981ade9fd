"""Ctrl-C during a blocking call: the call's task is cancelled and unwound (its HTTP/2
stream reset), KeyboardInterrupt is raised, and the client, the session and the same
event stream go on working. A script in a child process, interrupted by a real SIGINT
while it waits in the loop for an event that will not come."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Gateway

SCRIPT = """
import signal, sys
import mxgw.sync
from mxgw import from_mx_value

if sys.argv[1] == "own-handler":   # the application's own SIGINT handler
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, interrupt)

with mxgw.sync.connect() as client, client.open_session("ctrl-c") as session:
    server = session.register("ctrl-c")
    item = session.add_item(server, "TestMachine_001.TestInt")
    session.advise(server, item)
    events = session.events()
    assert next(events).on_data_change is not None   # its first value; no more will come
    try:
        print("waiting", flush=True)
        next(events)
        print("an event came", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    session.write(server, item, 5)
    for event in events:                              # the same stream, reopened
        if event.on_write_complete is not None:
            break
    value = session.read_bulk(server, ["TestMachine_001.TestInt"])[0].value
    print("value", from_mx_value(value), flush=True)
"""


def wait_until_blocked_in_epoll(pid: int, timeout: float = 30.0) -> None:
    """Wait until the child sleeps in epoll_wait (its loop waiting for an event)."""
    wchan = Path(f"/proc/{pid}/wchan")
    deadline = time.monotonic() + timeout
    while "poll" not in wchan.read_text():  # ep_poll, do_epoll_wait (by kernel version)
        assert time.monotonic() < deadline, "the child never waited in its event loop"
        time.sleep(0.01)


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("mode", ["default-handler", "own-handler"])
def test_ctrl_c_in_a_blocking_call_leaves_everything_usable(
        gateway: Gateway, tmp_path: Path, mode: str) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, str(script), mode], env=gateway.env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == "waiting\n"
        wait_until_blocked_in_epoll(child.pid)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert out.splitlines() == ["interrupted", "value 5"], err
    assert "Traceback" not in err and "Task was destroyed" not in err, err
