"""`-v`/`--log-level`: the library's log records on stderr (stdout carries the results).

`logging` is imported once logs are asked for: a command line without these flags (such
as `mxgw version`, which loads no module that logs) does not load it."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Optional, TextIO

if TYPE_CHECKING:
    import logging

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def level_of(verbose: int, log_level: Optional[str]) -> Optional[int]:
    """The level asked for: `--log-level` wins; `-v` is INFO, `-vv` DEBUG; None: no logs."""
    if not log_level and not verbose:
        return None
    import logging

    if log_level:
        return int(getattr(logging, log_level.upper()))
    return logging.INFO if verbose == 1 else logging.DEBUG


def _redacting_handler(stream: TextIO, redact: Callable[[str], str]) -> "logging.Handler":
    """A handler writing `FORMAT` lines on `stream`, each line redacted."""
    import logging

    class Redacting(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return redact(super().format(record))

    handler = logging.StreamHandler(stream)
    handler.setFormatter(Redacting(FORMAT))
    return handler


class StderrLog:
    """A handler on the `mxgw` logger (the library's records only: other libraries' DEBUG
    records, hpack's header dumps among them, stay off), installed for one CLI context
    and removed with it."""

    def __init__(self, stream: TextIO, redact: Callable[[str], str]) -> None:
        self._stream = stream
        self._redact = redact
        self._installed: Optional[tuple[logging.Logger, logging.Handler, int, bool]] = None
        """The logger, our handler on it, and the level and propagation it had before."""

    def set_level(self, level: int) -> None:
        if self._installed is None:
            import logging

            logger = logging.getLogger("mxgw")
            handler = _redacting_handler(self._stream, self._redact)
            self._installed = (logger, handler, logger.level, logger.propagate)
            logger.addHandler(handler)
            # Not also through a root handler (the `sim` command configures one).
            logger.propagate = False
        self._installed[0].setLevel(level)

    def remove(self) -> None:
        if self._installed is not None:
            logger, handler, level, propagate = self._installed
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
            self._installed = None
