"""Parser assembly and dispatch: `mxgw SUBCOMMAND [flags]`."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import textwrap
from collections import OrderedDict
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import MISSING, dataclass, field, fields, make_dataclass
from typing import Any, NoReturn

import argparse_dataclass

from .. import __version__
from .commands import COMMANDS, Command, load, load_all
from .context import Context
from .flags import ConnectionFlags
from .logs import LEVELS, level_of
from .output import (
    EXIT_OK,
    Interrupted,
    Outcome,
    UsageError,
    dumps,
    error_envelope,
    exit_code,
    render,
)
from .redaction import hide_secret_flags

CONNECTION_FLAGS = frozenset(f.name for f in fields(ConnectionFlags))


class HelpShown(Exception):
    """argparse printed help (or a version) and wants to stop."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            raise UsageError(message.strip())
        raise HelpShown()


class FlagsParser(Parser, argparse_dataclass.ArgumentParser):  # type: ignore[misc]  # untyped
    """A subcommand's parser: argparse-dataclass's parser of the command's flags dataclass
    (`parse_known_args` returns an instance of it), raising instead of exiting like `Parser`.

    Three touches as argparse-dataclass adds each flag: a number flag without a metavar
    shows `N` or `SECONDS` (`--max-events N`, not `--max-events MAX_EVENTS`), its help ends
    with its default (see `with_default`), and the connection flags of a dataclass that has
    them (see `flags_class`) go under their own heading.
    """

    def __init__(self, options_class: type[Any], **kwargs: Any) -> None:
        # Set before argparse's __init__, which adds --help through add_argument below.
        self.connection_flags = (CONNECTION_FLAGS if issubclass(options_class, ConnectionFlags)
                                 else frozenset())
        # The "connection" argument group, once needed (Any: argparse's class of it is private).
        self.connection_group: Any = None
        # argparse-dataclass leaves defaults to the dataclass (it passes default=MISSING).
        self.defaults = {f.name: f.default for f in fields(options_class)
                         if f.default is not MISSING}
        # The next class in the MRO is argparse-dataclass's (mypy sees argparse's signature).
        super().__init__(options_class, **kwargs)  # type: ignore[arg-type]

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        if kwargs.get("metavar") is None and kwargs.get("type") in (int, float):
            kwargs["metavar"] = "N" if kwargs["type"] is int else "SECONDS"
        if kwargs.get("type") is float:
            kwargs["type"] = finite_float
        # argparse's documented rule: dest is the first long option without `--`, `-` -> `_`.
        long = next((a for a in args if a.startswith("--")), args[0])
        dest = kwargs.get("dest") or long.lstrip("-").replace("-", "_")
        if "help" in kwargs:
            kwargs["help"] = with_default(kwargs["help"], self.defaults.get(dest))
        if dest in self.connection_flags:
            if self.connection_group is None:
                self.connection_group = self.add_argument_group("connection")
            action: argparse.Action = self.connection_group.add_argument(*args, **kwargs)
            return action
        return super().add_argument(*args, **kwargs)


def with_default(help_text: str, default: Any) -> str:
    """A flag's help with `(default: X)` after it, as ArgumentDefaultsHelpFormatter would
    add, but only where there is a value to show: not for a switch (False), a flag without
    a value (None), or help that already says its default."""
    if default is None or default is False or default is argparse.SUPPRESS or (
            help_text is argparse.SUPPRESS or "default" in help_text):
        return help_text
    if isinstance(default, (list, tuple)):
        shown = ",".join(map(str, default))
    elif isinstance(default, float):
        shown = f"{default:g}"
    else:
        shown = str(default) or "''"
    return f"{help_text} (default: {shown.replace('%', '%%')})"


