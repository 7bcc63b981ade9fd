"""Secret redaction by structure: API keys and passwords never reach stdout or stderr.

Three rules, none of which replaces a remembered string wherever it occurs (a batch that
once saw `--password 1` must not turn every later `1` into `<redacted>`):

- The values of the secret flags (`--api-key`, `--password`) are hidden from the parser:
  what argparse echoes in a usage error is `<redacted>`, and the real value is put back
  into the parsed flags (`hide_secret_flags`).
- The values of secret fields (`password`, `authorization`) in anything
  rendered as JSON or text are `<redacted>` (`redact_fields`).
- Any token shaped like a gateway key, `mxgw_<id>_<secret>`, is `<redacted>` in every
  line printed (`Redactor`). The token's characters never include a quote, a backslash,
  whitespace or JSON punctuation, so a replacement stays inside one JSON string: the
  output stays valid JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

REDACTED = "<redacted>"
SECRET_FLAGS = {"--api-key": "api_key", "--password": "password"}
"""Each secret flag and the parsed field (argparse dest) it fills."""
SECRET_FIELDS = frozenset({"password", "authorization"})
"""Fields whose values are secrets. Not `apiKey`: `mxgw sim --json` announces the key it
generated in that field, for its clients; other keys are caught by their shape."""
KEY_SHAPE = re.compile(r"mxgw_[A-Za-z0-9-]+_[A-Za-z0-9_.~+/=-]{8,}")
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")  # argparse's own test


def _taken_as_value(word: str) -> bool:
    """Whether argparse takes `word` as the value of the flag before it (rather than as
    another option): argparse's rule for a parser without negative-number options."""
    return (not word.startswith("-") or word == "-" or " " in word
            or bool(_NEGATIVE_NUMBER.match(word)))


def _secret_flag(word: str, abbreviated: bool) -> bool:
    """Whether `word` is a secret flag, or (`abbreviated`) an abbreviation argparse may
    take for one (`--pass`)."""
    if not abbreviated:
        return word in SECRET_FLAGS
    return len(word) > 2 and word.startswith("--") and any(
        secret.startswith(word) for secret in SECRET_FLAGS)


@dataclass
class HiddenSecrets:
    """A command line with the secret flags' values replaced by placeholders."""

    argv: list[str]
    values: dict[str, str] = field(default_factory=dict)
    """The real value behind each placeholder."""
    typed: frozenset[str] = frozenset()
    """The words of the line and their values after `=`: no placeholder is one of them."""

    def hide(self, value: str) -> str:
        """A placeholder for `value`: `<redacted>`, then `<redacted-2>`... (each distinct,
        and none typed on the line, so that a value can be put back wherever argparse put
        it and nothing typed is mistaken for one)."""
        if not self.values:
            self.typed = frozenset(self.argv).union(w.partition("=")[2] for w in self.argv)
        number = len(self.values) + 1
        while True:
            placeholder = REDACTED if number == 1 else f"<redacted-{number}>"
            if placeholder not in self.typed and placeholder not in self.values:
                break
            number += 1
        self.values[placeholder] = value
        return placeholder

    def reveal(self, parsed: Mapping[str, Any]) -> dict[str, Any]:
        """The parsed flags with the hidden values put back wherever argparse put them
        (the words after a secret flag's value may be positionals: `watch --api-key KEY
        TAG...`)."""
        if not self.values:
            return dict(parsed)
        values = self.values
        restored: dict[str, Any] = {}
        for dest, value in parsed.items():
            if isinstance(value, str):
                value = values.get(value, value)
            elif isinstance(value, list):
                value = [values.get(v, v) if isinstance(v, str) else v for v in value]
            restored[dest] = value
        return restored


def hide_secret_flags(argv: Sequence[str], abbreviated: bool = True) -> HiddenSecrets:
    """`argv` with the values of each `--api-key`/`--password` (`--flag value...` or
    `--flag=value`) replaced by placeholders, for parsing without echoing them.

    After the flag, every word argparse would take as a value is hidden (one for most
    commands, several for `mxgw sim --api-key`; the others are positionals, put back by
    `reveal` too). `abbreviated`: an abbreviation of a secret flag (`--pass`, `--api=`)
    too, for the error of a line that failed: argparse echoes it whole, with its value,
    when it is ambiguous or unrecognized. (Not for a line that parses: an abbreviation
    may be another flag's, such as invoke's `--pa` for `--payload`, its value typed.)
    """
    hidden = HiddenSecrets(list(argv))
    words = hidden.argv
    index = 0
    while index < len(words):
        flag, eq, value = words[index].partition("=")
        if eq and _secret_flag(flag, abbreviated):
            words[index] = f"{flag}={hidden.hide(value)}"
        elif _secret_flag(words[index], abbreviated):
            while index + 1 < len(words) and _taken_as_value(words[index + 1]):
                index += 1
                words[index] = hidden.hide(words[index])
        index += 1
    return hidden


def redact_fields(data: Any) -> Any:
    """JSON-shaped `data` with the value of every secret field replaced (a container is
    copied only where something inside it changes)."""
    if isinstance(data, dict):
        changed = {key: REDACTED if key in SECRET_FIELDS and value not in (None, "")
                   else redact_fields(value) for key, value in data.items()}
        same = all(changed[key] is value for key, value in data.items())
        return data if same else changed
    if isinstance(data, list):
        items = [redact_fields(item) for item in data]
        return data if all(a is b for a, b in zip(items, data, strict=True)) else items
    return data


class Redactor:
    """Removes key-shaped tokens from anything printed."""

    def __call__(self, text: str) -> str:
        if "mxgw_" not in text:  # the common case: no scan at all
            return text
        return KEY_SHAPE.sub(REDACTED, text)
