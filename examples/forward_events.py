"""Forward data changes to a CSV or JSON-lines file, resuming where it stopped.

    python examples/forward_events.py --output values.jsonl TestMachine_001.TestChangingInt
    python examples/forward_events.py --output values.csv Tank1.Level Tank2.Level

One record per data change: session, worker sequence, tag, value, quality, source
timestamp. Stop it (Ctrl-C, SIGTERM) and start it again: it carries on after the last
record in the file, with nothing repeated and, while the gateway still holds the events
it missed (its replay ring; the session lives 30 s after its stream detaches), nothing
lost.

How the resume works: the gateway keeps a session, its items and its recent events
while no stream is attached (the detach grace). So the forwarder leaves its session open
when it stops, keeps the session id and the item handles in a state file beside the
output (`values.jsonl.state.json`), and on start asks for the events after the last
worker sequence in the file: `session.events(after_worker_sequence=N)`. The output file
itself is the cursor, so a record is never written twice even if the forwarder is killed
between writing it and anything else. If the gateway no longer knows the session
(restarted, or the forwarder was away longer than the grace) a new session is opened:
its sequences start again at 1, which is why each record carries its session id.

The gateway comes from the environment: MXGATEWAY_ENDPOINT, MXGATEWAY_API_KEY, and
MXGATEWAY_CA_FILE or MXGATEWAY_PLAINTEXT=1 (see examples/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from mxgw import (
    EventStream,
    GatewayClient,
    MxGatewayError,
    NotFoundError,
    ReplayGapError,
    Session,
    SessionNotFoundError,
    from_mx_value,
    pb,
)

log = logging.getLogger("forward_events")

FIELDS = ["session_id", "sequence", "tag", "value", "quality", "source_timestamp"]
"""The columns of a CSV, and the keys of a JSON line."""

TAIL_BYTES = 64 * 1024
"""How much of the end of the output is read to find the last record (longer records
than this are not expected from one data change)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Forward data changes to a CSV or JSON-lines file, with resume.")
    parser.add_argument("tags", nargs="+", metavar="TAG",
                        help="tag addresses, e.g. TestMachine_001.TestChangingInt")
    parser.add_argument("--output", required=True, type=Path,
                        help="the file to append to: .csv for CSV, anything else JSON lines")
    parser.add_argument("--state", type=Path,
                        help="where the session id and item handles are kept "
                             "(default: OUTPUT.state.json)")
    parser.add_argument("--max-events", type=int, default=0,
                        help="stop after this many records (default 0: run until stopped)")
    parser.add_argument("--client-name", default="forward-events",
                        help="the session and registration name the gateway shows")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what mxgw does")
    args = parser.parse_args(argv)
    if args.state is None:
        args.state = args.output.with_name(args.output.name + ".state.json")
    return args


# ---------------------------------------------------------------------- the output file

def is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def repair_and_find_cursor(path: Path) -> tuple[str, int] | None:
    """The (session id, sequence) of the last record in the file, or None if it has none.

    A record cut short (the forwarder killed mid-write, a full disk) is cut off, so the
    file holds whole records only and the next one starts on a fresh line."""
    if not path.exists():
        return None
    with path.open("rb+") as raw:
        size = raw.seek(0, os.SEEK_END)
        raw.seek(max(0, size - TAIL_BYTES))
        tail = raw.read()
        if tail and not tail.endswith(b"\n"):
            keep = size - len(tail) + tail.rfind(b"\n") + 1
            log.warning("%s: cutting off an incomplete last record", path)
            raw.truncate(keep)
            tail = tail[: keep - (size - len(tail))]
    lines = tail.decode("utf-8", errors="replace").splitlines()
    if not lines:
        return None
    last = lines[-1]
    if is_csv(path):
        row = next(csv.reader([last]))
        if row == FIELDS:  # only the header so far
            return None
        record = dict(zip(FIELDS, row, strict=True))
    else:
        record = json.loads(last)
    return str(record["session_id"]), int(record["sequence"])