def finite_float(text: str) -> float:
    """argparse `type` of every float flag: a number, not inf or nan."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


@dataclass
class NotNamed:
    """The flags of a subcommand the command line does not name: none are built."""


def flags_class(cmd: Command) -> type[Any]:
    """The dataclass of everything `mxgw NAME` takes: the command's own flags and, for a
    command that connects, the connection flags after them."""
    # `command` is the namespace's subcommand name; connection flags are added below.
    taken = {"command"} | (CONNECTION_FLAGS if cmd.connects else set())
    clash = taken.intersection(f.name for f in fields(cmd.flags))
    if clash:
        raise TypeError(f"{cmd.name}: {', '.join(sorted(clash))}: flag name(s) already taken")
    if not cmd.connects:
        return cmd.flags
    # Fields are collected from the last base to the first: the command's flags come first.
    return make_dataclass(f"{cmd.flags.__name__}WithConnection", [],
                          bases=(ConnectionFlags, cmd.flags))


class RootParser:
    """The `mxgw` parser. Only the subcommand a command line names is imported and gets its
    flags: importing every command module (the client, the generated code, the simulator)
    and building every parser costs more than most commands take to run. So a named
    subcommand has a parser tree that holds it alone; an unknown name is refused with the
    closest names before any module loads; help without a name (`mxgw --help`) gets the
    listing with every summary, which imports every command module; a line with neither
    (`mxgw --version`, `mxgw`) gets a tree without commands. The trees are kept for the
    next command line (batch)."""

    def __init__(self) -> None:
        self.trees: dict[str | None, Parser] = {}
        self.remembered: OrderedDict[tuple[str, ...], ParsedLine] = OrderedDict()
        """Lines parsed before (see parse_line), least recently used first."""

    def remember(self, argv: tuple[str, ...], parsed: ParsedLine) -> None:
        self.remembered[argv] = parsed
        while len(self.remembered) > MAX_REMEMBERED_LINES:
            self.remembered.popitem(last=False)

    def command(self, name: str) -> Command:
        """Subcommand `name` (its module imported)."""
        cmd = load(name)
        if cmd is None:
            raise UsageError(unknown_command(name, COMMANDS))
        return cmd

    def tree(self, name: str | None) -> Parser:
        """The parser tree in which subcommand `name` has its flags (None: every subcommand
        listed, for help; "": none)."""
        if name not in self.trees:
            self.trees[name] = self.build(name)
        return self.trees[name]

    def build(self, key: str | None) -> Parser:
        root = Parser(prog="mxgw", description="MXAccess Gateway client, CLI and simulator.",
                      epilog="run `mxgw COMMAND --help` for a command's flags and an example")
        root.add_argument("--version", action="version", version=f"mxgw {__version__}")
        root.add_argument("-v", "--verbose", action="count", default=0,
                          help="log what the library does on stderr: -v INFO, -vv DEBUG")
        root.add_argument("--log-level", type=str.upper, choices=LEVELS, metavar="LEVEL",
                          help=f"log on stderr from LEVEL on ({', '.join(LEVELS)})")
        commands = root.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=FlagsParser)
        if key is None:
            for cmd in load_all().values():
                commands.add_parser(cmd.name, help=brief(cmd), options_class=NotNamed,
                                    add_help=False)
        elif key:
            cmd = self.command(key)
            commands.add_parser(
                cmd.name, help=brief(cmd), options_class=flags_class(cmd),
                description=textwrap.fill(cmd.summary, 88), epilog=f"example:\n  {cmd.example}",
                formatter_class=argparse.RawDescriptionHelpFormatter)
        return root

    def parse_args(self, argv: Sequence[str]) -> argparse.Namespace:
        """The namespace of one command line: `command` and every flag of that command."""
        argv = list(argv)
        name = subcommand_name(argv)
        if name and name not in COMMANDS:  # (before any command module loads)
            raise UsageError(unknown_command(name, COMMANDS))
        return self.tree(name).parse_args(argv)


def unknown_command(name: str, known: Iterable[str]) -> str:
    """The message for a subcommand that does not exist: the closest names, not all."""
    import difflib  # only a mistyped name pays for importing it

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else "see mxgw --help"
    return f"unknown command {name!r}: {hint}"


def brief(cmd: Command) -> str:
    """The first sentence of a command's summary (its line in `mxgw --help`)."""
    return cmd.summary.split(". ")[0].rstrip(".") + "."


def subcommand_name(argv: Sequence[str]) -> str | None:
    """The first word that is neither a flag nor the value of a global flag; "" when there
    is none (`mxgw --version`); None after `-h`/`--help` (argparse prints the listing
    before it reaches the name)."""
    words = iter(argv)
    for word in words:
        if word in ("-h", "--help"):
            return None
        if len(word) > 2 and "--log-level".startswith(word):  # argparse takes `--log` too
            next(words, None)
        elif not word.startswith("-"):
            return word
    return ""


def build_parser() -> RootParser:
    """The `mxgw` parser with every subcommand."""
    return RootParser()


def parse(parser: RootParser, argv: Sequence[str]) -> tuple[Command, ConnectionFlags, Any]:
    """Parse one command line (raises UsageError, or HelpShown after printing help)."""
    cmd, conn, flags, _ = parse_line(parser, argv)
    return cmd, conn, flags


