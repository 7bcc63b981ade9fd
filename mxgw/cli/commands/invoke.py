"""`invoke`: any command kind of the contract, its payload given as protobuf-JSON.

The kinds come from the contract layer (`mxgw.contract.commands.ARMS`), so a kind added
to the proto can be invoked here before it has a subcommand of its own.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from ..._proto.mxaccess_gateway import v1 as pb
from ...contract import commands
from ..context import Context
from ..flags import ConnectionFlags, SessionFlags
from ..output import UsageError
from ..text import reply_text
from . import command


@dataclass
class InvokeFlags(SessionFlags):
    kind: str = field(metadata={
        "metavar": "KIND", "help": "command kind: REGISTER, WRITE, QUERY_ACTIVE_ALARMS... "
                                   "(the MX_COMMAND_KIND_ prefix may be given)"})
    payload: str = field(default="{}", metadata={
        "metavar": "JSON", "help": "the payload as protobuf-JSON (lowerCamelCase), e.g. "
                                   "'{\"clientName\": \"my-app\"}'"})


def build(kind_name: str, payload_json: str) -> pb.MxCommand:
    """The MxCommand of a kind name and a protobuf-JSON payload (UsageError if either is
    not valid)."""
    name = kind_name.strip().upper().removeprefix("MX_COMMAND_KIND_")
    try:
        arm = commands.arm(pb.MxCommandKind[name])
    except KeyError:
        known = ", ".join(k.name for k in commands.ARMS)
        raise UsageError(f"unknown --kind {kind_name!r}; one of {known}") from None
    try:
        data = json.loads(payload_json)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--payload is not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise UsageError("--payload must be a JSON object")
    try:
        payload = arm.payload_type.from_dict(data)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise UsageError(f"--payload is not a {arm.payload_type.__name__}: {exc}") from None
    return commands.command(payload)


@command("invoke", "Invoke any command kind with its payload as protobuf-JSON; prints the "
         "whole reply. For kinds without a subcommand of their own, and for scripts that "
         "build payloads.",
         "mxgw invoke --session-id ID --kind REGISTER --payload '{\"clientName\": \"app\"}' --json",
         InvokeFlags, text=reply_text)
async def invoke(ctx: Context, conn: ConnectionFlags, flags: InvokeFlags) -> Any:
    cmd = build(flags.kind, flags.payload)
    return await ctx.invoke(conn, flags.session_id, cmd)