class RecordWriter:
    """Appends one record per data change and flushes it, so a killed forwarder loses
    at most the record it was writing (an `os.fsync` per record would also survive a
    power cut, at a cost in rate)."""

    def __init__(self, path: Path) -> None:
        new = not path.exists() or path.stat().st_size == 0
        self._file: TextIO = path.open("a", encoding="utf-8", newline="")
        self._csv = is_csv(path)
        if self._csv and new:
            self._write_csv(FIELDS)

    def _write_csv(self, row: list[Any]) -> None:
        line = io.StringIO()  # one write() per record: a kill never leaves half a row...
        csv.writer(line, lineterminator="\n").writerow(row)
        self._file.write(line.getvalue())
        self._file.flush()  # ...and this puts it in the OS before the next event is read

    def write(self, record: dict[str, Any]) -> None:
        if self._csv:
            self._write_csv([record[name] for name in FIELDS])
            return
        self._file.write(json.dumps(record, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def record_of(event: pb.MxEvent, tag: str) -> dict[str, Any]:
    change = event.on_data_change
    assert change is not None
    value = from_mx_value(change.value) if change.value is not None else None
    if isinstance(value, (dt.datetime, dt.timedelta, bytes)):
        value = str(value)  # JSON and CSV both take it as text
    stamp = change.source_timestamp
    return {"session_id": event.session_id, "sequence": event.worker_sequence, "tag": tag,
            "value": value, "quality": change.quality,
            "source_timestamp": stamp.isoformat() if stamp else ""}


# ---------------------------------------------------------------------- the session

def save_state(path: Path, session_id: str, items: dict[int, str]) -> None:
    """Write the state file whole or not at all (a new file renamed over the old)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"session_id": session_id,
                                     "items": {str(h): t for h, t in items.items()}}),
                         encoding="utf-8")
    os.replace(temporary, path)


def load_state(path: Path) -> tuple[str, dict[int, str]] | None:
    if not path.exists():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    return state["session_id"], {int(h): t for h, t in state["items"].items()}


async def new_session(client: GatewayClient, args: argparse.Namespace
                      ) -> tuple[Session, dict[int, str]]:
    """Open a session, subscribe to the tags, and remember it in the state file."""
    session = await client.open_session(args.client_name)
    server = await session.register(args.client_name)
    items: dict[int, str] = {}
    for result in await session.subscribe_bulk(server, args.tags):
        if result.was_successful:
            items[result.item_handle] = result.tag_address
        else:
            log.error("%s: not subscribed (%s)", result.tag_address, result.error_message)
    if not items:
        await session.close()
        raise SystemExit("none of the tags could be subscribed")
    save_state(args.state, session.id, items)
    log.info("session %s opened for %d tags", session.id, len(items))
    return session, items


def stop_on_signals(stream: EventStream) -> set[asyncio.Task[None]]:
    """SIGINT (Ctrl-C) and SIGTERM (systemd, docker stop, kill) end the loop cleanly.

    `aclose()` from another task ends the reader's `async for` at once."""
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()  # hold the task: the loop keeps weak refs

    def stop() -> None:
        log.info("stopping")
        closing.add(loop.create_task(stream.aclose()))

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    return closing


async def forward(args: argparse.Namespace) -> int:
    cursor = repair_and_find_cursor(args.output)
    state = load_state(args.state)
    writer = RecordWriter(args.output)
    written = 0
    try:
        async with GatewayClient.connect() as client:  # MXGATEWAY_ENDPOINT, _API_KEY, ...
            session: Session | None = None
            items: dict[int, str] = {}
            after = 0
            if state is not None and sorted(set(state[1].values())) == sorted(set(args.tags)):
                session, items = client.session(state[0]), state[1]
                if cursor is not None and cursor[0] == session.id:
                    after = cursor[1]
                log.info("resuming session %s after sequence %d", session.id, after)
            while True:
                if session is None:
                    session, items = await new_session(client, args)
                    after = 0
                events = session.events(after_worker_sequence=after)
                closing = stop_on_signals(events)
                try:
                    async with events:
                        async for event in events:
                            tag = items.get(event.item_handle)
                            if event.on_data_change is None or tag is None:
                                continue  # write completions, alarms...: not forwarded
                            writer.write(record_of(event, tag))
                            written += 1
                            if written == args.max_events:
                                break
                    # Left on purpose open: a restart within the gateway's detach grace
                    # resumes it. The gateway closes it after the grace otherwise.
                    log.info("stopped after %d records; session %s left for a resume",
                             written, session.id)
                    await asyncio.gather(*closing)
                    return 0
                except (NotFoundError, SessionNotFoundError) as gone:
                    log.warning("session %s is gone (%s): opening a new one", session.id, gone)
                    session = None
                except ReplayGapError as gap:
                    # Away too long: the gateway no longer holds the events after ours.
                    # Carry on with the oldest it has; those in between are lost.
                    log.warning("events lost: %s", gap)
                    after = gap.oldest_available - 1
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)
    try:
        return asyncio.run(forward(args))
    except MxGatewayError as exc:  # typed, with a readable message; the key never in it
        print(f"forward_events: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
