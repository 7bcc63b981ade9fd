"""The bulk family: many items in one round trip; one result per item, in input order.

A failed item is a result with `wasSuccessful: false`; it does not fail the command.
Lists are comma-separated (`--items A.X,B.Y`, `--item-handles 1,2`, `--values 1,2`);
`--values` also takes a JSON array (needed for strings with commas and for array types).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from ... import WriteItem
from ..context import Context
from ..flags import ConnectionFlags
from ..parsing import int_list, parse_values, str_list
from ..text import read_result_text, subscribe_result_text, write_result_text
from . import Action, command
from .items import ServerHandleFlags
from .writes import TYPE_HELP, timestamp_of

S = "--session-id ID --server-handle 1"


def _lines(render: Callable[[Any], str]) -> Callable[[Sequence[Any]], str]:
    def text(results: Sequence[Any]) -> str:
        return "\n".join(render(r) for r in results) if results else "(no results)"
    return text


subscribe_text = _lines(subscribe_result_text)
write_text = _lines(write_result_text)
read_text = _lines(read_result_text)


@dataclass
class TagsFlags(ServerHandleFlags):
    items: list[str] = field(metadata={
        "args": ["--items", "--tag-addresses", "--tags"], "type": str_list,
        "metavar": "TAG.ATTR,...",
        "help": "comma-separated item references, Tag.Attribute,Tag.Attribute"})


@dataclass
class ItemHandlesFlags(ServerHandleFlags):
    item_handles: list[int] = field(metadata={
        "type": int_list, "metavar": "N,...", "help": "comma-separated item handles, 1,2,3"})


def _tags_action(method: str) -> Action:
    async def action(ctx: Context, conn: ConnectionFlags, flags: TagsFlags) -> Any:
        session = await ctx.session(conn, flags.session_id)
        return await getattr(session, method)(flags.server_handle, flags.items)
    action.__name__ = method
    return action


def _handles_action(method: str) -> Action:
    async def action(ctx: Context, conn: ConnectionFlags, flags: ItemHandlesFlags) -> Any:
        session = await ctx.session(conn, flags.session_id)
        return await getattr(session, method)(flags.server_handle, flags.item_handles)
    action.__name__ = method
    return action


for _name, _method, _summary in (
    ("add-item-bulk", "add_item_bulk", "Add many items; prints one result per item with its "
                                       "itemHandle."),
    ("subscribe-bulk", "subscribe_bulk", "Add and advise many items; each item's first value "
                                         "arrives as a data-change event."),
):
    command(_name, _summary, f"mxgw {_name} {S} --items TestMachine_001.TestChangingInt,"
            "TestChildObject.TestInt --json", TagsFlags, text=subscribe_text)(
        _tags_action(_method))

for _name, _method, _summary in (
    ("advise-item-bulk", "advise_item_bulk", "Advise many items."),
    ("unadvise-item-bulk", "unadvise_item_bulk", "Unadvise many items."),
    ("remove-item-bulk", "remove_item_bulk", "Remove many items."),
    ("unsubscribe-bulk", "unsubscribe_bulk", "Unadvise and remove many items."),
):
    command(_name, _summary, f"mxgw {_name} {S} --item-handles 1,2 --json", ItemHandlesFlags,
            text=subscribe_text)(_handles_action(_method))


@dataclass
class WriteBulkFlags(ItemHandlesFlags):
    values: str = field(metadata={
        "help": "one value per item handle: comma-separated, or a JSON array"})
    type_name: Optional[str] = field(default=None, metadata={
        "args": ["--type", "--value-type"], "metavar": "TYPE", "help": TYPE_HELP})
    user_id: int = field(default=0, metadata={"help": "user id (0: none)"})


@dataclass
class Write2BulkFlags(WriteBulkFlags):
    timestamp: Optional[str] = field(default=None, metadata={
        "help": "source timestamp of every value, ISO 8601 with a zone (default: now)"})


@dataclass(kw_only=True)
class WriteSecuredBulkFlags(ItemHandlesFlags):
    values: str = field(metadata={
        "help": "one value per item handle: comma-separated, or a JSON array"})
    type_name: Optional[str] = field(default=None, metadata={
        "args": ["--type", "--value-type"], "metavar": "TYPE", "help": TYPE_HELP})
    current_user_id: int = field(metadata={"help": "authenticated user id"})
    verifier_user_id: int = field(default=0, metadata={"help": "verifier user id (0: none)"})


@dataclass(kw_only=True)
class WriteSecured2BulkFlags(WriteSecuredBulkFlags):
    timestamp: Optional[str] = field(default=None, metadata={
        "help": "source timestamp of every value, ISO 8601 with a zone (default: now)"})


def _write_items(flags: Any) -> list[WriteItem]:
    values = parse_values(flags.values, flags.type_name, len(flags.item_handles))
    pairs = zip(flags.item_handles, values, strict=True)
    return [WriteItem(handle, value) for handle, value in pairs]


@command("write-bulk", "Write one value to each item; prints one result per item (each "
         "write's outcome also arrives as OnWriteComplete).",
         f"mxgw write-bulk {S} --item-handles 1,2 --type int32 --values 10,20 --json",
         WriteBulkFlags, text=write_text)
async def write_bulk(ctx: Context, conn: ConnectionFlags, flags: WriteBulkFlags) -> Any:
    items = _write_items(flags)
    session = await ctx.session(conn, flags.session_id)
    return await session.write_bulk(flags.server_handle, items, user_id=flags.user_id)


@command("write2-bulk", "write-bulk with a source timestamp.",
         f"mxgw write2-bulk {S} --item-handles 1,2 --type double --values 1.5,2.5 "
         "--timestamp 2026-01-02T03:04:05Z", Write2BulkFlags, text=write_text)
async def write2_bulk(ctx: Context, conn: ConnectionFlags, flags: Write2BulkFlags) -> Any:
    items = _write_items(flags)
    timestamp = timestamp_of(flags.timestamp)
    session = await ctx.session(conn, flags.session_id)
    return await session.write2_bulk(flags.server_handle, items, timestamp=timestamp,
                                     user_id=flags.user_id)


@command("write-secured-bulk", "Secured writes of many items as authenticated users.",
         f"mxgw write-secured-bulk {S} --item-handles 1,2 --type int32 --values 1,2 "
         "--current-user-id 7 --verifier-user-id 8", WriteSecuredBulkFlags, text=write_text)
async def write_secured_bulk(ctx: Context, conn: ConnectionFlags,
                             flags: WriteSecuredBulkFlags) -> Any:
    items = _write_items(flags)
    session = await ctx.session(conn, flags.session_id)
    return await session.write_secured_bulk(
        flags.server_handle, items, current_user_id=flags.current_user_id,
        verifier_user_id=flags.verifier_user_id)


@command("write-secured2-bulk", "write-secured-bulk with a source timestamp.",
         f"mxgw write-secured2-bulk {S} --item-handles 1 --type int32 --values 1 "
         "--current-user-id 7 --timestamp now", WriteSecured2BulkFlags, text=write_text)
async def write_secured2_bulk(ctx: Context, conn: ConnectionFlags,
                              flags: WriteSecured2BulkFlags) -> Any:
    items = _write_items(flags)
    timestamp = timestamp_of(flags.timestamp)
    session = await ctx.session(conn, flags.session_id)
    return await session.write_secured2_bulk(
        flags.server_handle, items, current_user_id=flags.current_user_id,
        verifier_user_id=flags.verifier_user_id, timestamp=timestamp)


@dataclass
class ReadBulkFlags(TagsFlags):
    timeout_ms: int = field(default=0, metadata={
        "help": "per-tag wait for a first value in ms (0: the gateway's default)"})


@command("read-bulk", "Read many tags once: the cached value (wasCached) when the tag is "
         "already advised in the session, else a fresh read; one result per tag.",
         f"mxgw read-bulk {S} --items TestMachine_001.TestChangingInt,TestChildObject.TestInt "
         "--timeout-ms 2000 --json", ReadBulkFlags, text=read_text)
async def read_bulk(ctx: Context, conn: ConnectionFlags, flags: ReadBulkFlags) -> Any:
    session = await ctx.session(conn, flags.session_id)
    return await session.read_bulk(flags.server_handle, flags.items, timeout_ms=flags.timeout_ms)
