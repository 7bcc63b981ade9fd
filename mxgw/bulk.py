"""Bulk commands: entry validation, splitting by count and size, ordered results.

A bulk call is checked whole before anything is sent (a bad entry raises BulkEntryError
naming its index), then cut into chunks of at most `max_bulk_entries` entries whose
encoded request stays under `bulk_byte_budget` bytes. The chunks run one after another;
the results come back as one list, one result per input entry, in input order.
Per-entry failures are results (`was_successful = False`), never exceptions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ._proto.mxaccess_gateway import v1 as pb
from .errors import BulkEntryError, MxGatewayError, ProtocolViolationError, ValueConversionError
from .values import to_mx_value

INT32_MAX = 2**31 - 1
REQUEST_OVERHEAD = 512
"""Bytes reserved in each chunk for the request envelope (session id, correlation id,
command kind, server handle, field headers)."""

Invoke = Callable[[pb.MxCommand, "float | None"], Awaitable[pb.MxCommandReply]]


@dataclass(frozen=True)
class WriteItem:
    """One entry of a bulk write.

    Fields left at their default take the bulk call's keyword defaults (`type_name`,
    `user_id`, `timestamp`, `current_user_id`, `verifier_user_id`); a `(item_handle,
    value)` tuple is the same as `WriteItem(item_handle, value)`.
    """

    item_handle: int
    value: Any
    type_name: str | None = None
    user_id: int = 0
    timestamp: dt.datetime | None = None
    current_user_id: int = 0
    verifier_user_id: int = 0


@dataclass(frozen=True)
class BulkSpec:
    """How one bulk kind travels: command kind, payload arm and class, the repeated
    field holding the entries, and the reply arm holding the results."""

    kind: pb.MxCommandKind
    arm: str
    payload: type[Any]
    entries_field: str
    reply_arm: str


K = pb.MxCommandKind
ADD_ITEM = BulkSpec(K.ADD_ITEM_BULK, "add_item_bulk_command", pb.AddItemBulkCommand,
                    "tag_addresses", "bulk_subscribe")
ADVISE_ITEM = BulkSpec(K.ADVISE_ITEM_BULK, "advise_item_bulk_command", pb.AdviseItemBulkCommand,
                       "item_handles", "bulk_subscribe")
REMOVE_ITEM = BulkSpec(K.REMOVE_ITEM_BULK, "remove_item_bulk_command", pb.RemoveItemBulkCommand,
                       "item_handles", "bulk_subscribe")
UNADVISE_ITEM = BulkSpec(K.UN_ADVISE_ITEM_BULK, "un_advise_item_bulk_command",
                         pb.UnAdviseItemBulkCommand, "item_handles", "bulk_subscribe")
SUBSCRIBE = BulkSpec(K.SUBSCRIBE_BULK, "subscribe_bulk_command", pb.SubscribeBulkCommand,
                     "tag_addresses", "bulk_subscribe")
UNSUBSCRIBE = BulkSpec(K.UNSUBSCRIBE_BULK, "unsubscribe_bulk_command",
                       pb.UnsubscribeBulkCommand, "item_handles", "bulk_subscribe")
WRITE = BulkSpec(K.WRITE_BULK, "write_bulk_command", pb.WriteBulkCommand, "entries",
                 "bulk_write")
WRITE2 = BulkSpec(K.WRITE2_BULK, "write2_bulk_command", pb.Write2BulkCommand, "entries",
                  "bulk_write")
WRITE_SECURED = BulkSpec(K.WRITE_SECURED_BULK, "write_secured_bulk_command",
                         pb.WriteSecuredBulkCommand, "entries", "bulk_write")
WRITE_SECURED2 = BulkSpec(K.WRITE_SECURED2_BULK, "write_secured2_bulk_command",
                          pb.WriteSecured2BulkCommand, "entries", "bulk_write")
READ = BulkSpec(K.READ_BULK, "read_bulk_command", pb.ReadBulkCommand, "tag_addresses",
                "bulk_read")


# ---------------------------------------------------------------------- sizes

def varint_size(value: int) -> int:
    """Bytes of a protobuf varint (negative int32/int64 take 10)."""
    if value < 0:
        return 10
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def _field_size(payload: int) -> int:
    """A length-delimited field of `payload` bytes, with a tag of up to 2 bytes."""
    return 2 + varint_size(payload) + payload


_SCALAR_SIZES = {
    "bool_value": 3, "int32_value": 12, "int64_value": 12, "float_value": 6,
    "double_value": 10, "timestamp_value": 26, "elapsed_value": 26,
}


def value_size(value: pb.MxValue) -> int:
    """An upper bound of the encoded size of an MxValue (exact encoding for arrays)."""
    if (value.array_value is not None or value.sparse_array_value is not None
            or value.raw_diagnostic or value.raw_data_type):
        return len(bytes(value))
    size = 4 + _field_size(len(value.variant_type)) + 3
    for name, cost in _SCALAR_SIZES.items():
        if getattr(value, name) is not None:
            return size + cost
    if value.string_value is not None:
        return size + _field_size(len(value.string_value.encode("utf-8")))
    if value.bytes_value is not None:
        return size + _field_size(len(value.bytes_value))
    return size + _field_size(len(value.raw_diagnostic.encode("utf-8"))) + 12


# ---------------------------------------------------------------------- entries

def check_handles(handles: Iterable[int], name: str = "item handle") -> tuple[list[int], list[int]]:
    """Validated handles and their encoded sizes; BulkEntryError on the first bad one."""
    checked: list[int] = []
    for index, handle in enumerate(handles):
        if isinstance(handle, bool) or not isinstance(handle, int) or not 0 < handle <= INT32_MAX:
            raise BulkEntryError(index, f"{name} must be a positive int32, got {handle!r}")
        checked.append(handle)
    return checked, [varint_size(h) for h in checked]


def check_addresses(addresses: Iterable[str]) -> tuple[list[str], list[int]]:
    """Validated tag addresses and their encoded sizes."""
    if isinstance(addresses, str):
        raise BulkEntryError(0, "tag_addresses must be a list of strings, not one string")
    checked: list[str] = []
    sizes: list[int] = []
    for index, address in enumerate(addresses):
        if not isinstance(address, str) or not address.strip():
            raise BulkEntryError(index, f"a tag address must be a non-empty string, got "
                                        f"{address!r}")
        checked.append(address)
        sizes.append(_field_size(len(address.encode("utf-8"))))
    return checked, sizes


def _id(index: int, name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT32_MAX:
        raise BulkEntryError(index, f"{name} must be an int32 >= 0, got {value!r}")
    return value


def _when(index: int, value: dt.datetime | None) -> dt.datetime:
    if value is None:
        raise BulkEntryError(index, "this write needs a timestamp (per item or timestamp=)")
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise BulkEntryError(index, "timestamp must be a timezone-aware datetime")
    return value.astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class WriteDefaults:
    """The keyword defaults of a bulk write call."""

    type_name: str | None = None
    user_id: int = 0
    timestamp: dt.datetime | None = None
    current_user_id: int = 0
    verifier_user_id: int = 0


def _as_item(index: int, item: WriteItem | tuple[int, Any]) -> WriteItem:
    if isinstance(item, WriteItem):
        return item
    if isinstance(item, tuple) and len(item) == 2:
        return WriteItem(item[0], item[1])
    raise BulkEntryError(index, f"expected a WriteItem or an (item_handle, value) tuple, "
                                f"got {type(item).__name__}")


def write_entries(
    spec: BulkSpec, items: Iterable[WriteItem | tuple[int, Any]], defaults: WriteDefaults
) -> tuple[list[Any], list[int]]:
    """Validated bulk write entries of `spec`'s type and their encoded sizes."""
    if isinstance(items, (str, bytes, WriteItem)):
        raise BulkEntryError(0, "items must be a list of WriteItem or (item_handle, value)")
    timed = spec in (WRITE2, WRITE_SECURED2)
    secured = spec in (WRITE_SECURED, WRITE_SECURED2)
    entries: list[Any] = []
    sizes: list[int] = []
    for index, raw in enumerate(items):
        item = _as_item(index, raw)
        handle = item.item_handle
        if isinstance(handle, bool) or not isinstance(handle, int) or not 0 < handle <= INT32_MAX:
            raise BulkEntryError(index, f"item handle must be a positive int32, got {handle!r}")
        try:
            value = to_mx_value(item.value, item.type_name or defaults.type_name)
        except ValueConversionError as exc:
            raise BulkEntryError(index, f"value {_short(item.value)}: {exc}") from None
        fields: dict[str, Any] = {"item_handle": handle, "value": value}
        size = 6 + _field_size(value_size(value))
        if secured:
            fields["current_user_id"] = _id(
                index, "current_user_id", item.current_user_id or defaults.current_user_id)
            fields["verifier_user_id"] = _id(
                index, "verifier_user_id", item.verifier_user_id or defaults.verifier_user_id)
            size += 12
        else:
            fields["user_id"] = _id(index, "user_id", item.user_id or defaults.user_id)
            size += 6
        if timed:
            fields["timestamp_value"] = _when(index, item.timestamp or defaults.timestamp)
            size += 26
        entries.append(_ENTRY_TYPES[spec.kind](**fields))
        sizes.append(_field_size(size))
    return entries, sizes


