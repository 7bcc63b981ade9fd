"""`-v`/`--log-level`: the library's log records on stderr (stdout carries the results)."""

import logging
from collections.abc import Callable
from typing import Optional, TextIO

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def level_of(verbose: int, log_level: Optional[str]) -> Optional[int]:
    """The level asked for: `--log-level` wins; `-v` is INFO, `-vv` DEBUG; None: no logs."""
    if log_level:
        return int(getattr(logging, log_level.upper()))
    if verbose:
        return logging.INFO if verbose == 1 else logging.DEBUG
    return None


class _Redacting(logging.Formatter):
    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__(FORMAT)
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class StderrLog:
    """A handler on the `mxgw` logger (the library's records only: other libraries' DEBUG
    records, hpack's header dumps among them, stay off), installed for one CLI context
    and removed with it."""

    def __init__(self, stream: TextIO, redact: Callable[[str], str]) -> None:
        self._handler = logging.StreamHandler(stream)
        self._handler.setFormatter(_Redacting(redact))
        self._logger = logging.getLogger("mxgw")
        self._saved: Optional[tuple[int, bool]] = None

    def set_level(self, level: int) -> None:
        if self._saved is None:
            self._saved = (self._logger.level, self._logger.propagate)
            self._logger.addHandler(self._handler)
            # Not also through a root handler (the `sim` command configures one).
            self._logger.propagate = False
        self._logger.setLevel(level)

    def remove(self) -> None:
        if self._saved is not None:
            self._logger.removeHandler(self._handler)
            self._logger.setLevel(self._saved[0])
            self._logger.propagate = self._saved[1]
            self._saved = None
