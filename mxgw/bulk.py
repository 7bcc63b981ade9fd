"""Bulk commands: splitting by count and size, ordered results.

A bulk command is built whole (`mxgw.contract.commands`: every entry checked, a bad
one raises BulkEntryError naming its index), then cut here into chunks of at most
`max_bulk_entries` entries whose encoded request stays under `bulk_byte_budget` bytes
(`run`; `run_encoded` for a bulk write encoded entry by entry, as Session's write helpers
build it). The chunks run one after another; the results come back as one BulkResults,
one result per input entry, in input order, each decoded when first read. Per-entry
failures are results (`was_successful = False`, `BulkResults.failures()`), never
exceptions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from ._proto.mxaccess_gateway import v1 as pb
from .contract import codec, commands
from .contract.bulk_replies import BulkReply, BulkResults
from .contract.commands import WriteItem
from .errors import BulkEntryError, MxGatewayError, ProtocolViolationError

__all__ = ["BulkResults", "WriteItem", "chunk_bounds", "run"]

REQUEST_OVERHEAD = 512
"""Bytes reserved in each chunk for the request envelope (session id, correlation id,
command kind, server handle, field headers)."""

Invoke = Callable[[pb.MxCommand, "float | None"], Awaitable[BulkReply]]


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
              timeout: float | None = None) -> BulkResults[Any]:
    """Send a bulk command in chunks, in order; one result per entry, in input order
    (each decoded when first read: see BulkResults).

    If a chunk fails as a whole (gRPC, protocol or MXAccess failure), the exception is
    raised with `partial_results` holding the results of the chunks already applied."""
    arm = commands.arm(command.kind)
    results = BulkResults(_result_type(arm))
    for chunk in chunks(command, max_entries, max_bytes):
        sent = len(getattr(getattr(chunk, arm.name), arm.entries or ""))
        await _send(invoke, chunk, arm, sent, timeout, results)
    return results


async def run_encoded(invoke: Invoke, bulk: commands.EncodedBulk, *, max_entries: int,
                      max_bytes: int, timeout: float | None = None) -> BulkResults[Any]:
    """`run` for a bulk write encoded entry by entry: split by the entries' exact sizes,
    each request's payload put together from their bytes."""
    arm = commands.arm(bulk.kind)
    results = BulkResults(_result_type(arm))
    entries = bulk.entries
    for span in chunk_bounds([len(entry) for entry in entries], max_entries, max_bytes):
        payload = bulk.head + b"".join(entries[span.start:span.stop])
        await _send(invoke, commands.encoded_command(bulk.kind, payload), arm, len(span),
                    timeout, results)
    return results


async def _send(invoke: Invoke, chunk: pb.MxCommand, arm: commands.Arm, sent: int,
                timeout: float | None, results: BulkResults[Any]) -> None:
    """Invoke one chunk of `sent` entries; its results are appended to `results`."""
    try:
        reply = await invoke(chunk, timeout)
        chunk_results = reply.results_of(arm.result, results.result_type)
        if len(chunk_results) != sent:
            raise ProtocolViolationError(
                pb.ProtocolStatusCode.PROTOCOL_VIOLATION,
                f"{arm.kind.proto_name} reply has {len(chunk_results)} results for "
                f"{sent} entries", reply.complete())
    except MxGatewayError as exc:
        exc.partial_results = results.readable()
        raise
    results.extend(chunk_results)


def no_results(kind: pb.MxCommandKind) -> BulkResults[Any]:
    """The results of a bulk command of `kind` with no entries (nothing is sent): empty, of
    the kind's result type (so that `failures()` reads as for any other)."""
    return BulkResults(_result_type(commands.arm(kind)))


def _result_type(arm: commands.Arm) -> type[Any]:
    """The message type of one result of a bulk kind (its reply arm's repeated field)."""
    reply_arm = next(spec for spec in codec.fields(pb.MxCommandReply) if spec.name == arm.result)
    [results] = [spec for spec in codec.fields(reply_arm.target) if spec.repeated]
    return results.target  # type: ignore[no-any-return]
