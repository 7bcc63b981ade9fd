"""`write`, `write2`, `write-secured`, `write-secured2`: one value to one item.

The value is parsed and converted before anything is sent: a value that does not fit its
`--type` exits 2. The result of a write arrives later as an OnWriteComplete event.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Optional

from ...contract import commands
from ..context import Context
from ..flags import ConnectionFlags
from ..parsing import CLI_TYPES, parse_timestamp, parse_value
from ..text import reply_text
from . import command
from .items import ItemHandleFlags

S = "--session-id ID --server-handle 1 --item-handle 1"
TYPE_HELP = (f"value type: {', '.join(CLI_TYPES)}, or an array such as int32[] (values "
             "comma-separated or a JSON array). Without it: integer, number, true/false, "
             "else string")


@dataclass
class WriteFlags(ItemHandleFlags):
    value: str = field(metadata={"help": "the value, as text"})
    type_name: Optional[str] = field(default=None, metadata={
        "args": ["--type", "--value-type"], "metavar": "TYPE", "help": TYPE_HELP})
    user_id: int = field(default=0, metadata={"help": "user id (0: none)"})


@dataclass
class Write2Flags(WriteFlags):
    timestamp: Optional[str] = field(default=None, metadata={
        "help": "source timestamp, ISO 8601 with a zone (default: now)"})


@dataclass(kw_only=True)
class WriteSecuredFlags(ItemHandleFlags):
    value: str = field(metadata={"help": "the value, as text"})
    type_name: Optional[str] = field(default=None, metadata={
        "args": ["--type", "--value-type"], "metavar": "TYPE", "help": TYPE_HELP})
    current_user_id: int = field(metadata={"help": "authenticated user id (authenticate-user)"})
    verifier_user_id: int = field(default=0, metadata={
        "help": "verifier user id for VerifiedWrite attributes (0: none)"})


@dataclass(kw_only=True)
class WriteSecured2Flags(WriteSecuredFlags):
    timestamp: Optional[str] = field(default=None, metadata={
        "help": "source timestamp, ISO 8601 with a zone (default: now)"})


def timestamp_of(text: Optional[str]) -> dt.datetime:
    """`--timestamp` (default: now)."""
    return parse_timestamp(text) if text else dt.datetime.now(dt.timezone.utc)


@command("write", "Write a value; prints the reply (the result arrives as OnWriteComplete: see "
         "stream-events).", f"mxgw write {S} --type int32 --value 123 --json", WriteFlags,
         text=reply_text)
async def write(ctx: Context, conn: ConnectionFlags, flags: WriteFlags) -> Any:
    value = parse_value(flags.value, flags.type_name)
    return await ctx.invoke(conn, flags.session_id, commands.write(
        flags.server_handle, flags.item_handle, value, user_id=flags.user_id))


@command("write2", "Write a value with a source timestamp.",
         f"mxgw write2 {S} --type double --value 1.5 --timestamp 2026-01-02T03:04:05Z",
         Write2Flags, text=reply_text)
async def write2(ctx: Context, conn: ConnectionFlags, flags: Write2Flags) -> Any:
    value = parse_value(flags.value, flags.type_name)
    timestamp = timestamp_of(flags.timestamp)
    return await ctx.invoke(conn, flags.session_id, commands.write2(
        flags.server_handle, flags.item_handle, value, timestamp, user_id=flags.user_id))


@command("write-secured", "Write a SecuredWrite / VerifiedWrite attribute as authenticated "
         "users.", f"mxgw write-secured {S} --type int32 --value 5 --current-user-id 7",
         WriteSecuredFlags, text=reply_text)
async def write_secured(ctx: Context, conn: ConnectionFlags, flags: WriteSecuredFlags) -> Any:
    value = parse_value(flags.value, flags.type_name)
    return await ctx.invoke(conn, flags.session_id, commands.write_secured(
        flags.server_handle, flags.item_handle, value, current_user_id=flags.current_user_id,
        verifier_user_id=flags.verifier_user_id))


@command("write-secured2", "write-secured with a source timestamp.",
         f"mxgw write-secured2 {S} --type int32 --value 5 --current-user-id 7 "
         "--verifier-user-id 8 --timestamp now", WriteSecured2Flags, text=reply_text)
async def write_secured2(ctx: Context, conn: ConnectionFlags, flags: WriteSecured2Flags) -> Any:
    value = parse_value(flags.value, flags.type_name)
    timestamp = timestamp_of(flags.timestamp)
    return await ctx.invoke(conn, flags.session_id, commands.write_secured2(
        flags.server_handle, flags.item_handle, value, timestamp,
        current_user_id=flags.current_user_id, verifier_user_id=flags.verifier_user_id))
