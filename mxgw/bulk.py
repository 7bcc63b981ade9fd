"""Bulk commands: splitting by count and size, ordered results.

A bulk command is built whole (`mxgw.contract.commands`: every entry checked, a bad
one raises BulkEntryError naming its index), then cut here into chunks of at most
`max_bulk_entries` entries whose encoded request stays under `bulk_byte_budget` bytes.
The chunks run one after another; the results come back as one list, one result per
input entry, in input order. Per-entry failures are results (`was_successful = False`),
never exceptions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from ._proto.mxaccess_gateway import v1 as pb
from .contract import codec, commands
from .contract.commands import WriteItem
from .errors import BulkEntryError, MxGatewayError, ProtocolViolationError

__all__ = ["WriteItem", "chunk_bounds", "run"]

REQUEST_OVERHEAD = 512
"""Bytes reserved in each chunk for the request envelope (session id, correlation id,
command kind, server handle, field headers)."""

Invoke = Callable[[pb.MxCommand, "float | None"], Awaitable[pb.MxCommandReply]]


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
_ENTRY_FIELDS = 6 + 12 + 26
"""An upper bound of a write entry's fields besides its value: item handle, user ids,
timestamp."""


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


def entry_size(entry: Any) -> int:
    """An upper bound of the encoded size of one bulk entry, as a field of its request."""
    if isinstance(entry, str):
        return _field_size(len(entry.encode("utf-8")))
    if isinstance(entry, int):
        return varint_size(entry)
    value = entry.value
    return _field_size(_ENTRY_FIELDS + _field_size(value_size(value) if value is not None else 0))


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


def chunks(command: pb.MxCommand, max_entries: int, max_bytes: int) -> list[pb.MxCommand]:
    """A bulk command cut into commands of at most `max_entries` entries and `max_bytes`
    bytes each (the other payload fields copied), in order; BulkEntryError, before
    anything is sent, for an entry too large for any request."""
    arm, payload = commands.payload_of(command)
    assert arm is not None and arm.entries is not None, "not a bulk command"
    entries = getattr(payload, arm.entries)
    bounds = list(chunk_bounds([entry_size(e) for e in entries], max_entries, max_bytes))
    if len(bounds) <= 1:
        return [command]
    others = {spec.name: getattr(payload, spec.name)
              for spec in codec.fields(arm.payload_type) if spec.name != arm.entries}
    return [commands.command(arm.payload_type(
                **others, **{arm.entries: entries[span.start:span.stop]}))
            for span in bounds]


async def run(invoke: Invoke, command: pb.MxCommand, *, max_entries: int, max_bytes: int,
              timeout: float | None = None) -> list[Any]:
    """Send a bulk command in chunks, in order; one result per entry, in input order.

    If a chunk fails as a whole (gRPC, protocol or MXAccess failure), the exception is
    raised with `partial_results` holding the results of the chunks already applied."""
    arm = commands.arm(command.kind)
    results: list[Any] = []
    for chunk in chunks(command, max_entries, max_bytes):
        sent = len(getattr(getattr(chunk, arm.name), arm.entries or ""))
        try:
            reply = await invoke(chunk, timeout)
            got = commands.result_of(reply, arm.kind)
            chunk_results = list(got.results) if got is not None else []
            if len(chunk_results) != sent:
                raise ProtocolViolationError(
                    pb.ProtocolStatusCode.PROTOCOL_VIOLATION,
                    f"{arm.kind.proto_name} reply has {len(chunk_results)} results for "
                    f"{sent} entries", reply)
        except MxGatewayError as exc:
            exc.partial_results = list(results)
            raise
        results.extend(chunk_results)
    return results
