"""A client nobody closed, as Python treats an unclosed file: the connection is released
when the last object using it is dropped (or at exit), silently unless warnings are on
(`-W default`), and then with one ResourceWarning of ours, not grpclib's "Unclosed
connection" nor asyncio's. A script in a child process, so that exit is part of it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import Gateway

SCRIPT = """
import gc, os, sys
import mxgw.sync

def open_fds():
    return len(os.listdir("/proc/self/fd"))

class App:  # in a reference cycle, so only the collector frees it (any order inside)
    def __init__(self):
        self.me = self
        self.client = mxgw.sync.connect()
        self.session = self.client.open_session("unclosed")
        self.session.register("unclosed")
        self.events = self.session.events(timeout=0.05)
        list(self.events)  # timed out: the stream stays open

before = open_fds()
mode = sys.argv[1]
if mode == "with":
    with mxgw.sync.connect() as client, client.open_session("closed") as session:
        session.register("closed")
elif mode == "dropped":
    client = mxgw.sync.connect()
    client.galaxy().test_connection()
    del client
elif mode == "cycle":
    App()
    gc.collect()
elif mode == "exit":
    app = App()  # still open when the interpreter exits
if mode != "exit":
    print("fds released", open_fds() == before, flush=True)
"""

UNCLOSED = ["dropped", "cycle", "exit"]


def run(gateway: Gateway, tmp_path_factory: pytest.TempPathFactory, mode: str,
        *warning_options: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path_factory.mktemp("unclosed") / "script.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, *warning_options, str(script), mode],
                          env=gateway.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("" if mode == "exit" else "fds released True\n")
    return done


@pytest.mark.parametrize("mode", UNCLOSED)
def test_an_unclosed_client_is_released_without_a_word(
        gateway: Gateway, tmp_path_factory: pytest.TempPathFactory, mode: str) -> None:
    assert run(gateway, tmp_path_factory, mode).stderr == ""


@pytest.mark.parametrize("mode", UNCLOSED)
def test_with_warnings_on_an_unclosed_client_gets_one_resource_warning(
        gateway: Gateway, tmp_path_factory: pytest.TempPathFactory, mode: str) -> None:
    stderr = run(gateway, tmp_path_factory, mode, "-W", "default").stderr
    warned = [line for line in stderr.splitlines() if "Warning" in line]
    ours = f"ResourceWarning: unclosed mxgw.sync connection to {gateway.endpoint}"
    assert len(warned) == 1 and ours in warned[0], stderr


def test_a_client_closed_by_with_gives_no_warning(
        gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert run(gateway, tmp_path_factory, "with", "-W", "default").stderr == ""
