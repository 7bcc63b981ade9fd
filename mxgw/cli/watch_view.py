"""What `mxgw watch` shows, as pure functions of its state: the screen (one row per tag,
a status line), and the line per update printed when stdout is not a terminal.

No I/O and no clock here: the caller passes the time, the terminal size and whether to
colour, so a frame is a function of a snapshot (and is tested as one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .._proto.mxaccess_gateway import v1 as pb
from ..failures import is_error_status
from ..values import from_mx_value
from .text import quality_kind, statuses_text, value_text, when

SGR = {"good": "32", "uncertain": "33", "bad": "31", "problem": "31", "head": "1",
       "connected": "32", "connecting": "33", "reconnecting": "33", "replacing": "33",
       "closed": "31"}
"""ANSI colours (Select Graphic Rendition codes) by what a cell shows."""

QUALITY_WIDTH, AGE_WIDTH, UPDATES_WIDTH, TIME_WIDTH = 13, 7, 7, 13
MIN_TAG_WIDTH, MIN_VALUE_WIDTH = 12, 8
GAP = "  "


@dataclass
class Row:
    """One watched tag: its last value as shown, and how often and when it came."""

    tag: str
    value: str = "-"
    """The last value, readably (`42`, `"text"`); `-` before the first."""
    quality: int | None = None
    source_time: dt.datetime | None = None
    received: float | None = None
    """When the last update arrived, on the caller's clock (seconds)."""
    updates: int = 0
    problem: str = ""
    """Why the tag has no good value: a refused subscription, failing statuses."""


@dataclass
class Status:
    """The connection, for the status line."""

    state: str = "connecting"
    """connecting, connected, reconnecting, replacing or closed (a durable session's)."""
    session_id: str = ""
    reconnects: int = 0
    replacements: int = 0
    failures: int = 0
    """Failed attempts in a row (0 while connected)."""
    last_error: str | None = None
    note: str = ""
    """The last thing worth saying (a replaced session, lost events)."""


@dataclass
class View:
    """Every watched tag, in the order given, and the connection's status."""

    rows: list[Row]
    title: str = "mxgw watch"
    status: Status = field(default_factory=Status)
    by_handle: dict[int, Row] = field(default_factory=dict)
    updates: int = 0

    @classmethod
    def of(cls, tags: list[str], title: str = "mxgw watch") -> View:
        return cls([Row(tag) for tag in tags], title)

    def update(self, handle: int, change: pb.OnDataChangeEvent, received: float) -> Row | None:
        """Apply a data change of the item `handle`; the row it changed (None: not ours)."""
        row = self.by_handle.get(handle)
        if row is None:
            return None
        row.value = value_text(change.value)
        row.quality = change.quality
        row.source_time = change.source_timestamp
        row.received = received
        row.updates += 1
        failing = [s for s in change.statuses if is_error_status(s)]
        row.problem = statuses_text(failing) if failing else ""
        self.updates += 1
        return row


def age_text(seconds: float | None) -> str:
    """`-`, `0s`, `59s`, `2m05s`, `3h07m`, `4d05h`: compact, growing with the age."""
    if seconds is None:
        return "-"
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def time_text(stamp: dt.datetime | None, today: dt.date) -> str:
    """A source timestamp in UTC: the time alone when it is of `today` (UTC)."""
    if stamp is None:
        return "-"
    utc = stamp.astimezone(dt.timezone.utc)
    text = when(utc)
    return text[11:] if utc.date() == today else text


def quality_cell(quality: int | None) -> str:
    return "-" if quality is None else f"{quality_kind(quality)} {quality}"


def fit(text: str, width: int) -> str:
    """`text` padded or cut (with an ellipsis) to exactly `width` columns."""
    if width <= 0:
        return ""
    if len(text) > width:
        return text[:width - 1] + "…"
    return text.ljust(width)


class _Line:
    """A line built from cells, cut at the terminal's width, coloured or not."""

    def __init__(self, width: int, colour: bool) -> None:
        self.left = width
        self.colour = colour
        self.parts: list[str] = []

    def add(self, text: str, style: str | None = None) -> _Line:
        """Append `text` (as much as fits), coloured as SGR says for `style`."""
        piece = text[:self.left]
        self.left -= len(piece)
        sgr = SGR.get(style or "")
        if piece:
            self.parts.append(f"\x1b[{sgr}m{piece}\x1b[0m" if self.colour and sgr else piece)
        return self

    def text(self) -> str:
        return "".join(self.parts).rstrip()


def _widths(view: View, width: int, today: dt.date) -> tuple[int, int, int]:
    """The tag, value and source-time columns' widths for a terminal `width` wide."""
    times = max([TIME_WIDTH] + [len(time_text(r.source_time, today)) for r in view.rows])
    fixed = QUALITY_WIDTH + times + AGE_WIDTH + UPDATES_WIDTH + 5 * len(GAP)
    tag = max([len("TAG")] + [len(r.tag) for r in view.rows])
    tag = min(tag, max(MIN_TAG_WIDTH, width - fixed - MIN_VALUE_WIDTH))
    value = max(MIN_VALUE_WIDTH, width - fixed - tag)
    return tag, value, times


