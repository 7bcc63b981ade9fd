"""`watch`: a live view of tags, redrawn in place in a terminal (one line per update when
stdout is not one), on a durable session that carries on through gateway restarts."""

import asyncio
import contextlib
import datetime as dt
import fnmatch
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from ...durable import DurableSession, EventsLost, SessionReplaced
from ...galaxy import GalaxyRepositoryClient, hierarchy_request
from ..bounded import bounded
from ..context import Context
from ..flags import ConnectionFlags
from ..output import UsageError, dumps
from ..parsing import str_list
from ..terminal import Screen, can_redraw, size, wants_colour
from ..text import when
from ..watch_view import View, json_record, plain_line, render
from . import command

FRAME_INTERVAL = 0.1
"""At least this long between two frames (at most 10 a second): a tag that changes a
thousand times a second costs one frame per interval, not one per change."""
TICK = 0.5
"""Redraw this often without events, so the age column keeps counting."""
CLIENT_NAME = "mxgw-watch"


@dataclass
class TagWatchFlags:
    tags: list[str] = field(default_factory=list, metadata={
        "args": ["tags"], "nargs": "*", "metavar": "TAG", "type": str,
        "help": "tag references to watch (Object.Attribute)"})
    galaxy_glob: Optional[str] = field(default=None, metadata={
        "metavar": "GLOB",
        "help": "also watch the Galaxy's Object.Attribute references that match this "
                "case-insensitive glob, e.g. 'Pump_000*.Speed' (no dot: every attribute of "
                "the matching objects)"})
    template: Optional[list[str]] = field(default=None, metadata={
        "args": ["--template", "--template-chain-contains"], "type": str_list,
        "metavar": "TEMPLATES",
        "help": "also watch the attributes of objects derived from one of these templates, "
                "comma-separated ($Pump); with --galaxy-glob, both must match"})
    max_tags: int = field(default=100, metadata={
        "help": "watch at most this many of the tags the Galaxy matches"})
    max_updates: Optional[int] = field(default=None, metadata={
        "help": "stop after this many updates (default: run until Ctrl-C)"})
    duration_seconds: Optional[float] = field(default=None, metadata={
        "args": ["--duration-seconds", "--duration"],
        "help": "stop after this many seconds (default: run until Ctrl-C; --timeout is "
                "each call's deadline, as everywhere)"})
    jsonl: bool = field(default=False, metadata={
        "help": "one JSON object per update (what --json prints here too: the view may "
                "never end)"})


def _check(flags: TagWatchFlags) -> None:
    """Bad input is refused before anything is sent."""
    if not flags.tags and flags.galaxy_glob is None and not flags.template:
        raise UsageError("give the tags to watch, or --galaxy-glob / --template to pick "
                         "them from the Galaxy")
    for tag in flags.tags:
        if not tag.strip():
            raise UsageError("a tag reference is empty")
    if flags.galaxy_glob is not None and not flags.galaxy_glob.strip():
        raise UsageError("--galaxy-glob is empty")
    if flags.max_tags <= 0:
        raise UsageError("--max-tags must be > 0")
    if flags.max_updates is not None and flags.max_updates <= 0:
        raise UsageError("--max-updates must be > 0")
    if flags.duration_seconds is not None and flags.duration_seconds <= 0:
        raise UsageError("--duration-seconds must be > 0")


async def galaxy_tags(galaxy: GalaxyRepositoryClient, glob: Optional[str],
                      templates: list[str], limit: int) -> tuple[list[str], bool]:
    """The Galaxy's tag references that match (at most `limit`), and whether more did.

    The glob's object part (before the first dot) is the gateway's tag-name filter; its
    attribute part is matched here, as the gateway matches tag names: ignoring case."""
    object_glob, _, attribute_glob = (glob or "").strip().partition(".")
    request = hierarchy_request(tag_name_glob=object_glob or None,
                                template_chain_contains=templates, include_attributes=True)
    found: list[str] = []
    objects = galaxy.iter_hierarchy(request)
    try:
        async for obj in objects:
            for attribute in obj.attributes:
                if attribute_glob and not fnmatch.fnmatchcase(
                        attribute.attribute_name.lower(), attribute_glob.lower()):
                    continue
                if len(found) == limit:
                    return found, True
                found.append(attribute.full_tag_reference)
    finally:
        await objects.aclose()
    return found, False


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tag.strip() for tag in tags))


