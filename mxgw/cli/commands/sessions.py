"""`open-session`, `close-session`."""

from dataclasses import dataclass, field
from typing import Any

from ..._proto.mxaccess_gateway import v1 as pb
from ...errors import protocol_error
from ..context import Context
from ..flags import ConnectionFlags, SessionFlags
from ..text import name
from . import command


@dataclass
class OpenSessionFlags:
    client_name: str = field(default="mxgw", metadata={
        "args": ["--client-name", "--client-session-name", "--name"],
        "help": "client session name the gateway records"})


def _open_text(reply: pb.OpenSessionReply) -> str:
    return (f"{reply.session_id}  {reply.backend_name}  gateway protocol "
            f"{reply.gateway_protocol_version}, worker protocol {reply.worker_protocol_version}")


@command("open-session", "Open a session; prints the OpenSession reply (sessionId, ...). The "
         "session stays open on the gateway after the process exits: pass --session-id to "
         "later commands and close it with close-session.",
         "mxgw open-session --endpoint localhost:5000 --api-key-env MXGATEWAY_API_KEY --json",
         OpenSessionFlags, text=_open_text)
async def open_session(ctx: Context, conn: ConnectionFlags, flags: OpenSessionFlags) -> Any:
    client = await ctx.client(conn)
    session = await client.open_session(flags.client_name)
    return session.open_reply


@dataclass
class CloseSessionFlags(SessionFlags):
    pass


def _close_text(reply: pb.CloseSessionReply) -> str:
    return f"{reply.session_id}  {name(reply.final_state)}"


@command("close-session", "Close a session (idempotent); prints its final state.",
         "mxgw close-session --session-id session-0123... --json", CloseSessionFlags,
         text=_close_text)
async def close_session(ctx: Context, conn: ConnectionFlags, flags: CloseSessionFlags) -> Any:
    session = await ctx.session(conn, flags.session_id)
    reply = await session.close()
    status = reply.protocol_status
    if status is not None and status.code not in (pb.ProtocolStatusCode.OK,
                                                  pb.ProtocolStatusCode.UNSPECIFIED):
        raise protocol_error(status, reply)
    return reply
