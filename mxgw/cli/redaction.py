"""Secret redaction: API keys and passwords never reach stdout or stderr."""

from __future__ import annotations

import re
from collections.abc import Sequence

SECRET_FLAGS = ("--api-key", "--password")
KEY_SHAPE = re.compile(r"mxgw_[A-Za-z0-9-]+_\S{8,}")


class Redactor:
    """Removes secrets from anything printed."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        if secret:
            self._secrets.add(secret)

    def add_from_argv(self, argv: Sequence[str]) -> None:
        """Secrets visible on a command line, before it is parsed (a mistyped command line
        is echoed in its usage error): the values of --api-key and --password, and any
        word shaped like a gateway key (`mxgw_<id>_<secret>`)."""
        for index, word in enumerate(argv):
            flag, eq, value = word.partition("=")
            if flag in SECRET_FLAGS:
                self.add(value if eq else (argv[index + 1] if index + 1 < len(argv) else None))
            elif KEY_SHAPE.fullmatch(word):
                self.add(word)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text
