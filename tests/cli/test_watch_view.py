"""`mxgw watch`'s screen and lines as functions of a snapshot of its state: what a person
sees for given values, qualities, ages, terminal sizes and colour settings."""

from __future__ import annotations

import datetime as dt
import io
import os
import pty
import re

import pytest

from mxgw import pb, to_mx_value
from mxgw.cli.terminal import SHOW_CURSOR, Screen, can_redraw, wants_colour
from mxgw.cli.watch_view import (
    PLAIN_FIELDS,
    View,
    age_text,
    json_record,
    plain_line,
    render,
)

WALL = dt.datetime(2026, 12, 1, 23, 41, 5, 123000, tzinfo=dt.timezone.utc)
NOW = 1000.0
SGR = re.compile(r"\x1b\[[0-9;]*m")
BAD = pb.MxStatusProxy(category=pb.MxStatusCategory.CONFIGURATION_ERROR,
                       detected_by=pb.MxStatusSource.RESPONDING_LMX, detail=3,
                       diagnostic_text="no such\tattribute")


def change(value: object, quality: int = 192, stamp: dt.datetime = WALL,
           statuses: list[pb.MxStatusProxy] | None = None) -> pb.OnDataChangeEvent:
    return pb.OnDataChangeEvent(value=to_mx_value(value), quality=quality,
                                source_timestamp=stamp, statuses=statuses or [])


def state() -> View:
    """Four tags: good (3 updates), uncertain, bad with a failing status, none yet."""
    view = View.of(["Tank1.Level", "Tank1.Mode", "Nope.Missing", "Tank2.Level"],
                   "mxgw watch  gw:5001")
    for handle, row in enumerate(view.rows[:3], 1):
        view.by_handle[handle] = row
    view.update(1, change(1.5), NOW - 70)
    view.update(1, change(2.5), NOW - 10)
    view.update(1, change(42.25), NOW - 3)
    view.update(2, change("auto", quality=0x44), NOW - 0.4)
    view.update(3, change(None, quality=0, statuses=[BAD]), NOW - 65)
    view.status.state, view.status.session_id = "connected", "session-abc"
    return view


def row_of(lines: list[str], tag: str) -> list[str]:
    (line,) = [line for line in lines if line.startswith(tag + " ")]
    return re.split(r" {2,}", line)


def test_one_row_per_tag_with_value_quality_time_age_and_count() -> None:
    lines = render(state(), NOW, WALL, 110, 24, colour=False)
    assert lines[0].startswith("mxgw watch  gw:5001  23:41:05Z")
    assert lines[1].split() == ["TAG", "VALUE", "QUALITY", "SOURCE", "TIME", "AGE", "UPDATES"]
    assert len(lines) == 2 + 4 + 1
    assert row_of(lines, "Tank1.Level") == ["Tank1.Level", "42.25", "good 192",
                                            "23:41:05.123Z", "3s", "3"]
    assert row_of(lines, "Tank1.Mode") == ["Tank1.Mode", '"auto"', "uncertain 68",
                                           "23:41:05.123Z", "0s", "1"]
    missing = row_of(lines, "Nope.Missing")
    assert missing[1] == "null" and missing[2].startswith("(CONFIGURATION_ERROR")
    assert missing[-3:] == ["23:41:05.123Z", "1m05s", "1"]
    assert row_of(lines, "Tank2.Level") == ["Tank2.Level", "-", "-", "-", "-", "0"]
    assert lines[-1].split("  ") == ["connected", "session session-abc", "4 tag(s)",
                                     "5 update(s)", "reconnects 0", "replacements 0"]
    assert all(len(line) <= 110 for line in lines)


def test_the_age_ticks_with_the_clock_alone() -> None:
    view = state()
    later = render(view, NOW + 3600, WALL, 110, 24, colour=False)
    assert row_of(later, "Tank1.Level")[4] == "1h00m"
    assert row_of(later, "Tank1.Level")[5] == "3"  # no update: the count stays


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (-0.2, "0s"), (0.9, "0s"), (59.9, "59s"), (60, "1m00s"), (3599, "59m59s"),
    (3600, "1h00m"), (86399, "23h59m"), (86400 * 3 + 3600 * 5, "3d05h")])
def test_age_text(seconds: float | None, text: str) -> None:
    assert age_text(seconds) == text


def test_colour_marks_qualities_and_changes_nothing_else() -> None:
    plain = render(state(), NOW, WALL, 110, 24, colour=False)
    coloured = render(state(), NOW, WALL, 110, 24, colour=True)
    assert [SGR.sub("", line).rstrip() for line in coloured] == plain
    assert "\x1b[32mgood 192" in row_line(coloured, "Tank1.Level")
    assert "\x1b[33muncertain 68" in row_line(coloured, "Tank1.Mode")
    assert "\x1b[31mbad 0" in row_line(coloured, "Nope.Missing")
    assert coloured[-1].startswith("\x1b[32mconnected")
    assert "\x1b" not in "".join(plain)


def row_line(lines: list[str], tag: str) -> str:
    (line,) = [line for line in lines if SGR.sub("", line).startswith(tag + " ")]
    return line


def test_a_narrow_terminal_cuts_values_and_lines_to_its_width() -> None:
    view = state()
    view.update(1, change("x" * 200), NOW)
    for width in (30, 60, 80):
        lines = render(view, NOW, WALL, width, 24, colour=False)
        assert all(len(line) <= width for line in lines), width
        assert len(lines) == 7
    wide = render(view, NOW, WALL, 80, 24, colour=False)
    assert row_of(wide, "Tank1.Level")[1].endswith("x…")
    assert row_of(wide, "Tank1.Level")[2] == "good 192"


