"""Parser assembly and dispatch: `mxgw SUBCOMMAND [flags]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import MISSING, fields
from typing import Any, NoReturn

from argparse_dataclass import _add_dataclass_options

from .commands import Command, load_all
from .context import Context
from .flags import ConnectionFlags
from .output import EXIT_OK, UsageError, dumps, error_envelope, exit_code, render


class HelpShown(Exception):
    """argparse printed help (or a version) and wants to stop."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            raise UsageError(message.strip())
        raise HelpShown()


class RootParser(Parser):
    """The `mxgw` parser. A subcommand's flags are added the first time a command line
    names it: building all of them costs more than most commands take to run."""

    def __init__(self) -> None:
        super().__init__(prog="mxgw", description="MXAccess Gateway client, CLI and simulator.",
                         epilog="run `mxgw COMMAND --help` for a command's flags and an example")
        self._commands = self.add_subparsers(dest="command", metavar="COMMAND",
                                               parser_class=Parser)
        self._pending: dict[str, tuple[Parser, Command]] = {}
        for cmd in load_all().values():
            sub = self._commands.add_parser(
                cmd.name, help=cmd.summary.split(". ")[0].rstrip(".") + ".",
                description=textwrap.fill(cmd.summary, 88), epilog=f"example:\n  {cmd.example}",
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            sub.set_defaults(_command=cmd)
            self._pending[cmd.name] = (sub, cmd)

    def complete(self, name: str) -> None:
        """Add the flags of subcommand `name` (once)."""
        entry = self._pending.pop(name, None)
        if entry is not None:
            sub, cmd = entry
            _add_dataclass_options(cmd.flags, sub)
            if cmd.connects:
                _add_dataclass_options(ConnectionFlags, sub.add_argument_group("connection"))
            for action in sub._actions:  # `--max-events N` rather than `MAX_EVENTS`
                if action.metavar is None and action.type in (int, float):
                    action.metavar = "N" if action.type is int else "SECONDS"

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: None = None) -> argparse.Namespace:
        argv = list(sys.argv[1:] if args is None else args)
        name = next((a for a in argv if not a.startswith("-")), None)
        if name is not None:
            self.complete(name)
        return super().parse_args(argv)


def build_parser() -> RootParser:
    """The `mxgw` parser with every subcommand."""
    return RootParser()


def _split(namespace: argparse.Namespace) -> tuple[Command, ConnectionFlags, Any]:
    cmd: Command = namespace._command
    values = vars(namespace)

    def build(cls: type[Any]) -> Any:
        return cls(**{f.name: values[f.name] for f in fields(cls)
                      if values.get(f.name, MISSING) is not MISSING})

    conn = build(ConnectionFlags) if cmd.connects else ConnectionFlags(
        json=values.get("json") is True)
    return cmd, conn, build(cmd.flags)


def parse(parser: Parser, argv: Sequence[str]) -> tuple[Command, ConnectionFlags, Any]:
    """Parse one command line (raises UsageError, or HelpShown after printing help)."""
    namespace = parser.parse_args(list(argv))
    if getattr(namespace, "_command", None) is None:
        raise UsageError("give a subcommand; see mxgw --help")
    return _split(namespace)


async def run(ctx: Context, cmd: Command, conn: ConnectionFlags, flags: Any) -> None:
    """Run one parsed command and print its result."""
    result = await cmd.action(ctx, conn, flags)
    if not cmd.streams:
        ctx.write(render(result, conn.json, cmd.text))


def report(ctx: Context, exc: BaseException, as_json: bool) -> int:
    """Print a failure (envelope on stdout with --json, text on stderr) and return the exit code."""
    envelope = error_envelope(exc)
    if as_json:
        ctx.write(dumps(envelope))
    else:
        ctx.note(f"mxgw: error: {envelope['error']}")
    return exit_code(exc)


async def dispatch(ctx: Context, parser: Parser, argv: Sequence[str], *,
                   force_json: bool = False) -> int:
    """Parse and run one command line; print its result or its failure; return the exit code."""
    as_json = force_json or "--json" in argv
    ctx.redact.add_from_argv(argv)
    try:
        with contextlib.redirect_stdout(ctx.out):  # where argparse prints --help
            cmd, conn, flags = parse(parser, argv)
        if force_json:
            conn.json = True
        as_json = conn.json
        await run(ctx, cmd, conn, flags)
        return EXIT_OK
    except HelpShown:
        ctx.out.flush()
        return EXIT_OK
    except BrokenPipeError:
        raise  # nobody reads our output any more: stop (see main)
    except Exception as exc:
        return report(ctx, exc, as_json)


async def amain(argv: Sequence[str], ctx: Context | None = None) -> int:
    """Run one command line in this event loop (the context is closed afterwards)."""
    context = ctx or Context()
    try:
        return await dispatch(context, build_parser(), argv)
    finally:
        await context.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return asyncio.run(amain(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mxgw ... | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
