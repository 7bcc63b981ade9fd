"""A full-screen view in a terminal with ANSI escapes only (no curses: it is not on every
platform Python runs on, and a view redrawn in place needs four escapes)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from typing import TextIO

HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"
CLEAR_SCREEN, CLEAR_LINE, CLEAR_BELOW = "\x1b[2J", "\x1b[2K", "\x1b[J"


def can_redraw(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """Whether `stream` is a terminal that moves its cursor: a TTY whose TERM is not
    `dumb` (a dumb terminal, such as an editor's shell buffer, prints escapes as text)."""
    env = os.environ if env is None else env
    try:
        tty = stream.isatty()
    except ValueError:  # closed
        return False
    return tty and env.get("TERM", "") != "dumb"


def wants_colour(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """Colour on a terminal that redraws, unless NO_COLOR is set to anything but empty
    (https://no-color.org)."""
    env = os.environ if env is None else env
    return can_redraw(stream, env) and not env.get("NO_COLOR")


def size() -> tuple[int, int]:
    """The terminal's columns and lines (80 x 24 when it cannot tell)."""
    columns, lines = shutil.get_terminal_size((80, 24))
    return max(1, columns), max(1, lines)


class Screen:
    """Redraws a frame of lines in place from the top-left corner; `close()` puts the
    cursor back, shown, on the line below the last frame (so the shell's prompt does not
    overwrite it)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lines = 0
        self.open = False

    def start(self) -> None:
        self.out.write(HIDE_CURSOR + CLEAR_SCREEN)
        self.out.flush()
        self.open = True

    def draw(self, lines: Sequence[str], height: int) -> None:
        """One frame of at most `height` lines: each line cleared, then written, at its
        row (no line wraps: the caller fits them to the width); what the last frame left
        below is cleared."""
        lines = lines[:height]
        parts = [f"\x1b[{row};1H{CLEAR_LINE}{line}" for row, line in enumerate(lines, 1)]
        if len(lines) < height:
            parts.append(f"\x1b[{len(lines) + 1};1H{CLEAR_BELOW}")
        self.out.write("".join(parts))
        self.out.flush()
        self.lines = len(lines)

    def close(self) -> None:
        """Restore the terminal (idempotent)."""
        if not self.open:
            return
        self.open = False
        # From the last line of the frame a newline reaches the next (scrolling if the
        # frame filled the screen), cleared of the ^C the terminal echoed there.
        self.out.write(f"\x1b[{max(1, self.lines)};1H\r\n{CLEAR_LINE}{SHOW_CURSOR}")
        self.out.flush()
