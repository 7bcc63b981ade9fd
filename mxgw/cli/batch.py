"""The batch driver: one command line per stdin line, one process, one connection per endpoint.

For each line: the command's JSON result (or its error envelope), then a line that is
exactly `__MXGW_BATCH_EOR__`, flushed. An empty line or EOF ends the batch. Nothing on a
line can end it early: unknown commands, bad flags, `--help` and failures all print and
go on. SIGINT or SIGTERM ends it: the command running answers its line with the
interrupted envelope (what it had received, marked incomplete), then the batch stops and
exits 130 or 143. Connections (and a `--sim` simulator) live in the Context for the whole batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import stat
import sys
from collections.abc import AsyncIterator, Sequence
from typing import TextIO

from .context import Context
from .main import (
    MAX_REMEMBERED_LENGTH,
    MAX_REMEMBERED_LINES,
    RootParser,
    build_parser,
    dispatch,
    report,
)
from .output import UsageError
from .shellwords import split

EOR = "__MXGW_BATCH_EOR__"
PROGRAM_NAMES = ("mxgw", "mxgw-py")
NOT_IN_BATCH = ("batch", "sim")
MAX_LINE = 16 * 1024 * 1024


async def _pipe_lines(stream: TextIO) -> AsyncIterator[str]:
    """Lines of a pipe, socket or terminal, read without blocking the event loop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE)
    fd = stream.fileno()
    was_blocking = os.get_blocking(fd)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(fd), "rb", buffering=0))
    try:
        while line := await reader.readline():
            yield line.decode("utf-8", errors="replace")
    finally:
        transport.close()
        os.set_blocking(fd, was_blocking)


async def _executor_lines(stream: TextIO) -> AsyncIterator[str]:
    """Lines read in a worker thread (Windows pipes, where the loop cannot watch stdin)."""
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, stream.readline):
        yield line


async def _file_lines(stream: TextIO) -> AsyncIterator[str]:
    """Lines of a regular file (reading a file does not wait on anyone)."""
    while line := stream.readline():
        yield line


def input_lines(stream: TextIO) -> AsyncIterator[str]:
    """The right line reader for `stream`."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation: StringIO...
        return _file_lines(stream)
    if stat.S_ISREG(mode):
        return _file_lines(stream)
    if sys.platform == "win32":
        return _executor_lines(stream)
    return _pipe_lines(stream)


def command_line(line: str) -> Sequence[str]:
    """A stdin line as argv (shell quoting as `shlex.split` reads it, in linear time; a
    leading `mxgw`/`mxgw-py` is dropped). A short line seen lately is not split again."""
    if len(line) > MAX_REMEMBERED_LENGTH:
        return _command_line(line)
    return _remembered_command_line(line)


def _command_line(line: str) -> tuple[str, ...]:
    try:
        argv = split(line)
    except ValueError as exc:
        raise UsageError(f"cannot split the command line: {exc}") from None
    if argv and os.path.basename(argv[0]).removesuffix(".exe") in PROGRAM_NAMES:
        argv = argv[1:]
    if argv and argv[0] in NOT_IN_BATCH:
        raise UsageError(f"{argv[0]} cannot run inside batch")
    return tuple(argv)


_remembered_command_line = functools.lru_cache(maxsize=MAX_REMEMBERED_LINES)(_command_line)


async def run_one(ctx: Context, parser: RootParser, line: str) -> None:
    """Run one batch line and print its result (or envelope) and the end-of-record marker."""
    try:
        argv = command_line(line)
    except UsageError as exc:
        report(ctx, exc, as_json=True)
    else:
        await dispatch(ctx, parser, argv, force_json=True)
    ctx.write(EOR)  # with the result, in one write


async def run_batch(ctx: Context, stream: TextIO) -> None:
    """Run every line of `stream` until an empty line or EOF."""
    parser = build_parser()
    ctx.in_batch = True
    lines = input_lines(stream)
    try:
        async for line in lines:
            if not line.strip():
                break
            await run_one(ctx, parser, line)
            if ctx.interrupted is not None:
                break  # the line is answered; the exit code says the batch was stopped
    finally:
        with contextlib.suppress(Exception):
            await lines.aclose()  # type: ignore[attr-defined]