@dataclass(frozen=True)
class ParsedLine:
    """What parsing one command line yields: the command, every flag's value (the secrets
    put back) and the log level the global flags ask for (None: no logging)."""

    cmd: Command
    values: dict[str, Any] = field(repr=False)  # the secret flags' values among them
    log_level: int | None = None

    def build(self, cls: type[Any]) -> Any:
        """A fresh instance of a flags dataclass (a list value copied: a command may
        change its flags)."""
        values = self.values
        return cls(**{name: list(v) if isinstance(v := values[name], list) else v
                      for name in field_names(cls)})


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The field names of a flags dataclass (looked up once per class)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


MAX_REMEMBERED_LINES = 32
"""Parsed command lines a RootParser keeps, for a batch that repeats a line (a poller)."""
MAX_REMEMBERED_LENGTH = 4096
"""Characters of the longest command line remembered, a separator per word counted (a
long line is rarely repeated; a line of many empty words `''` is long too)."""


def parse_line(parser: RootParser,
               argv: Sequence[str]) -> tuple[Command, ConnectionFlags, Any, int | None]:
    """`parse`, and the log level the global flags ask for (None: no logging).

    A command line parsed before is not parsed again: parsing depends on nothing but the
    words (the types of the flags are pure functions of their text), so its values are
    remembered (recently used lines only; a failure is not remembered)."""
    key = tuple(argv)
    parsed = parser.remembered.get(key)
    if parsed is None:
        parsed = parse_words(parser, argv)
        if sum(map(len, key)) + len(key) <= MAX_REMEMBERED_LENGTH:
            parser.remember(key, parsed)
    else:
        parser.remembered.move_to_end(key)
    cmd = parsed.cmd
    conn = parsed.build(ConnectionFlags) if cmd.connects else ConnectionFlags(
        json=parsed.values.get("json") is True)
    return cmd, conn, parsed.build(cmd.flags), parsed.log_level


def parse_words(parser: RootParser, argv: Sequence[str]) -> ParsedLine:
    """One command line parsed by argparse.

    argparse sees the secret flags' values as `<redacted>` (so that a usage error, which
    echoes words of the command line, cannot show them); the parsed flags get the real
    values back."""
    hidden = hide_secret_flags(argv, abbreviated=False)
    try:
        namespace = parser.parse_args(hidden.argv)
    except UsageError as exc:
        # argparse echoes an abbreviated secret flag (`--pass VALUE`) whole when it is
        # ambiguous or unknown: the error is the one of the line with those hidden too.
        again = hide_secret_flags(argv)
        if again.values == hidden.values:
            raise
        try:
            parser.parse_args(again.argv)
        except UsageError as shown:
            raise shown from None
        raise UsageError("invalid command line", exc.prog) from None  # (not seen so far)
    if namespace.command is None:
        raise UsageError("give a subcommand; see mxgw --help")
    cmd = parser.command(namespace.command)
    # The command's flags dataclass, as argparse merged it in, with the secrets put back.
    return ParsedLine(cmd, hidden.reveal(vars(namespace)),
                      level_of(namespace.verbose, namespace.log_level))


async def run(ctx: Context, cmd: Command, conn: ConnectionFlags, flags: Any) -> int:
    """Run one parsed command, print its result and return its exit code."""
    result = await cmd.action(ctx, conn, flags)
    code = EXIT_OK
    if isinstance(result, Outcome):
        result, code = result.value, result.exit_code
    received, ctx.received = ctx.received, None
    if received is not None:
        received.finish()
    if not cmd.streams:
        ctx.write(render(result, conn.json, cmd.text), flush=not ctx.in_batch)
    return code


def report(ctx: Context, exc: BaseException, as_json: bool) -> int:
    """Print a failure (envelope on stdout with --json, text on stderr) and return the exit
    code. A streaming command's failure says what it had received (see received.py)."""
    envelope = error_envelope(exc)
    received, ctx.received = ctx.received, None
    if received is not None and isinstance(exc, Interrupted):
        envelope["error"] += f"{received.after()}: the output is incomplete"
    if as_json:
        ctx.write(received.incomplete(envelope) if received is not None else dumps(envelope),
                  flush=not ctx.in_batch)
    else:
        if received is not None:
            received.end_progress()
        prog = exc.prog if isinstance(exc, UsageError) else "mxgw"
        prefix = f"{prog}: " if isinstance(exc, Interrupted) else f"{prog}: error: "
        ctx.note(prefix + envelope["error"])
    return exit_code(exc)


