"""`stream-events`: a session's events, bounded by --max-events and --timeout."""

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ..._proto.mxaccess_gateway import v1 as pb
from ..bounded import bounded
from ..context import Context
from ..flags import ConnectionFlags, SessionFlags
from ..output import UsageError, dumps
from ..parsing import str_list
from ..text import event_text
from . import command

DEFAULT_SECONDS = 30.0


@dataclass
class StreamEventsFlags(SessionFlags):
    max_events: Optional[int] = field(default=None, metadata={
        "help": "stop after this many (matching) events (default: when --timeout passes)"})
    after_sequence: int = field(default=0, metadata={
        "args": ["--after-sequence", "--after-worker-sequence"],
        "help": "resume after this worker sequence (0: the events queued for the session)"})
    family: Optional[list[str]] = field(default=None, metadata={
        "type": str_list, "help": "only these families, comma-separated "
                                  "(ON_DATA_CHANGE,ON_WRITE_COMPLETE,OPERATION_COMPLETE,...)"})
    item_handle: Optional[int] = field(default=None, metadata={
        "help": "only the events of this item handle"})
    jsonl: bool = field(default=False, metadata={
        "help": "print each event as one JSON line as it arrives"})


def event_family(text: str) -> pb.MxEventFamily:
    """A family from `ON_WRITE_COMPLETE`, `MX_EVENT_FAMILY_ON_WRITE_COMPLETE`,
    `on-write-complete` or `OnWriteComplete`."""
    snake = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", text.strip()).upper().replace("-", "_")
    snake = snake.removeprefix("MX_EVENT_FAMILY_")
    try:
        return pb.MxEventFamily[snake]
    except KeyError:
        known = ", ".join(f.name for f in pb.MxEventFamily if f.name != "UNSPECIFIED")
        raise UsageError(f"unknown event family {text!r}; expected one of {known}") from None


@command("stream-events", "Print a session's events (data changes, write completions, ...), "
         "each whole with its itemHandle and value. Stops after --max-events matching events "
         f"or when --timeout seconds (default {DEFAULT_SECONDS:g}) pass, whichever comes first; "
         "running out of time is not an error. --json prints one array at the end, --jsonl "
         "one event per line as it arrives.",
         "mxgw stream-events --session-id ID --max-events 1 --family ON_WRITE_COMPLETE --json",
         StreamEventsFlags, streams=True)
async def stream_events(ctx: Context, conn: ConnectionFlags, flags: StreamEventsFlags) -> Any:
    families = {event_family(f) for f in flags.family or []}
    if flags.max_events is not None and flags.max_events <= 0:
        raise UsageError("--max-events must be > 0")
    if flags.after_sequence < 0:
        raise UsageError("--after-sequence must be >= 0")
    seconds = conn.timeout if conn.timeout is not None else DEFAULT_SECONDS
    session = await ctx.session(conn, flags.session_id)
    collected: list[pb.MxEvent] = []
    count = 0

    async def pump() -> None:
        nonlocal count
        async with session.events(flags.after_sequence) as stream:
            async for event in stream:
                if families and event.family not in families:
                    continue
                if flags.item_handle is not None and event.item_handle != flags.item_handle:
                    continue
                if flags.jsonl:
                    ctx.write(dumps(event))
                elif conn.json:
                    collected.append(event)
                else:
                    ctx.write(event_text(event))
                count += 1
                if flags.max_events is not None and count >= flags.max_events:
                    return

    finished = await bounded(pump(), seconds)
    if conn.json and not flags.jsonl:
        ctx.write(dumps(collected))
    elif not finished and flags.max_events is not None and not flags.jsonl:
        ctx.note(f"(only {count} of {flags.max_events} event(s) within {seconds:g} s)")
    return None
