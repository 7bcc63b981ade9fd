"""`stream-alarms`, `query-active-alarms`, `acknowledge-alarm`: the session-less alarm RPCs
(spelled as the upstream CLIs spell them)."""

from dataclasses import dataclass, field
from typing import Any, Optional

from ..._proto.mxaccess_gateway import v1 as pb
from ...contract import alarms, checks
from ...contract.commands import Operator
from ..context import Context
from ..flags import ConnectionFlags, DurationFlags, ProgressFlags
from ..output import UsageError
from ..received import receive
from ..text import active_alarms_table, alarm_feed_text, name
from . import command

DEFAULT_SECONDS = 30.0
REF = "Galaxy!Plant.TestMachine_001.TestAlarm001"


@dataclass
class FilterFlags:
    filter_prefix: str = field(default="", metadata={
        "args": ["--filter-prefix", "--alarm-filter-prefix"], "metavar": "PREFIX",
        "help": "only alarms whose reference starts with this, e.g. Galaxy!Plant "
                "(any case; default: every alarm)"})


@dataclass
class StreamAlarmsFlags(DurationFlags, ProgressFlags, FilterFlags):
    max_messages: Optional[int] = field(default=None, metadata={
        "help": "stop after this many messages, snapshot and marker included (default: "
                "when the run time passes)"})
    jsonl: bool = field(default=False, metadata={
        "help": "print each message as one JSON line as it arrives"})


@command("stream-alarms", "Print the alarm feed: one activeAlarm per active alarm, "
         "snapshotComplete, providerStatus, then live transitions (and providerStatus again "
         "on a provider failover). Stops after --max-messages or after --duration-seconds "
         f"(default {DEFAULT_SECONDS:g}; --timeout, as the upstream CLIs spell it, when not "
         "given), whichever comes first; running out of time is not an error. --json prints "
         "one array at the end, --jsonl one message per line as it arrives; on Ctrl-C or "
         "SIGTERM what arrived is printed, marked incomplete (exit 130 or 143). Scope "
         "events:read.",
         "mxgw stream-alarms --filter-prefix 'Galaxy!Plant' --max-messages 20 --timeout 45 "
         "--json", StreamAlarmsFlags, streams=True)
async def stream_alarms(ctx: Context, conn: ConnectionFlags, flags: StreamAlarmsFlags) -> Any:
    if flags.max_messages is not None and flags.max_messages <= 0:
        raise UsageError("--max-messages must be > 0")
    seconds = flags.run_seconds(conn, DEFAULT_SECONDS)
    received = receive(ctx, conn, flags, noun="message", text=alarm_feed_text)
    client = await ctx.client(conn)
    feed = client.stream_alarms(flags.filter_prefix)
    if not await received.take(feed, flags.max_messages, seconds):
        received.note_short_of(flags.max_messages, seconds)
    return None


@command("query-active-alarms", "Print the active alarms (Active and ActiveAcked) the "
         "gateway's alarm monitor holds: with --json the list of snapshots, else a table, "
         "most urgent first (lowest severity number, unacknowledged first). Scope "
         "events:read.", "mxgw query-active-alarms --filter-prefix 'Galaxy!Plant' --json",
         FilterFlags, text=active_alarms_table)
async def query_active_alarms(ctx: Context, conn: ConnectionFlags, flags: FilterFlags) -> Any:
    client = await ctx.client(conn)
    return await client.query_active_alarms(flags.filter_prefix)


@dataclass
class AcknowledgeAlarmFlags:
    reference: str = field(metadata={
        "args": ["--reference", "--alarm-full-reference"], "metavar": "REF",
        "help": f"the alarm, Provider!Group.Tag (e.g. {REF})"})
    operator: str = field(metadata={
        "args": ["--operator", "--operator-user"], "metavar": "USER",
        "help": "the operator who acknowledges"})
    comment: str = field(default="", metadata={
        "help": f"the acknowledge comment (at most {checks.ALARM_COMMENT_MAX} "
                "characters)"})
    node: str = field(default="", metadata={
        "args": ["--node", "--operator-node"], "help": "the operator's node"})
    domain: str = field(default="", metadata={
        "args": ["--domain", "--operator-domain"], "help": "the operator's domain"})
    full_name: str = field(default="", metadata={
        "args": ["--full-name", "--operator-full-name"], "help": "the operator's full name"})


def _ack_text(reply: pb.AcknowledgeAlarmReply) -> str:
    status = reply.protocol_status
    message = f"  {status.message}" if status is not None and status.message else ""
    return f"{name(status.code) if status is not None else 'NO_STATUS'}{message}"


@command("acknowledge-alarm", "Acknowledge an active alarm (Active -> ActiveAcked) with the "
         "operator's identity and a comment; prints the reply. Acknowledging twice is "
         "harmless; an alarm that is not active, or unknown, is refused: an error envelope "
         "with the native hresult, exit 6. Scope invoke:write.",
         f"mxgw acknowledge-alarm --reference '{REF}' --comment 'on it' --operator Operator1 "
         "--json", AcknowledgeAlarmFlags, text=_ack_text)
async def acknowledge_alarm(ctx: Context, conn: ConnectionFlags,
                            flags: AcknowledgeAlarmFlags) -> Any:
    operator = Operator(flags.operator, flags.node, flags.domain, flags.full_name)
    alarms.acknowledge_alarm_request(flags.reference, flags.comment, operator)  # exit 2 now
    client = await ctx.client(conn)
    return await client.acknowledge_alarm(flags.reference, flags.comment, operator=operator)
