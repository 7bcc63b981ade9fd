"""One subcommand per MXAccess command that is not a write: register, add-item, advise, ...

Each prints the whole MxCommandReply (`register.serverHandle`, `addItem.itemHandle`, ...).
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from ..._proto.mxaccess_gateway import v1 as pb
from ...contract import commands
from ..context import Context
from ..flags import ConnectionFlags, SessionFlags
from ..output import UsageError
from ..text import reply_text
from . import Action, command

S = "--session-id ID"


@dataclass
class RegisterFlags(SessionFlags):
    client_name: str = field(default="mxgw", metadata={"help": "MXAccess client name"})


@command("register", "Register with MXAccess; prints the reply with register.serverHandle.",
         f"mxgw register {S} --client-name my-app --json", RegisterFlags, text=reply_text)
async def register(ctx: Context, conn: ConnectionFlags, flags: RegisterFlags) -> Any:
    return await ctx.invoke(conn, flags.session_id, commands.register(flags.client_name))


@dataclass
class ServerHandleFlags(SessionFlags):
    server_handle: int = field(metadata={"metavar": "N", "help": "server handle (from register)"})


@command("unregister", "Unregister a server handle.", f"mxgw unregister {S} --server-handle 1",
         ServerHandleFlags, text=reply_text)
async def unregister(ctx: Context, conn: ConnectionFlags, flags: ServerHandleFlags) -> Any:
    return await ctx.invoke(conn, flags.session_id, commands.unregister(flags.server_handle))


@dataclass
class AddItemFlags(ServerHandleFlags):
    item: str = field(metadata={"args": ["--item", "--item-definition", "--tag"],
                                "metavar": "TAG.ATTR",
                                "help": "item reference, Tag.Attribute"})


@command("add-item", "Add an item by reference; prints the reply with addItem.itemHandle. An "
         "unknown reference is accepted here and fails later in its data-change status.",
         f"mxgw add-item {S} --server-handle 1 --item TestChildObject.TestInt --json",
         AddItemFlags, text=reply_text)
async def add_item(ctx: Context, conn: ConnectionFlags, flags: AddItemFlags) -> Any:
    return await ctx.invoke(conn, flags.session_id,
                            commands.add_item(flags.server_handle, flags.item))


@dataclass
class AddItemContextFlags(AddItemFlags):
    context: str = field(default="", metadata={"args": ["--context", "--item-context"],
                                               "help": "item context string"})


@command("add-item2", "Add an item with a context string; prints the reply with "
         "addItem2.itemHandle.",
         f"mxgw add-item2 {S} --server-handle 1 --item TestChildObject.TestInt --context ctx",
         AddItemContextFlags, text=reply_text)
async def add_item2(ctx: Context, conn: ConnectionFlags, flags: AddItemContextFlags) -> Any:
    return await ctx.invoke(conn, flags.session_id,
                            commands.add_item2(flags.server_handle, flags.item, flags.context))


@command("add-buffered-item", "Add a buffered item (updates arrive as OnBufferedDataChange); "
         "prints the reply with addBufferedItem.itemHandle.",
         f"mxgw add-buffered-item {S} --server-handle 1 --item TestMachine_001.TestChangingInt",
         AddItemContextFlags, text=reply_text)
async def add_buffered_item(ctx: Context, conn: ConnectionFlags,
                            flags: AddItemContextFlags) -> Any:
    return await ctx.invoke(conn, flags.session_id, commands.add_buffered_item(
        flags.server_handle, flags.item, flags.context))


@dataclass
class ItemHandleFlags(ServerHandleFlags):
    item_handle: int = field(metadata={"metavar": "N", "help": "item handle (from add-item)"})


def _item_action(builder: Callable[[int, int], pb.MxCommand]) -> Action:
    async def action(ctx: Context, conn: ConnectionFlags, flags: ItemHandleFlags) -> Any:
        return await ctx.invoke(conn, flags.session_id,
                                builder(flags.server_handle, flags.item_handle))
    action.__name__ = builder.__name__
    return action


for _name, _builder, _summary in (
    ("remove-item", commands.remove_item,
     "Remove an item (after its OnWriteComplete, if written)."),
    ("advise", commands.advise,
     "Start OnDataChange events for an item (read them with stream-events)."),
    ("advise-supervisory", commands.advise_supervisory,
     "Start a supervisory subscription: writes are attributed to the client."),
    ("unadvise", commands.unadvise, "Stop an item's events."),
    ("suspend", commands.suspend,
     "Pause an item's updates (completion arrives as OperationComplete)."),
    ("activate", commands.activate,
     "Resume an item's updates (completion arrives as OperationComplete)."),
):
    command(_name, _summary, f"mxgw {_name} {S} --server-handle 1 --item-handle 1 --json",
            ItemHandleFlags, text=reply_text)(_item_action(_builder))


@dataclass
class IntervalFlags(ServerHandleFlags):
    interval_ms: int = field(metadata={"help": "buffered update interval in milliseconds"})


@command("set-buffered-update-interval", "Set how often buffered updates are delivered.",
         f"mxgw set-buffered-update-interval {S} --server-handle 1 --interval-ms 500",
         IntervalFlags, text=reply_text)
async def set_buffered_update_interval(ctx: Context, conn: ConnectionFlags,
                                       flags: IntervalFlags) -> Any:
    return await ctx.invoke(conn, flags.session_id, commands.set_buffered_update_interval(
        flags.server_handle, flags.interval_ms))


@dataclass
class AuthenticateFlags(ServerHandleFlags):
    user_name: str = field(metadata={"args": ["--user-name", "--user"],
                                     "help": "user name (DOMAIN\\user allowed)"})
    password: Optional[str] = field(default=None, repr=False, metadata={
        "help": "password (prefer --password-env: a password on the command line is visible "
                "to ps)"})
    password_env: Optional[str] = field(default=None, metadata={
        "help": "name of an environment variable holding the password"})


@command("authenticate-user", "Authenticate a user for secured writes; prints the reply with "
         "authenticateUser.userId. The password never appears in any output.",
         f"mxgw authenticate-user {S} --server-handle 1 --user-name operator "
         "--password-env MX_PASSWORD --json", AuthenticateFlags, text=reply_text)
async def authenticate_user(ctx: Context, conn: ConnectionFlags,
                            flags: AuthenticateFlags) -> Any:
    if flags.password is not None and flags.password_env:
        raise UsageError("give --password or --password-env, not both")
    password = flags.password or ""
    if flags.password_env:
        if flags.password_env not in os.environ:
            raise UsageError(f"environment variable {flags.password_env} is not set")
        password = os.environ[flags.password_env]
    # The password is in the request only: no reply or error carries it, and a usage error
    # echoes `--password <redacted>` (see cli/redaction.py).
    return await ctx.invoke(conn, flags.session_id, commands.authenticate_user(
        flags.server_handle, flags.user_name, password))


@dataclass
class UserGuidFlags(ServerHandleFlags):
    user_guid: str = field(metadata={"args": ["--user-guid", "--guid"],
                                     "help": "ArchestrA user GUID"})


@command("archestra-user-to-id", "Map an ArchestrA user GUID to a user id; prints the reply "
         "with archestraUserToId.userId.",
         f"mxgw archestra-user-to-id {S} --server-handle 1 "
         "--user-guid 6f1c2a9e-0000-4000-8000-000000000001", UserGuidFlags, text=reply_text)
async def archestra_user_to_id(ctx: Context, conn: ConnectionFlags, flags: UserGuidFlags) -> Any:
    return await ctx.invoke(conn, flags.session_id, commands.archestra_user_to_id(
        flags.server_handle, flags.user_guid))
