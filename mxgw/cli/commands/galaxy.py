"""The Galaxy Repository: `galaxy-test-connection`, `galaxy-last-deploy`, `galaxy-discover`,
`galaxy-browse`, `galaxy-watch` (scope `metadata:read`)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Optional

from ..._proto.galaxy_repository import v1 as gr
from ...galaxy import hierarchy_request
from ..context import Context
from ..flags import ConnectionFlags, DurationFlags, ProgressFlags
from ..output import UsageError
from ..parsing import int_list, parse_timestamp, str_list
from ..received import TEXT, receive
from ..text import deploy_event_text, galaxy_object_text, when
from . import command


@dataclass
class NoFlags:
    pass


def _test_text(reply: gr.TestConnectionReply) -> str:
    return ("ok: the gateway reaches the Galaxy Repository database" if reply.ok else
            "FAILED: the gateway cannot reach the Galaxy Repository database")


@command("galaxy-test-connection", "Ask whether the gateway reaches the Galaxy Repository "
         "database; prints {\"ok\": true|false} (false is an answer, not an error).",
         "mxgw galaxy-test-connection --endpoint gw:5001 --api-key-env MXGATEWAY_API_KEY --json",
         NoFlags, text=_test_text)
async def galaxy_test_connection(ctx: Context, conn: ConnectionFlags, flags: NoFlags) -> Any:
    galaxy = await ctx.galaxy(conn)
    return gr.TestConnectionReply(ok=await galaxy.test_connection())


def _deploy_text(reply: gr.GetLastDeployTimeReply) -> str:
    if not reply.time_of_last_deploy_present:
        return "never deployed"
    return f"last deploy {when(reply.time_of_last_deploy)}"


@command("galaxy-last-deploy", "Print the time of the Galaxy's last deploy.",
         "mxgw galaxy-last-deploy --sim --json", NoFlags, text=_deploy_text)
async def galaxy_last_deploy(ctx: Context, conn: ConnectionFlags, flags: NoFlags) -> Any:
    galaxy = await ctx.galaxy(conn)
    deployed = await galaxy.get_last_deploy_time()
    return gr.GetLastDeployTimeReply(time_of_last_deploy=deployed,
                                     time_of_last_deploy_present=deployed is not None)


@dataclass
class DiscoverFlags(ProgressFlags):
    root_gobject_id: Optional[int] = field(default=None, metadata={
        "help": "start at this object (one root at most)"})
    root_tag_name: Optional[str] = field(default=None, metadata={
        "help": "start at the object with this tag name"})
    root_contained_path: Optional[str] = field(default=None, metadata={
        "help": "start at this contained path, e.g. Plant/TestMachine_001"})
    max_depth: Optional[int] = field(default=None, metadata={
        "help": "levels below the root (0: the root alone)"})
    category_ids: Optional[list[int]] = field(default=None, metadata={
        "type": int_list, "help": "only these category ids, comma-separated (10: application "
                                  "objects, 13: areas, ...)"})
    template_chain_contains: Optional[list[str]] = field(default=None, metadata={
        "args": ["--template-chain-contains", "--template"], "type": str_list,
        "help": "only objects derived from one of these templates, comma-separated ($Pump)"})
    tag_name_glob: Optional[str] = field(default=None, metadata={
        "help": "only tag names matching this case-insensitive glob (Pump_*)"})
    no_attributes: bool = field(default=False, metadata={"help": "leave attributes out"})
    alarm_bearing_only: bool = field(default=False, metadata={
        "help": "only objects with an alarm attribute"})
    historized_only: bool = field(default=False, metadata={
        "help": "only objects with a historized attribute"})
    page_size: Optional[int] = field(default=None, metadata={
        "help": "objects per page (default: the gateway's)"})
    jsonl: bool = field(default=False, metadata={"help": "one JSON object per line"})


def _filters(flags: DiscoverFlags) -> dict[str, Any]:
    return {
        "root_gobject_id": flags.root_gobject_id, "root_tag_name": flags.root_tag_name,
        "root_contained_path": flags.root_contained_path, "max_depth": flags.max_depth,
        "category_ids": flags.category_ids or (),
        "template_chain_contains": flags.template_chain_contains or (),
        "tag_name_glob": flags.tag_name_glob, "include_attributes": not flags.no_attributes,
        "alarm_bearing_only": flags.alarm_bearing_only,
        "historized_only": flags.historized_only, "page_size": flags.page_size,
    }


@command("galaxy-discover", "Print the deployed object hierarchy (with attributes), every "
         "page. --json prints one array at the end, --jsonl one object per line as it arrives "
         "(one page in memory at a time); progress (count of the total, rate, elapsed) goes "
         "to stderr when it is a terminal. On Ctrl-C or SIGTERM what arrived is printed, "
         "marked incomplete (exit 130 or 143).",
         "mxgw galaxy-discover --sim --template-chain-contains '$Pump' --max-depth 2 --json",
         DiscoverFlags, streams=True)
async def galaxy_discover(ctx: Context, conn: ConnectionFlags, flags: DiscoverFlags) -> Any:
    request = hierarchy_request(**_filters(flags))  # bad filters fail before connecting
    depths: dict[int, int] = {}  # text mode: indent children under the parents seen

    def text(obj: gr.GalaxyObject) -> str:
        depth = depths.get(obj.parent_gobject_id, -1) + 1
        depths[obj.gobject_id] = depth
        return "\n".join(galaxy_object_text(obj, depth))

    received = receive(ctx, conn, flags, noun="object", text=text)
    galaxy = await ctx.galaxy(conn)
    objects = galaxy.iter_hierarchy(request)
    async for obj in objects:
        received.total = objects.total_object_count
        received.add(obj)
    if received.mode == TEXT and received.count == 0:
        ctx.note("(no objects)")
    return None


@dataclass
class BrowseFlags:
    parent_gobject_id: int = field(default=0, metadata={
        "args": ["--parent-gobject-id", "--parent"], "help": "parent object (0: the roots)"})
    no_attributes: bool = field(default=False, metadata={"help": "leave attributes out"})


def _browse_text(objects: list[gr.GalaxyObject]) -> str:
    return "\n".join(line for obj in objects for line in galaxy_object_text(obj)) or \
        "(no children)"


@command("galaxy-browse", "Print the direct children of an object (0: the top level).",
         "mxgw galaxy-browse --sim --parent-gobject-id 0 --no-attributes --json", BrowseFlags,
         text=_browse_text)
async def galaxy_browse(ctx: Context, conn: ConnectionFlags, flags: BrowseFlags) -> Any:
    galaxy = await ctx.galaxy(conn)
    return await galaxy.browse_children(flags.parent_gobject_id,
                                        include_attributes=not flags.no_attributes)


@dataclass
class WatchFlags(DurationFlags, ProgressFlags):
    last_seen_deploy_time: Optional[str] = field(default=None, metadata={
        "args": ["--last-seen-deploy-time", "--last-seen"],
        "help": "skip the opening event when the current deploy is this one (ISO 8601)"})
    max_events: Optional[int] = field(default=None, metadata={
        "help": "stop after this many events (default: when the run time passes, or "
                "never)"})
    jsonl: bool = field(default=False, metadata={
        "help": "one JSON object per line, as each deploy arrives (what --json prints "
                "here too: the stream may never end)"})


@command("galaxy-watch", "Print one line per Galaxy deploy (JSON lines with --json or "
         "--jsonl), starting with the current state; reconnects after a lost connection "
         "(what was deployed meanwhile comes once). Runs until --max-events, "
         "--duration-seconds (--timeout, as for stream-events, when not given; default: no "
         "end), or Ctrl-C.",
         "mxgw galaxy-watch --sim --max-events 1 --json", WatchFlags, streams=True)
async def galaxy_watch(ctx: Context, conn: ConnectionFlags, flags: WatchFlags) -> Any:
    if flags.max_events is not None and flags.max_events <= 0:
        raise UsageError("--max-events must be > 0")
    last_seen = (parse_timestamp(flags.last_seen_deploy_time, "--last-seen-deploy-time")
                 if flags.last_seen_deploy_time else None)
    seconds = flags.run_seconds(conn, None)
    received = receive(ctx, conn, flags, noun="deploy event", text=deploy_event_text,
                       json_lines=True)
    galaxy = await ctx.galaxy(conn)

    async def deploys() -> AsyncIterator[gr.DeployEvent]:
        # A lost connection or GOAWAY is resumed (what was deployed meanwhile comes once);
        # the first open is not retried, so a bad endpoint still fails at once.
        async with galaxy.deploy_watch(last_seen) as watch:
            async for change in watch:
                yield change.event

    await received.take(deploys(), flags.max_events, seconds)
    return None