def render(view: View, now: float, wall: dt.datetime, width: int, height: int,
           colour: bool) -> list[str]:
    """The screen: a title, the column heads, one row per tag (as many as fit in `height`
    lines), and the status lines; each line at most `width` columns (not counting colour
    codes). `now` is the clock of `Row.received`; `wall` the time of day (UTC)."""
    status = status_lines(view, width, colour)
    if height < 2 + len(status) + 1:  # no room for rows: the connection at least
        return status[:max(1, height)]
    today = wall.astimezone(dt.timezone.utc).date()
    tag_w, value_w, time_w = _widths(view, width, today)
    lines = [_Line(width, colour).add(f"{view.title}  {when(wall)[11:19]}Z  "
                                      "(Ctrl-C quits)", "head").text()]
    head = (fit("TAG", tag_w) + GAP + fit("VALUE", value_w) + GAP + fit("QUALITY", QUALITY_WIDTH)
            + GAP + fit("SOURCE TIME", time_w) + GAP + "AGE".rjust(AGE_WIDTH) + GAP
            + "UPDATES".rjust(UPDATES_WIDTH))
    lines.append(_Line(width, colour).add(head, "head").text())
    room = height - len(lines) - len(status)
    shown = view.rows if len(view.rows) <= room else view.rows[:room - 1]
    for row in shown:
        age = None if row.received is None else now - row.received
        kind = None if row.quality is None else quality_kind(row.quality)
        value = f"{row.value}  ({row.problem})" if row.problem else row.value
        line = _Line(width, colour).add(fit(row.tag, tag_w) + GAP)
        line.add(fit(value, value_w), "problem" if row.problem else None).add(GAP)
        line.add(fit(quality_cell(row.quality), QUALITY_WIDTH), kind).add(GAP)
        line.add(fit(time_text(row.source_time, today), time_w) + GAP
                 + age_text(age).rjust(AGE_WIDTH) + GAP + str(row.updates).rjust(UPDATES_WIDTH))
        lines.append(line.text())
    if len(shown) < len(view.rows):
        more = f"… {len(view.rows) - len(shown)} more tag(s): a taller terminal shows them"
        lines.append(_Line(width, colour).add(more).text())
    return lines + status


def status_lines(view: View, width: int, colour: bool) -> list[str]:
    """`connected  session ID  3 tag(s)  17 update(s)  reconnects 0  replacements 0`, and
    below it, when there is one, the last note and (while not connected) the last error."""
    status = view.status
    line = _Line(width, colour).add(status.state, status.state)
    parts = [f"session {status.session_id}" if status.session_id else "",
             f"{len(view.rows)} tag(s)", f"{view.updates} update(s)",
             f"reconnects {status.reconnects}", f"replacements {status.replacements}"]
    line.add("".join(f"{GAP}{p}" for p in parts if p))
    lines = [line.text()]
    error = status.last_error if status.state != "connected" else None
    if status.note or error:
        below = _Line(width, colour).add(status.note)
        if error:
            tries = f" ({status.failures} failed attempt(s))" if status.failures else ""
            below.add(GAP if status.note else "").add(f"last error{tries}: {error}", "problem")
        lines.append(below.text())
    return lines


PLAIN_FIELDS = ("received", "tag", "value", "quality", "quality_kind", "source_time",
                "updates", "problem")
"""The tab-separated fields of a plain line, in order."""


def plain_line(row: Row, received: dt.datetime) -> str:
    """One update as a tab-separated line (see PLAIN_FIELDS): what `mxgw watch` prints
    per update when stdout is not a terminal; `-` for a field with nothing to say. Values
    are as `value_text` writes them (a string JSON-quoted), so no field holds a tab or a
    newline (a problem's whitespace is folded to spaces)."""
    quality = "-" if row.quality is None else str(row.quality)
    kind = "-" if row.quality is None else quality_kind(row.quality)
    return "\t".join((when(received), row.tag, row.value, quality, kind,
                      when(row.source_time), str(row.updates),
                      " ".join(row.problem.split()) or "-"))


def json_record(row: Row, change: pb.OnDataChangeEvent, received: dt.datetime) -> dict[str, Any]:
    """One update as a JSON-ready object (`--json`/`--jsonl`)."""
    record: dict[str, Any] = {
        "receivedAt": received, "tag": row.tag, "value": from_mx_value(change.value),
        "quality": change.quality, "qualityKind": quality_kind(change.quality),
        "sourceTimestamp": change.source_timestamp, "updates": row.updates}
    if row.problem:
        record["problem"] = row.problem
    return record
