"""A progress line on stderr: `1,500 of 3,000 objects  50%  1,234/s  1.2 s`.

On a terminal the line is redrawn in place (at most every REDRAW seconds); on anything
else (asked for with --progress) each update is a line of its own, at most every
LOG_EVERY seconds, so a log file does not fill with carriage returns.
"""

from __future__ import annotations

import time
from typing import TextIO

REDRAW = 0.1
LOG_EVERY = 1.0


class Progress:
    """Counts what a command received and shows it on `err`."""

    def __init__(self, err: TextIO, noun: str, *, terminal: bool) -> None:
        self.err = err
        self.noun = noun
        self.terminal = terminal
        self.started = time.monotonic()
        self.first_at: float | None = None
        """When the first item came: the rate counts from there, not from connecting."""
        self.shown_at: float | None = None
        self.interval = REDRAW if terminal else LOG_EVERY

    def text(self, count: int, total: int | None, now: float) -> str:
        """The progress of `count` (of `total`, when known) at `now`."""
        noun = self.noun if (total or count) == 1 else f"{self.noun}s"
        head = f"{count:,} of {total:,} {noun}" if total else f"{count:,} {noun}"
        percent = f"  {min(count * 100 // total, 100)}%" if total else ""
        since_first = now - self.first_at if self.first_at is not None else 0.0
        rate = f"  {(count - 1) / since_first:,.0f}/s" if count > 1 and since_first > 0 else ""
        return f"{head}{percent}{rate}  {now - self.started:.1f} s"

    def _show(self, line: str, end: str) -> None:
        # On a terminal: back to column 0 and clear the rest of the line, then draw.
        self.err.write(("\r\x1b[K" if self.terminal else "") + line + end)
        self.err.flush()

    def update(self, count: int, total: int | None = None) -> None:
        """Show `count` if the last update is old enough (the first is always shown)."""
        now = time.monotonic()
        if self.first_at is None:
            self.first_at = now
        if self.shown_at is not None and now - self.shown_at < self.interval:
            return
        self.shown_at = now
        self._show(self.text(count, total, now), "" if self.terminal else "\n")

    def end(self, count: int, total: int | None = None) -> None:
        """The final line (on a terminal, the in-place line is completed)."""
        if self.shown_at is None and count == 0:
            return  # nothing was ever shown, nothing to finish
        self._show(self.text(count, total, time.monotonic()), "\n")
