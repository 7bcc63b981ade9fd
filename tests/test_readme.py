"""Every code block of README.md runs as written against the simulator.

Python blocks run as programs: a block with `asyncio.run` or `import mxgw.sync` (the
blocking facade) as it is; any other inside
`async with GatewayClient.connect() as client, await client.open_session(...) as
session:`, as the README says. Shell blocks run with bash. Both see the upstream
variables (MXGATEWAY_ENDPOINT, MXGATEWAY_API_KEY, MXGATEWAY_PLAINTEXT) pointing at a
simulator of the test's own, in a scratch folder, with this venv's `mxgw` on PATH.

A comment line before a block changes how it runs:
    <!-- readme-test: skip (why) -->                          not run here (say where instead)
    <!-- readme-test: runs until stopped (bounded at N s) -->  a program that never ends:
        it passes when, after N s, it has printed something and raised nothing
    <!-- readme-test: each line runs until stopped (bounded at N s) -->  the same per line
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mxgw.sim import RuntimeConfig, SimConfig, SimServer

from .conftest import TEST_KEY

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w*)\s*$")
_DIRECTIVE = re.compile(r"^<!-- readme-test: (.*?) -->\s*$")
_BOUND = re.compile(r"bounded at (\d+) s")


@dataclass(frozen=True)
class Block:
    line: int
    language: str
    code: str
    directive: str

    @property
    def bound(self) -> float | None:
        found = _BOUND.search(self.directive)
        return float(found[1]) if found else None


def readme_blocks() -> list[Block]:
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        start = index
        index += 1
        body: list[str] = []
        while not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        before = _DIRECTIVE.match(lines[start - 1]) if start else None
        blocks.append(Block(start + 1, fence[1], "\n".join(body) + "\n",
                            before[1] if before else ""))
        index += 1
    return blocks


BLOCKS = readme_blocks()


def test_every_block_is_python_or_shell_and_runs_or_says_why_not() -> None:
    assert len(BLOCKS) >= 12
    for block in BLOCKS:
        assert block.language in ("python", "sh"), f"README line {block.line}: a language"
        if block.directive:
            assert block.directive.startswith(("skip (", "runs until stopped", "each line")), \
                block.directive


def program(block: Block) -> str:
    """The Python program a block is: itself, or wrapped in a client and a session."""
    if "asyncio.run(" in block.code or "import mxgw.sync" in block.code:
        return block.code
    return ("import asyncio\nfrom mxgw import GatewayClient\n\n\n"
            "async def _readme_block() -> None:\n"
            "    async with GatewayClient.connect() as client, \\\n"
            "            await client.open_session('my-service') as session:\n"
            + textwrap.indent(block.code, " " * 8)
            + "\n\nasyncio.run(_readme_block())\n")


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The environment the blocks run in: a simulator whose alarms change quickly."""
    config = SimConfig(api_keys=[TEST_KEY], runtime=RuntimeConfig(first_value_delay=0.02,
                                                                   alarm_rate=3))
    async with SimServer(config) as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MXGATEWAY_")}
        env.update(MXGATEWAY_ENDPOINT=sim.endpoint, MXGATEWAY_API_KEY=TEST_KEY,
                   MXGATEWAY_PLAINTEXT="1", PYTHONUNBUFFERED="1",
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
        yield env


async def run(argv: list[str], env: dict[str, str], cwd: Path,
              bound: float | None) -> tuple[int | None, str, str]:
    """Run a command; with `bound`, stop it after that many seconds (returncode None)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        cwd=cwd, start_new_session=True)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = asyncio.ensure_future(proc.stdout.read()), asyncio.ensure_future(
        proc.stderr.read())
    code: int | None
    try:
        code = await asyncio.wait_for(proc.wait(), bound or 180)
    except asyncio.TimeoutError:
        if bound is None:
            raise
        os.killpg(proc.pid, 15)  # the whole group: a shell's children too
        await proc.wait()
        code = None
    return code, (await out).decode(), (await err).decode()


def check(block: Block, what: str, result: tuple[int | None, str, str]) -> None:
    code, out, err = result
    where = (f"README line {block.line}: {what}\n--- stdout\n{out[-3000:]}\n"
             f"--- stderr\n{err[-3000:]}")
    assert "Traceback" not in err, where
    if code is None:  # stopped at its bound: it must have been doing its job
        assert out.strip(), where
    else:
        assert code == 0, where


@pytest.mark.parametrize("block", BLOCKS, ids=[f"line-{b.line}-{b.language}" for b in BLOCKS])
async def test_readme_block_runs_as_written(block: Block, gateway: dict[str, str],
                                            tmp_path: Path) -> None:
    if block.directive.startswith("skip"):
        pytest.skip(block.directive)
    if block.language == "python":
        script = tmp_path / "block.py"
        script.write_text(program(block), encoding="utf-8")
        check(block, "the program", await run([sys.executable, str(script)], gateway,
                                              tmp_path, block.bound))
        return
    if block.directive.startswith("each line"):
        for line in block.code.splitlines():
            if line.strip():
                check(block, line, await run(["bash", "-c", line], gateway, tmp_path,
                                             block.bound))
        return
    check(block, "the script", await run(["bash", "-euo", "pipefail", "-c", block.code],
                                         gateway, tmp_path, block.bound))
