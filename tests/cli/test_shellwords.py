"""Batch lines split as `shlex.split` splits them, in time linear in the line's length."""

from __future__ import annotations

import shlex
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mxgw.cli.batch import command_line
from mxgw.cli.output import UsageError
from mxgw.cli.shellwords import split

CASES = [
    ("write --value 42", ["write", "--value", "42"]),
    ("  spaced\tout \r\n", ["spaced", "out"]),
    ("--value 'two words'", ["--value", "two words"]),
    ('--value "two words"', ["--value", "two words"]),
    ("a'b c'd", ["ab cd"]),
    ("''", [""]),
    ('x "" y', ["x", "", "y"]),
    (r"a\ b", ["a b"]),
    (r"\'", ["'"]),
    (r'"say \"hi\""', ['say "hi"']),
    (r'"back\\slash"', ["back\\slash"]),
    (r'"kept \n \x"', [r"kept \n \x"]),
    (r"'no \escapes\ here'", [r"no \escapes\ here"]),
    ("'it'\\''s'", ["it's"]),
    ("# not a comment", ["#", "not", "a", "comment"]),
    ("--items 'A,B' --json", ["--items", "A,B", "--json"]),
    ("emoji 'ünïcødé ✓'", ["emoji", "ünïcødé ✓"]),
    ("line\\\n", ["line\n"]),
]


@pytest.mark.parametrize(("line", "words"), CASES)
def test_quoting_is_shlex_quoting(line: str, words: list[str]) -> None:
    assert split(line) == words == shlex.split(line)


@pytest.mark.parametrize(("line", "message"), [
    ("write 'unbalanced", "No closing quotation"),
    ('write "unbalanced', "No closing quotation"),
    ('write "ends in \\', "No escaped character"),
    ('write "ends in \\\\', "No closing quotation"),
    ("write trailing\\", "No escaped character"),
])
def test_errors_are_shlex_errors(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        shlex.split(line)
    with pytest.raises(ValueError, match=f"^{message}$"):
        split(line)
    with pytest.raises(UsageError, match=message):
        command_line(line)


def _shlex(line: str) -> list[str] | str:
    try:
        return shlex.split(line)
    except ValueError as exc:
        return f"error: {exc}"


def _ours(line: str) -> list[str] | str:
    try:
        return split(line)
    except ValueError as exc:
        return f"error: {exc}"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab '\"\\\t\n\r#=-é", max_size=24))
def test_any_line_splits_as_shlex_splits_it(line: str) -> None:
    assert _ours(line) == _shlex(line)


def _best_time(line: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        split(line)
        best = min(best, time.perf_counter() - started)
    return best


def test_splitting_time_grows_linearly_with_the_line() -> None:
    """Twenty times the line takes about twenty times as long (shlex, whose time grows
    with the square of a word's length: hundreds of times). Only the ratio of two times
    is compared, with a wide margin, never a time."""
    # Mostly one long word of many parts (plain, quoted, escaped), then short words.
    parts = "word'single quoted'\"double \\\" quoted\"a\\ b--flag=x"
    words = " word 'single quoted' \"double \\\" quoted\" a\\ b --flag=x"
    repeats = 100_000 // len(parts)  # a line of about 100 KB, and one of about 2 MB
    small = "write --value " + parts * repeats + words * (repeats // 10)
    large = "write --value " + parts * (20 * repeats) + words * (2 * repeats)
    assert len(split(large)) - 3 == 20 * (len(split(small)) - 3)
    assert _best_time(large) / _best_time(small) < 80


def test_a_word_of_many_megabytes_is_one_word() -> None:
    value = "x y'z\"" * 1_000_000
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert split(f"write --value {quoted} --json") == ["write", "--value", value, "--json"]
