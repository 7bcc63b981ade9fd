"""`stream-events`: a session's events, bounded by --max-events and --timeout."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Optional

from ..._proto.mxaccess_gateway import v1 as pb
from ..context import Context
from ..flags import ConnectionFlags, DurationFlags, ProgressFlags, SessionFlags
from ..output import UsageError
from ..parsing import str_list
from ..received import receive
from ..text import event_text
from . import command

DEFAULT_SECONDS = 30.0


@dataclass
class StreamEventsFlags(DurationFlags, ProgressFlags, SessionFlags):
    max_events: Optional[int] = field(default=None, metadata={
        "help": "stop after this many (matching) events (default: when the run time "
                "passes)"})
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
         f"or after --duration-seconds (default {DEFAULT_SECONDS:g}; --timeout, as upstream "
         "spells it, when not given), whichever comes first; running out of time is not an "
         "error. --json prints one array at the end, --jsonl one event per line as it "
         "arrives; on Ctrl-C or SIGTERM what arrived is printed, marked incomplete (exit 130 "
         "or 143).",
         "mxgw stream-events --session-id ID --max-events 1 --family ON_WRITE_COMPLETE --json",
         StreamEventsFlags, streams=True)
async def stream_events(ctx: Context, conn: ConnectionFlags, flags: StreamEventsFlags) -> Any:
    families = {event_family(f) for f in flags.family or []}
    if flags.max_events is not None and flags.max_events <= 0:
        raise UsageError("--max-events must be > 0")
    if flags.after_sequence < 0:
        raise UsageError("--after-sequence must be >= 0")
    seconds = flags.run_seconds(conn, DEFAULT_SECONDS)
    received = receive(ctx, conn, flags, noun="event", text=event_text)
    session = await ctx.session(conn, flags.session_id)

    async def matching() -> AsyncIterator[pb.MxEvent]:
        async with session.events(flags.after_sequence) as stream:
            async for event in stream:
                if families and event.family not in families:
                    continue
                if flags.item_handle is not None and event.item_handle != flags.item_handle:
                    continue
                yield event

    if not await received.take(matching(), flags.max_events, seconds):
        received.note_short_of(flags.max_events, seconds)
    return None
