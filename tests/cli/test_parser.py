"""The parser: argparse-dataclass subparsers that raise instead of exiting, flags built only
for the subcommand a command line names, connection flags under their own heading."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from mxgw.cli import main
from mxgw.cli.commands import Command, load_all
from mxgw.cli.flags import ConnectionFlags
from mxgw.cli.main import HelpShown, build_parser, flags_class, parse
from mxgw.cli.output import UsageError

WRITE = ["write", "--session-id", "s", "--server-handle", "1", "--item-handle", "2",
         "--value", "3"]


def test_a_command_line_parses_into_its_flags_dataclasses() -> None:
    cmd, conn, flags = parse(build_parser(), [*WRITE, "--type", "int32", "--timeout", "2.5",
                                              "--sim"])
    assert cmd.name == "write"
    assert type(conn) is ConnectionFlags and (conn.sim, conn.timeout) == (True, 2.5)
    assert type(flags) is cmd.flags
    assert (flags.session_id, flags.server_handle, flags.item_handle) == ("s", 1, 2)
    assert (flags.value, flags.type_name) == ("3", "int32")


def test_a_repeated_command_line_gets_fresh_flags_and_the_same_failures() -> None:
    parser = build_parser()
    line = ["read-bulk", "--session-id", "s", "--server-handle", "1", "--items", "A.X,B.Y",
            "--api-key", "secret-1", "--json"]
    _, conn, flags = parse(parser, line)
    conn.json = False
    flags.items.append("C.Z")  # a command may change its flags: the next line's are its own
    _, again_conn, again = parse(parser, line)
    assert (again_conn.json, again_conn.api_key, again.items) == (True, "secret-1",
                                                                  ["A.X", "B.Y"])
    for _ in range(2):
        with pytest.raises(UsageError, match="invalid int value"):
            parse(parser, [*WRITE[:4], "x"])


@pytest.mark.parametrize(("argv", "prog", "message"), [
    (["write", "--bogus"], "mxgw write", "the following arguments are required"),
    ([*WRITE, "--server-handle", "x"], "mxgw write", "argument --server-handle: invalid int"),
    ([*WRITE, "--bogus"], "mxgw", "unrecognized arguments: --bogus"),
    (["nosuch"], "mxgw", "unknown command 'nosuch': see mxgw --help"),
    (["--json"], "mxgw", "unrecognized arguments: --json"),
    ([], "mxgw", "give a subcommand"),
])
def test_bad_command_lines_raise_usage_errors(argv: list[str], prog: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)) as caught:
        parse(build_parser(), argv)
    assert caught.value.prog == prog and not str(caught.value).startswith("mxgw")


@pytest.mark.parametrize("argv", [["--help"], ["write", "--help"], ["version", "-h"]])
def test_help_raises_after_printing(argv: list[str], capsys: pytest.CaptureFixture[str]
                                    ) -> None:
    with pytest.raises(HelpShown):
        parse(build_parser(), argv)
    assert capsys.readouterr().out.startswith("usage: mxgw")


def test_only_the_named_subcommand_gets_its_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def recording(cmd: Command) -> type[Any]:
        built.append(cmd.name)
        return flags_class(cmd)

    monkeypatch.setattr(main, "flags_class", recording)
    parser = build_parser()
    parse(parser, WRITE)
    parse(parser, [*WRITE, "--json"])  # the tree of `write` is kept
    parse(parser, ["version"])
    assert built == ["write", "version"]


def test_connection_flags_under_their_heading_and_number_metavars(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(HelpShown):
        parse(build_parser(), ["write", "--help"])
    help_text = capsys.readouterr().out
    options, connection = help_text.split("\noptions:\n")[1].split("\nconnection:\n")
    assert "--server-handle N " in options and "--endpoint" not in options
    assert "--endpoint ENDPOINT" in connection and "--timeout SECONDS" in connection


def test_every_connecting_command_has_one_flags_class_with_the_connection_flags() -> None:
    for cmd in load_all().values():
        combined = flags_class(cmd)
        names = [f.name for f in dataclasses.fields(combined)]
        own = [f.name for f in dataclasses.fields(cmd.flags)]
        if cmd.connects:
            conn = [f.name for f in dataclasses.fields(ConnectionFlags)]
            assert issubclass(combined, ConnectionFlags) and names == own + conn, cmd.name
        else:
            assert combined is cmd.flags


PRIVATE = re.compile(r"\b_add_dataclass_options\b|\b_get_kwargs\b|\._(actions|action_groups|"
                     r"option_string_actions|optionals|positionals|group_actions|"
                     r"name_parser_map|choices_actions|options_type|registries|defaults)\b")


def test_the_cli_uses_only_argparse_public_api() -> None:
    cli = Path(main.__file__).parent
    for path in sorted(cli.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not PRIVATE.search(line), f"{path.name}:{number}: {line.strip()}"


def test_a_line_of_many_empty_words_is_not_remembered() -> None:
    """The remembered lines are bounded by size: `''` is a word of no characters, so a
    line of a million of them (a few MB, which batch takes) must count as long, not as
    a line of 5 characters kept with its million-entry argv and values."""
    parser = build_parser()
    parse(parser, ["watch", *[""] * 5000, "--sim"])
    assert not parser.remembered


def test_an_abbreviated_log_level_takes_its_value_as_argparse_does(
        capsys: pytest.CaptureFixture[str]) -> None:
    """argparse takes `--log DEBUG` for `--log-level DEBUG`: the word after it is the
    level, not the subcommand (it was refused as `unknown command 'WARNING'`)."""
    assert main.main(["--log", "WARNING", "version", "--json"]) == 0
    assert '"name":"mxgw"' in capsys.readouterr().out