class Watch:
    """One run: the view, what prints it, and the durable session it follows."""

    def __init__(self, ctx: Context, durable: DurableSession, view: View, live: bool,
                 as_json: bool, max_updates: Optional[int]) -> None:
        self.ctx = ctx
        self.durable = durable
        self.view = view
        self.as_json = as_json
        self.max_updates = max_updates
        self.screen = Screen(ctx.out) if live else None
        self.colour = live and wants_colour(ctx.out)
        self.dirty = asyncio.Event()
        self.state = ""

    def refresh_status(self) -> None:
        """Take the durable session's health into the view; in lines mode, say on stderr
        when the state changes (stdout keeps one line per update)."""
        health = self.durable.health()
        status = self.view.status
        status.state, status.session_id = health.state.value, health.session_id
        status.reconnects, status.replacements = health.reconnects, health.replacements
        status.failures, status.last_error = health.failures, health.last_error
        if self.screen is None and self.state and status.state != self.state:
            error = f" ({status.last_error})" if status.state != "connected" and \
                status.last_error else ""
            self.ctx.note(f"mxgw watch: {status.state}{error}")
        self.state = status.state

    def draw(self) -> None:
        self.refresh_status()
        if self.screen is not None:
            columns, lines = size()
            frame = render(self.view, time.monotonic(), dt.datetime.now(dt.timezone.utc),
                           columns, lines, self.colour)
            self.screen.draw([self.ctx.redact(line) for line in frame], lines)

    async def redraw(self) -> None:
        """Frames as updates come, at most one per FRAME_INTERVAL; one per TICK without."""
        loop = asyncio.get_running_loop()
        while True:
            # A timer, not wait_for: on 3.11 wait_for can swallow the cancel that ends
            # this task when the event is set at the same moment.
            tick = loop.call_later(TICK, self.dirty.set)
            try:
                await self.dirty.wait()
            finally:
                tick.cancel()
            self.dirty.clear()
            self.draw()
            await asyncio.sleep(FRAME_INTERVAL)

    def note(self, text: str) -> None:
        self.view.status.note = text
        if self.screen is None:
            self.ctx.note(f"mxgw watch: {text}")

    async def follow(self) -> None:
        """Apply the events until --max-updates (or forever)."""
        async with self.durable.events() as events:
            async for event in events:
                now = dt.datetime.now(dt.timezone.utc)
                if isinstance(event, SessionReplaced):
                    self.note(f"session replaced at {when(now)[11:19]}Z (events after "
                              f"#{event.last_sequence} lost)")
                    for handle in event.unrestored_items:
                        row = self.view.by_handle.get(handle)
                        if row is not None:
                            row.problem = "refused by the new session"
                elif isinstance(event, EventsLost):
                    self.note(f"events lost after #{event.after_sequence} at "
                              f"{when(now)[11:19]}Z")
                elif event.on_data_change is not None:
                    change = event.on_data_change
                    row = self.view.update(event.item_handle, change, time.monotonic())
                    if row is None:
                        continue
                    if self.as_json:
                        self.ctx.write(dumps(json_record(row, change, now)))
                    elif self.screen is None:
                        self.ctx.write(plain_line(row, now))
                    if self.max_updates is not None and self.view.updates >= self.max_updates:
                        return
                self.dirty.set()

    async def run(self, seconds: Optional[float]) -> None:
        loop = asyncio.get_running_loop()
        resize = getattr(signal, "SIGWINCH", None)
        if self.screen is not None:
            self.screen.start()
            if resize is not None:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(resize, self.dirty.set)
        self.refresh_status()
        ticker = asyncio.ensure_future(self.redraw())
        try:
            await bounded(self.follow(), seconds)
            self.draw()  # the last state, left on the screen
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            if self.screen is not None:
                self.screen.close()  # first: a slow session close leaves a usable terminal
                if resize is not None:
                    with contextlib.suppress(NotImplementedError, RuntimeError):
                        loop.remove_signal_handler(resize)


@command("watch", "Show tags live: one row per tag with its value, quality (good, uncertain, "
         "bad; coloured unless NO_COLOR is set), source time, age of the last update and "
         "update count, redrawn in place as updates arrive, and the connection's state. "
         "When stdout is not a terminal (or TERM=dumb), one tab-separated line per update: "
         "received time, tag, value, quality, quality kind, source time, update count; "
         "--jsonl (or --json) one JSON object per update. Tags come from the command line "
         "and/or the Galaxy (--galaxy-glob, --template). Runs on a durable session, so it "
         "carries on through lost connections and gateway restarts, until --max-updates, "
         "--duration-seconds or Ctrl-C (the session is closed either way).",
         "mxgw watch --sim TestMachine_001.TestChangingInt TestMachine_001.TestInt",
         TagWatchFlags, streams=True)
async def watch(ctx: Context, conn: ConnectionFlags, flags: TagWatchFlags) -> Any:
    _check(flags)
    client = await ctx.client(conn)
    tags = list(flags.tags)
    if flags.galaxy_glob is not None or flags.template:
        found, more = await galaxy_tags(client.galaxy(), flags.galaxy_glob,
                                        flags.template or [], flags.max_tags)
        if not found and not tags:
            raise UsageError("no tag in the Galaxy matches --galaxy-glob / --template")
        if more:
            ctx.note(f"mxgw watch: the first {len(found)} tags the Galaxy matches "
                     "(--max-tags for more)")
        tags += found
    tags = _unique(tags)
    as_json = conn.json or flags.jsonl
    live = not as_json and not ctx.in_batch and can_redraw(ctx.out)
    view = View.of(tags, f"mxgw watch  {client.options.endpoint}")
    async with await client.durable_session(CLIENT_NAME) as durable:
        server = await durable.register(CLIENT_NAME)
        for row, result in zip(view.rows, await durable.subscribe_bulk(server, tags),
                               strict=True):
            if result.was_successful:
                view.by_handle[result.item_handle] = row
            else:
                row.problem = f"not subscribed: {result.error_message or 'refused'}"
                if not live:
                    ctx.note(f"mxgw watch: {row.tag}: {row.problem}")
        await Watch(ctx, durable, view, live, as_json, flags.max_updates).run(
            flags.duration_seconds)
    return None