def test_a_short_terminal_shows_the_rows_that_fit_and_says_how_many_more() -> None:
    lines = render(state(), NOW, WALL, 110, 6, colour=False)
    assert len(lines) == 6
    assert [line.split()[0] for line in lines[2:4]] == ["Tank1.Level", "Tank1.Mode"]
    assert lines[4].startswith("… 2 more tag(s)")
    assert lines[5].startswith("connected")
    assert render(state(), NOW, WALL, 110, 2, colour=False) == [lines[5]]


def test_a_source_time_of_another_day_shows_its_date() -> None:
    view = state()
    view.update(1, change(1, stamp=WALL - dt.timedelta(days=1)), NOW)
    lines = render(view, NOW, WALL, 120, 24, colour=False)
    assert row_of(lines, "Tank1.Level")[3] == "2026-11-30T23:41:05.123Z"


def test_a_lost_connection_shows_its_state_and_last_error_below() -> None:
    view = state()
    view.status.state, view.status.reconnects = "reconnecting", 2
    view.status.last_error = "ConnectionLostError: the connection was lost"
    view.status.note = "session replaced at 23:40:00Z (events after #7 lost)"
    lines = render(view, NOW, WALL, 120, 24, colour=False)
    assert len(lines) == 2 + 4 + 2
    assert lines[-2].startswith("reconnecting  session session-abc  ")
    assert "reconnects 2" in lines[-2]
    assert lines[-1] == ("session replaced at 23:40:00Z (events after #7 lost)  "
                         "last error: ConnectionLostError: the connection was lost")
    view.status.failures = 3
    assert render(view, NOW, WALL, 160, 24, colour=False)[-1].endswith(
        "last error (3 failed attempt(s)): ConnectionLostError: the connection was lost")
    view.status.state = "connected"  # the error is history once connected again
    lines = render(view, NOW, WALL, 120, 24, colour=False)
    assert lines[-1] == "session replaced at 23:40:00Z (events after #7 lost)"
    view.status.note = ""
    assert render(view, NOW, WALL, 120, 24, colour=False)[-1].startswith("connected")
    # With no room for rows, the state still shows.
    assert render(view, NOW, WALL, 120, 2, colour=False)[0].startswith("connected")


def test_an_update_of_an_item_not_watched_changes_nothing() -> None:
    view = state()
    assert view.update(99, change(1), NOW) is None
    assert view.updates == 5


def test_a_plain_line_is_tab_separated_fields_with_nothing_inside_a_field_split() -> None:
    view = state()
    row = view.update(2, change("a\tb\nc"), NOW)
    assert row is not None
    fields = plain_line(row, WALL).split("\t")
    assert dict(zip(PLAIN_FIELDS, fields, strict=True)) == {
        "received": "2026-12-01T23:41:05.123Z", "tag": "Tank1.Mode",
        "value": '"a\\tb\\nc"', "quality": "192", "quality_kind": "good",
        "source_time": "2026-12-01T23:41:05.123Z", "updates": "2", "problem": "-"}
    bad = plain_line(view.rows[2], WALL)
    assert "\n" not in bad and len(bad.split("\t")) == len(PLAIN_FIELDS)
    assert bad.split("\t")[-1].startswith("CONFIGURATION_ERROR")


def test_a_json_record_holds_the_typed_value() -> None:
    view = state()
    update = change([1, 2, 3])
    row = view.update(1, update, NOW)
    assert row is not None
    assert json_record(row, update, WALL) == {
        "receivedAt": WALL, "tag": "Tank1.Level", "value": [1, 2, 3], "quality": 192,
        "qualityKind": "good", "sourceTimestamp": WALL, "updates": 4}


def test_redraw_and_colour_follow_the_terminal_and_the_environment() -> None:
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as tty:
            assert can_redraw(tty, {"TERM": "xterm"})
            assert wants_colour(tty, {"TERM": "xterm"})
            assert wants_colour(tty, {"TERM": "xterm", "NO_COLOR": ""})
            assert not wants_colour(tty, {"TERM": "xterm", "NO_COLOR": "1"})
            assert can_redraw(tty, {"TERM": "xterm", "NO_COLOR": "1"})
            assert not can_redraw(tty, {"TERM": "dumb"})
            assert not wants_colour(tty, {"TERM": "dumb"})
    finally:
        os.close(master)
        os.close(slave)
    assert not can_redraw(io.StringIO(), {"TERM": "xterm"})


def test_the_screen_redraws_in_place_and_gives_the_cursor_back() -> None:
    out = io.StringIO()
    screen = Screen(out)
    screen.start()
    screen.draw(["one", "two", "three"], 10)
    screen.draw(["uno"], 10)
    screen.close()
    screen.close()
    text = out.getvalue()
    assert text.startswith("\x1b[?25l\x1b[2J")  # cursor hidden, screen cleared
    last = text[text.index("three") + len("three"):]
    assert last == ("\x1b[4;1H\x1b[J\x1b[1;1H\x1b[2Kuno\x1b[2;1H\x1b[J"
                    f"\x1b[1;1H\r\n\x1b[2K{SHOW_CURSOR}")
    full = io.StringIO()
    screen = Screen(full)
    screen.start()
    screen.draw(["a", "b", "c"], 2)  # cut to the screen: nothing written below it
    assert "c" not in full.getvalue() and "\x1b[J" not in full.getvalue()