_ENTRY_TYPES: dict[pb.MxCommandKind, type[Any]] = {
    K.WRITE_BULK: pb.WriteBulkEntry,
    K.WRITE2_BULK: pb.Write2BulkEntry,
    K.WRITE_SECURED_BULK: pb.WriteSecuredBulkEntry,
    K.WRITE_SECURED2_BULK: pb.WriteSecured2BulkEntry,
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------------- chunks

def chunk_bounds(sizes: Sequence[int], max_entries: int, max_bytes: int) -> Iterator[range]:
    """Consecutive index ranges of at most `max_entries` entries and `max_bytes` bytes.

    Raises BulkEntryError when one entry alone is over `max_bytes`."""
    budget = max_bytes - REQUEST_OVERHEAD
    start, used = 0, 0
    for index, size in enumerate(sizes):
        if size > budget:
            raise BulkEntryError(
                index, f"entry is {size} bytes, over the {budget}-byte budget of one request")
        if index > start and (index - start >= max_entries or used + size > budget):
            yield range(start, index)
            start, used = index, 0
        used += size
    if start < len(sizes):
        yield range(start, len(sizes))


async def run(
    invoke: Invoke,
    spec: BulkSpec,
    server_handle: int,
    entries: Sequence[Any],
    sizes: Sequence[int],
    *,
    max_entries: int,
    max_bytes: int,
    timeout: float | None = None,
    **payload_fields: Any,
) -> list[Any]:
    """Send `entries` in chunks, in order; one result per entry, in input order.

    If a chunk fails as a whole (gRPC, protocol or MXAccess failure), the exception is
    raised with `partial_results` holding the results of the chunks already applied."""
    bounds = list(chunk_bounds(sizes, max_entries, max_bytes))
    results: list[Any] = []
    for span in bounds:
        chunk = list(entries[span.start:span.stop])
        payload = spec.payload(server_handle=server_handle,
                               **{spec.entries_field: chunk}, **payload_fields)
        command = pb.MxCommand(kind=spec.kind, **{spec.arm: payload})
        try:
            reply = await invoke(command, timeout)
            got = getattr(reply, spec.reply_arm)
            chunk_results = list(got.results) if got is not None else []
            if len(chunk_results) != len(chunk):
                raise ProtocolViolationError(
                    pb.ProtocolStatusCode.PROTOCOL_VIOLATION,
                    f"{spec.kind.proto_name} reply has {len(chunk_results)} results for "
                    f"{len(chunk)} entries", reply)
        except MxGatewayError as exc:
            exc.partial_results = list(results)
            raise
        results.extend(chunk_results)
    return results
