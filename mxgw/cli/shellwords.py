"""Splitting a batch line into words the way `shlex.split` does, in time linear in its length.

shlex reads one character at a time and grows each word by string concatenation, which
is quadratic in the word's length: a 1 MB line took 16 s and a 2 MB one 113 s, and a
batch line may carry a message of up to 16 MiB. Here each run of plain characters, each
quoted part and each escape is one regular-expression match, and a word is joined once.

The rules are shlex's POSIX mode with whitespace splitting and no comments (what
`shlex.split(line)` does): words are separated by spaces, tabs, CR and LF; `'...'` is
literal; in `"..."` a backslash escapes only `"` and `\\` (it is kept before anything
else); outside quotes a backslash makes the next character literal; parts of a word
join (`a'b c'd` is `ab cd`); `''` is an empty word. The errors are shlex's, with its
messages ("No closing quotation", "No escaped character").
"""

from __future__ import annotations

import re

_PART = re.compile(
    r"""(?P<plain>[^ \t\r\n'"\\]+)
      | '(?P<single>[^']*)'
      | "(?P<double>[^"\\]*(?:\\.[^"\\]*)*)"
      | \\(?P<escaped>.)
      | (?P<space>[ \t\r\n]+)""",
    re.VERBOSE | re.DOTALL,
)
_UNCLOSED_DOUBLE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?P<escape>\\?)\Z', re.DOTALL)
_DOUBLE_ESCAPE = re.compile(r'\\(["\\])')


def split(line: str) -> list[str]:
    """The words of `line` (ValueError, with shlex's message, for an unclosed quote or a
    trailing backslash)."""
    words: list[str] = []
    parts: list[str] = []
    in_word = False
    position, end = 0, len(line)
    while position < end:
        match = _PART.match(line, position)
        if match is None:
            raise ValueError(_error_at(line, position))
        position = match.end()
        kind = match.lastgroup
        if kind == "space":
            if in_word:
                words.append("".join(parts))
                parts.clear()
                in_word = False
            continue
        in_word = True
        text = match.group(kind or "plain")
        parts.append(_DOUBLE_ESCAPE.sub(r"\1", text) if kind == "double" else text)
    if in_word:
        words.append("".join(parts))
    return words


def _error_at(line: str, position: int) -> str:
    """shlex's message for the part that starts at `position` and does not end."""
    opener = line[position]
    if opener == '"':
        unclosed = _UNCLOSED_DOUBLE.match(line, position)
        if unclosed is not None and unclosed.group("escape"):
            return "No escaped character"
        return "No closing quotation"
    if opener == "'":
        return "No closing quotation"
    return "No escaped character"  # a backslash at the very end
