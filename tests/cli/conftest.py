"""Run the CLI in-process against the simulated gateway of the `sim` fixture."""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from mxgw.cli.context import Context
from mxgw.cli.main import amain
from mxgw.sim import SimServer

from ..conftest import TEST_KEY


@dataclass
class Run:
    """One CLI run: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        """stdout as exactly one JSON document on one line."""
        lines = self.out.splitlines()
        assert len(lines) == 1, self.out
        return json.loads(lines[0])

    @property
    def lines(self) -> list[Any]:
        """stdout as JSON lines."""
        return [json.loads(line) for line in self.out.splitlines()]


Cli = Callable[..., Awaitable[Run]]


async def run_cli_inprocess(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = await amain(list(argv), Context(out, err))
    run = Run(code, out.getvalue(), err.getvalue())
    assert TEST_KEY not in run.out and TEST_KEY not in run.err
    return run


@pytest.fixture
def cli(sim: SimServer) -> Cli:
    """`await cli("register", "--session-id", sid, ...)`: the command with --json and the
    connection flags of the test's simulated gateway (pass json=False for text output)."""

    async def run(*args: str, json: bool = True, connect: bool = True) -> Run:
        argv = list(args)
        if connect:
            argv += ["--endpoint", sim.endpoint, "--plaintext", "--api-key", TEST_KEY]
        if json:
            argv.append("--json")
        return await run_cli_inprocess(*argv)

    return run


@dataclass
class Opened:
    """An open session with a registration."""

    session_id: str
    server_handle: int


@pytest.fixture
async def opened(cli: Cli) -> Opened:
    session = await cli("open-session", "--client-name", "cli-test")
    assert session.code == 0, session.out + session.err
    sid = session.json["sessionId"]
    reg = await cli("register", "--session-id", sid, "--client-name", "cli-test")
    assert reg.code == 0, reg.out + reg.err
    return Opened(sid, reg.json["register"]["serverHandle"])
