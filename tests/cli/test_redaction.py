"""Secrets never printed, found by structure: the values of --api-key / --password, secret
fields, and key-shaped tokens; nothing else in the output is touched."""

from __future__ import annotations

import json

import pytest

from mxgw import pb
from mxgw.cli.main import build_parser, parse
from mxgw.cli.output import UsageError, dumps, render
from mxgw.cli.redaction import Redactor, hide_secret_flags

KEY = "mxgw_dev_abcdefgh123"


def test_secret_flag_values_are_hidden_from_the_parser_and_put_back() -> None:
    hidden = hide_secret_flags(["authenticate-user", "--api-key=first-secret", "--password",
                                "1", "--user-name", "1", "--pass=third", "--api-key"])
    assert hidden.argv == ["authenticate-user", "--api-key=<redacted>", "--password",
                           "<redacted-2>", "--user-name", "1", "--pass=<redacted-3>",
                           "--api-key"]
    assert hidden.reveal({"api_key": "<redacted>", "password": "<redacted-2>",
                          "user_name": "1"}) == {
        "api_key": "first-secret", "password": "1", "user_name": "1"}


def test_a_placeholder_typed_on_the_line_stays_as_typed() -> None:
    _, conn, flags = parse(build_parser(), [
        "authenticate-user", "--session-id", "s", "--server-handle", "1",
        "--user-name", "<redacted>", "--password", "p", "--api-key=k"])
    assert (flags.user_name, flags.password, conn.api_key) == ("<redacted>", "p", "k")


def test_every_value_of_the_simulators_key_list_is_hidden_and_put_back() -> None:
    argv = ["sim", "--api-key", "mxgw_a_one", "mxgw_b_two=events:read", "--plaintext"]
    assert hide_secret_flags(argv).argv == [
        "sim", "--api-key", "<redacted>", "<redacted-2>", "--plaintext"]
    _, _, flags = parse(build_parser(), argv)
    assert flags.api_key == ["mxgw_a_one", "mxgw_b_two=events:read"]


def test_a_word_argparse_takes_as_an_option_is_not_hidden() -> None:
    assert hide_secret_flags(["--api-key", "--json"]).argv == ["--api-key", "--json"]
    assert hide_secret_flags(["--password", "-5"]).argv == ["--password", "<redacted>"]


def test_the_parsed_flags_hold_the_real_secrets() -> None:
    _, conn, flags = parse(build_parser(), [
        "authenticate-user", "--session-id", "s", "--server-handle", "1", "--user-name", "op",
        "--password", "p4ss word", "--endpoint", "h:1", "--api-key", KEY])
    assert (conn.api_key, flags.password) == (KEY, "p4ss word")


@pytest.mark.parametrize("argv", [
    ["version", "--api-key", "not-key-shaped-secret"],  # echoed as an unrecognized argument
    ["version", "--password=not-key-shaped-secret"],
    ["register", "--session-id", "s", "--api-k=not-key-shaped-secret"],  # ambiguous: echoed
    ["--api-key", "not-key-shaped-secret", "register"],  # echoed as an invalid choice
])
def test_a_usage_error_shows_no_secret_flag_value(argv: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        parse(build_parser(), argv)
    assert "not-key-shaped-secret" not in str(caught.value)
    assert "<redacted>" in str(caught.value)


def test_parsed_flags_show_no_secret_in_their_repr() -> None:
    parser = build_parser()
    line = ["authenticate-user", "--session-id", "s", "--server-handle", "1", "--user-name",
            "u", "--password", "pass-secret", "--api-key", "key-secret"]
    _, conn, flags = parse(parser, line)
    assert (conn.api_key, flags.password) == ("key-secret", "pass-secret")
    shown = repr(conn) + repr(flags) + repr(list(parser.remembered.values()))
    assert "secret" not in shown


def test_secret_fields_are_redacted_in_json_and_text() -> None:
    value = {"authenticateUser": {"userName": "operator", "password": "hunter2"},
             "count": 1, "empty": {"password": ""}}
    assert json.loads(dumps(value)) == {
        "authenticateUser": {"userName": "operator", "password": "<redacted>"},
        "count": 1, "empty": {"password": ""}}
    assert "hunter2" not in render(value, as_json=False)


def test_a_secret_field_inside_messages_and_lists_is_redacted() -> None:
    command = pb.MxCommand(authenticate_user_command=pb.AuthenticateUserCommand(
        user_name="operator", password="hunter2"))
    line = dumps([{"commands": [command]}, "text with \"password\": in it"])
    assert "hunter2" not in line
    assert json.loads(line)[0]["commands"][0]["authenticateUserCommand"]["password"] == "<redacted>"
    # Without a secret field the line is as json.dumps writes it.
    assert dumps({"note": '"password": x'}) == '{"note":"\\"password\\": x"}'


def test_key_shaped_tokens_are_redacted_and_json_stays_valid() -> None:
    redact = Redactor()
    line = json.dumps({"error": f"bad key {KEY}", "list": [KEY, f'"{KEY}"\\n'], "n": 1})
    cleaned = redact(line)
    assert KEY not in cleaned
    assert json.loads(cleaned) == {"error": "bad key <redacted>",
                                   "list": ["<redacted>", '"<redacted>"\\n'], "n": 1}
    # Short secrets are never remembered: nothing else changes.
    assert redact('{"sessionId":"session-1e","workerProtocolVersion":1}') == (
        '{"sessionId":"session-1e","workerProtocolVersion":1}')


@pytest.mark.parametrize("argv", [
    # A command without the flag: argparse echoes `--pass VALUE` as unrecognized, as it
    # would `--password VALUE` (hidden), or `--pass=VALUE` (hidden).
    ["version", "--pass", "not-key-shaped-secret"],
    ["write", "--session-id", "s", "--server-handle", "1", "--item-handle", "2", "--value",
     "3", "--pass", "not-key-shaped-secret"],
])
def test_an_abbreviated_secret_flag_with_its_value_apart_is_not_echoed(argv: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        parse(build_parser(), argv)
    assert "not-key-shaped-secret" not in str(caught.value)


def test_an_abbreviation_of_another_flag_keeps_its_value() -> None:
    """`--pa=JSON` is invoke's `--payload` (invoke has no --password): its value must not
    be swapped for a placeholder that is never put back."""
    _, _, flags = parse(build_parser(), ["invoke", "--session-id", "s", "--kind", "REGISTER",
                                         '--pa={"clientName": "x"}'])
    assert flags.payload == '{"clientName": "x"}'


def test_the_words_after_a_secret_flags_value_keep_their_own_values() -> None:
    """`watch --api-key KEY TAG...`: the tags are watch's positionals, not more keys
    (they became `<redacted-2>`... and were watched under those names)."""
    _, conn, flags = parse(build_parser(), ["watch", "--api-key", "k", "A.B", "C.D"])
    assert (conn.api_key, flags.tags) == ("k", ["A.B", "C.D"])


def test_an_abbreviation_that_is_another_number_flag_parses() -> None:
    """galaxy-discover's `--pa` is `--page-size` (it has no --password): its value is a
    number, which a placeholder is not."""
    for argv in (["--pa", "5"], ["--pa=5"]):
        _, _, flags = parse(build_parser(), ["galaxy-discover", "--sim", *argv])
        assert flags.page_size == 5
