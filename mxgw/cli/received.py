"""What a streaming command received, printed the way its output flags ask, and kept so
that however the command ends (done, failed, SIGINT, SIGTERM) what arrived is printed
once and an incomplete result says so.

The modes:

- array (`--json`): the items are kept and printed as one JSON array when the command is
  done. If it fails or is interrupted, the error envelope carries them instead:
  `{"error": ..., "type": "error", "category": ..., "code": ..., "complete": false,
  "count": N, "received": [...]}`, one JSON document that cannot pass for a complete
  result.
- lines (`--jsonl`, and `--json` where the stream may never end): one JSON line per item
  as it arrives; a failure or interrupt adds the envelope (with `complete` and `count`)
  as the last line.
- text: one readable line (or block) per item as it arrives; a failure or interrupt is
  a note on stderr.
- summary (`bench-*`, whose result sums up what it received): the command prints its
  result as any other; a failure or interrupt puts the summary so far under `received`.

A command makes one with `receive(...)` (which registers it in the Context) once its
flags are checked, before it connects: a failure or interrupt from then on, while still
connecting included, is marked incomplete (`"count": 0`). `dispatch` (mxgw/cli/main.py)
finishes it or puts it in the envelope. Progress on stderr is counted here too, and
`take` reads a stream up to a command's limit and run time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from .bounded import bounded
from .context import Context
from .flags import ConnectionFlags
from .output import dumps
from .progress import Progress

ARRAY, LINES, TEXT, SUMMARY = "array", "lines", "text", "summary"


class Received:
    """The items a streaming command has received so far (see the module docstring)."""

    def __init__(self, ctx: Context, mode: str, noun: str, text: Callable[[Any], str],
                 progress: Progress | None,
                 summary: Callable[[], Any] | None = None) -> None:
        self.ctx = ctx
        self.mode = mode
        self.noun = noun
        self.text = text
        self.progress = progress
        self.count = 0
        self.total: int | None = None
        """How many there will be, when the gateway says (galaxy-discover's total)."""
        self.items: list[str] = []  # array mode: each item's JSON, printed at the end
        self.ended = False
        self.summary = summary

    def add(self, item: Any) -> None:
        """Print or keep one item."""
        if self.mode == ARRAY:
            self.items.append(dumps(item))
        elif self.mode == LINES:
            self.ctx.write(dumps(item))
        else:
            self.ctx.write(self.text(item))
        self.count += 1
        if self.progress is not None:
            self.progress.update(self.count, self.total)

    async def take(self, items: AsyncIterator[Any], limit: int | None,
                   seconds: float | None) -> bool:
        """Add `items` until `limit` of them (None: no limit) or until `seconds` have
        passed (None: until they end), then close them (an async generator, EventStream,
        DeployWatch: their `aclose`). False when the time ran out first, not an error."""

        async def pump() -> None:
            try:
                async for item in items:
                    self.add(item)
                    if limit is not None and self.count >= limit:
                        return
            finally:  # the limit reached leaves the stream open: close it now
                aclose = getattr(items, "aclose", None)
                if aclose is not None:
                    await aclose()

        return await bounded(pump(), seconds)

    def note_short_of(self, limit: int | None, seconds: float | None) -> None:
        """After `take` ran out of time: in text mode, say that fewer than `limit` came,
        `(only 3 of 5 event(s) within 10 s)` (the JSON modes say it with their count)."""
        if limit is not None and seconds is not None and self.mode == TEXT:
            self.ctx.note(f"(only {self.count} of {limit} {self.noun}(s) within "
                          f"{seconds:g} s)")

    def after(self) -> str:
        """` after 12 events`, ` after 1 object` (nothing for a summary)."""
        if self.mode == SUMMARY:
            return ""
        return f" after {self.count} {self.noun}{'' if self.count == 1 else 's'}"

    def end_progress(self) -> None:
        """Complete the progress line, if one is shown (once)."""
        if not self.ended and self.progress is not None:
            self.progress.end(self.count, self.total)
        self.ended = True

    def finish(self) -> None:
        """The command is done: the array (array mode), and the progress line completed."""
        if self.ended:
            return
        self.end_progress()
        if self.mode == ARRAY:  # in batch, flushed with the end-of-record marker
            self.ctx.write("[" + ",".join(self.items) + "]", flush=not self.ctx.in_batch)
            self.items = []

    def incomplete(self, envelope: dict[str, Any]) -> str:
        """The failure envelope as one JSON line, marked incomplete; in array mode the
        items received are in it (last, under `received`)."""
        self.end_progress()
        if self.mode == SUMMARY:
            assert self.summary is not None
            return dumps({**envelope, "complete": False, "received": self.summary()})
        text = dumps({**envelope, "complete": False, "count": self.count})
        if self.mode != ARRAY:
            return text
        # The items are JSON already: splice them in rather than parse them back.
        return text[:-1] + ',"received":[' + ",".join(self.items) + "]}"


def receive(ctx: Context, conn: ConnectionFlags, flags: Any, *, noun: str,
            text: Callable[[Any], str], json_lines: bool = False) -> Received:
    """The Received of the running command, registered in `ctx` for `dispatch`: made
    before connecting, so that an interrupt while connecting says `"count": 0` too.

    `flags` may have `jsonl`, `progress` and `no_progress` (ProgressFlags). `json_lines`:
    `--json` prints lines too (a stream that may never end). Progress shows when asked
    (`--progress`), never with `--no-progress`, and otherwise when stderr is a terminal
    on which the items are not already scrolling by (stdout is not a terminal, or the
    array is printed at the end), outside `batch`.
    """
    if getattr(flags, "jsonl", False) or (conn.json and json_lines):
        mode = LINES
    else:
        mode = ARRAY if conn.json else TEXT
    shown = getattr(flags, "progress", False)
    if not shown and not getattr(flags, "no_progress", False):
        shown = (not ctx.in_batch and _isatty(ctx.err)
                 and (mode == ARRAY or not _isatty(ctx.out)))
    progress = Progress(ctx.err, noun, terminal=_isatty(ctx.err)) if shown else None
    received = Received(ctx, mode, noun, text, progress)
    ctx.received = received
    return received


def receive_summary(ctx: Context, summary: Callable[[], Any]) -> Received:
    """Register `summary` (what the command measured so far) for the failure envelope."""
    received = Received(ctx, SUMMARY, "", str, None, summary)
    ctx.received = received
    return received


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no such method, or closed
        return False