async def dispatch(ctx: Context, parser: RootParser, argv: Sequence[str], *,
                   force_json: bool = False) -> int:
    """Parse and run one command line; print its result or its failure; return the exit code.

    With --json or --jsonl a failure is an envelope on stdout. SIGINT or SIGTERM (see
    `amain_until_terminated`) cancels the command; once it has cleaned up, the interrupt
    is reported like a failure, with what a streaming command had received."""
    as_json = force_json or "--json" in argv or "--jsonl" in argv
    ctx.received = None  # the command registers its own, if it streams
    try:
        with contextlib.redirect_stdout(ctx.out):  # where argparse prints --help
            cmd, conn, flags, log_level = parse_line(parser, argv)
        if log_level is not None:
            ctx.log.set_level(log_level)
        if force_json:
            conn.json = True
        as_json = conn.json or getattr(flags, "jsonl", False) is True
        return await run(ctx, cmd, conn, flags)
    except HelpShown:
        ctx.out.flush()
        return EXIT_OK
    except BrokenPipeError:
        raise  # nobody reads our output any more: stop (see main)
    except Exception as exc:
        return report(ctx, exc, as_json)
    except BaseException as exc:
        import asyncio  # here, not at the top: a command without a loop never loads it

        if not isinstance(exc, asyncio.CancelledError) or ctx.interrupted is None:
            raise  # not the cancel of our signal handler: not ours to report
        task = asyncio.current_task()
        if task is not None and hasattr(task, "uncancel"):  # Python 3.11+
            task.uncancel()  # the cancel was the signal's, and is handled here
        return report(ctx, Interrupted(ctx.interrupted), as_json)


async def amain(argv: Sequence[str], ctx: Context | None = None) -> int:
    """Run one command line in this event loop (the context is closed afterwards)."""
    context = ctx or Context()
    try:
        return await dispatch(context, build_parser(), argv)
    finally:
        await context.aclose()


EXIT_SIGTERM = 128 + signal.SIGTERM


async def amain_until_terminated(argv: Sequence[str]) -> int:
    """`amain`, with SIGINT (Ctrl-C) and SIGTERM handled alike: the command is cancelled,
    so it cleans up (closes the sessions it opened, its streams and connections; without
    this, SIGTERM's default action kills the process and the gateway keeps its sessions
    until they expire), then prints what it had received, marked incomplete, and the exit
    code is 128 + the signal (130, 143). A second signal during the clean-up has its
    default action: the process ends at once. A SIGINT the process was started with
    ignored (a background job of a shell) stays ignored."""
    import asyncio  # see main

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    ctx = Context()
    handled: list[signal.Signals] = []

    def on_signal(signum: signal.Signals) -> None:
        ctx.interrupted = signum
        while handled:
            loop.remove_signal_handler(handled.pop())  # back to the default actions
        if task is not None:
            task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signum == signal.SIGINT and signal.getsignal(signum) is signal.SIG_IGN:
            continue
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
            continue
        handled.append(signum)
    try:
        code = await amain(argv, ctx)
        # A signal that came during the command's last step (SIGTERM as a batch's stdin
        # ends, or during the final write) may have only reached the loop's self-pipe.
        # asyncio takes three passes to run its handler: one selects the pipe, the next
        # reads it and queues the handler (call_soon), the third runs it. Give it those
        # passes before the handlers go, or the process exits 0 as if never signalled
        # (the handler's cancel then ends this wait: see below).
        for _ in range(3):
            await asyncio.sleep(0)
    except asyncio.CancelledError:  # outside any command (between two batch lines)
        if ctx.interrupted is None:
            raise
        code = EXIT_OK
    finally:
        while handled:
            loop.remove_signal_handler(handled.pop())
    return exit_code(Interrupted(ctx.interrupted)) if ctx.interrupted else code


def needs_loop(argv: Sequence[str]) -> bool:
    """Whether a command line runs a command that waits on the event loop. A usage error,
    help, `--version` and a command registered with `needs_loop=False` do not."""
    name = subcommand_name(argv)
    try:
        cmd = load(name) if name else None
    except Exception:  # a command module that fails to import: `dispatch` reports it
        return True
    return cmd is not None and cmd.needs_loop


def run_without_loop(line: Coroutine[Any, Any, int]) -> int:
    """What `asyncio.run(line)` returns, for a coroutine that never suspends, without
    starting an event loop: importing asyncio alone costs a third of `mxgw version`."""
    try:
        line.send(None)
    except StopIteration as done:
        return int(done.value)
    line.close()
    raise RuntimeError("a command registered with needs_loop=False waited on the event loop")


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if not needs_loop(args):
            return run_without_loop(amain(args))
        import asyncio  # only a command that waits on the loop pays for importing it

        return asyncio.run(amain_until_terminated(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mxgw ... | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
