"""Parser assembly and dispatch: `mxgw SUBCOMMAND [flags]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import MISSING, fields
from typing import Any, NoReturn, TextIO

from argparse_dataclass import _add_dataclass_options

from .commands import Command, load_all
from .context import ConnectionFlags, Context
from .output import EXIT_OK, UsageError, dumps, error_envelope, exit_code, render


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> Parser:
    parser = Parser(prog="mxgw", description="MXAccess Gateway client, CLI and simulator.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for cmd in load_all().values():
        sub = subparsers.add_parser(
            cmd.name, help=cmd.summary, description=cmd.summary,
            epilog=f"example:\n  {cmd.example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_dataclass_options(cmd.flags, sub)
        if cmd.connects:
            group = sub.add_argument_group("connection")
            _add_dataclass_options(ConnectionFlags, group)
        sub.set_defaults(_command=cmd)
    return parser


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
    """Parse one command line (raises UsageError)."""
    namespace = parser.parse_args(list(argv))
    if getattr(namespace, "_command", None) is None:
        raise UsageError("give a subcommand; see mxgw --help")
    return _split(namespace)


async def run(ctx: Context, cmd: Command, conn: ConnectionFlags, flags: Any,
              out: TextIO) -> None:
    """Run one parsed command and print its result."""
    result = await cmd.action(ctx, conn, flags)
    if not cmd.streams:
        out.write(ctx.redact(render(result, conn.json)) + "\n")
        out.flush()


def report(ctx: Context, exc: BaseException, as_json: bool, out: TextIO, err: TextIO) -> int:
    """Print a failure (envelope on stdout with --json, text on stderr) and return the exit code."""
    envelope = error_envelope(exc)
    if as_json:
        out.write(ctx.redact(dumps(envelope)) + "\n")
        out.flush()
    else:
        err.write(ctx.redact(f"mxgw: error: {envelope['error']}") + "\n")
    return exit_code(exc)


async def amain(argv: Sequence[str]) -> int:
    parser = build_parser()
    ctx = Context()
    as_json = "--json" in argv
    try:
        cmd, conn, flags = parse(parser, argv)
        as_json = conn.json
        await run(ctx, cmd, conn, flags, sys.stdout)
        return EXIT_OK
    except Exception as exc:
        return report(ctx, exc, as_json, sys.stdout, sys.stderr)
    finally:
        await ctx.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return asyncio.run(amain(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
