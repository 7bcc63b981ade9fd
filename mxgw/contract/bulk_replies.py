"""Bulk replies read lazily: the envelope at once, each of their results when first read.

A 10,000-entry bulk write comes back as 10,000 results, and decoding them all (two
messages each) was half the client's time on the call, though a caller mostly looks only
for the failures. `BulkReply.parse` (the reply type of a bulk Invoke) decodes the reply
as `parse(MxCommandReply, data)` would, strictly, but for the results of its bulk arm
(`bulk_write`, `bulk_read`, `bulk_subscribe`): those are checked only as far as their
framing and kept as bytes in a `BulkResults`, which decodes each one when it is first
read and keeps it (changes to a result stay). `BulkResults.failures()` reads only the
`was_successful` field of the results not read yet.

The outcome is the eager parse's: the oneof's last arm wins, an arm seen twice merges
(its results concatenate), unknown fields are kept (`BulkReply.complete()` puts the
results back into the reply, so `bytes(reply)` gives back the bytes received). What
differs is when a malformed result is noticed: a result whose own bytes are not valid
protobuf raises MalformedMessageError when it is read, not when the reply arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar, overload

from .._proto.mxaccess_gateway import v1 as pb
from ..errors import MalformedMessageError
from .decode import _Malformed, _message, _unknown, _varint, parse
from .encode import varint
from .fields import FieldSpec, fields, oneof_arms

ResultT = TypeVar("ResultT")

_RESULT_DEPTH = 2
"""Where a result sits (MxCommandReply 0, its bulk arm 1): MAX_DEPTH counts from there."""

_SUCCESS_FIELD = "was_successful"


def _wire_type(spec: FieldSpec) -> int:
    if spec.proto_type in ("message", "string", "bytes"):
        return 2
    return {"double": 1, "float": 5}.get(spec.proto_type, 0)


class _Arms:
    """What the reply's `result` oneof looks like: its arms' tags, and for each bulk arm
    (one whose message has a single field, repeated results) that field."""

    def __init__(self) -> None:
        self.arm_by_tag: dict[int, str] = {}
        self.results_by_tag: dict[int, FieldSpec] = {}
        self.results_by_arm: dict[str, FieldSpec] = {}
        for spec in oneof_arms(pb.MxCommandReply, "result"):
            tag = spec.number << 3 | _wire_type(spec)
            self.arm_by_tag[tag] = spec.name
            if spec.proto_type == "message":
                inner = fields(spec.target)
                if len(inner) == 1 and inner[0].repeated and inner[0].proto_type == "message":
                    self.results_by_tag[tag] = self.results_by_arm[spec.name] = inner[0]


_ARMS: _Arms | None = None


def _arms() -> _Arms:
    global _ARMS
    if _ARMS is None:
        _ARMS = _Arms()
    return _ARMS


def _length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A length prefix: (the end of the value, where the value starts)."""
    if pos < end and data[pos] < 0x80:
        length, pos = data[pos], pos + 1
    else:
        length, pos = _varint(data, pos, end)
    stop = pos + length
    if stop > end:
        raise _Malformed(pos, f"{length} bytes announced, {end - pos} left")
    return stop, pos


def _split(data: bytes, pos: int, end: int, results: int) -> tuple[list[Any], bytes]:
    """The values of field `results` (length-delimited) of the message `data[pos:end]`,
    as bytes, and the message's other fields as they came."""
    raw: list[Any] = []
    append = raw.append
    rest = bytearray()
    wanted = results << 3 | 2
    while pos < end:
        start = pos
        key = data[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(data, pos, end)
        if key == wanted:
            stop, pos = _length(data, pos, end)
            append(data[pos:stop])
            pos = stop
        else:
            pos = _unknown(data, start, pos, end, key)
            rest += data[start:pos]
    return raw, bytes(rest)


def _succeeded(raw: bytes, success_key: int) -> bool:
    """The `was_successful` of a result's bytes, read without decoding the rest (the last
    value wins, as protobuf's); _Malformed for bytes that are not protobuf."""
    ok = False
    pos, end = 0, len(raw)
    while pos < end:
        start = pos
        key = raw[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(raw, pos, end)
        byte = raw[pos] if pos < end else 0x80
        if key == success_key:
            if byte < 0x80:
                ok, pos = byte != 0, pos + 1
            else:
                value, pos = _varint(raw, pos, end)
                ok = value != 0
        elif 7 < key < 0x80 and byte < 0x80 and key & 7 in (0, 2):
            # the usual fields: a small varint, or a short string or status
            pos += 1 if key & 7 == 0 else 1 + byte
            if pos > end:
                raise _Malformed(start, "field runs past the end of the message")
        else:
            pos = _unknown(raw, start, pos, end, key)
    return ok


class BulkResults(Sequence[ResultT], Generic[ResultT]):
    """One result per entry of a bulk command, in input order: a read-only sequence whose
    results are decoded when first read (by index, slice or iteration) and then kept.

        results = await session.write_bulk(server, items)
        for failed in results.failures():      # reads only was_successful of the others
            print(failed.item_handle, failed.error_message)

    Equal to any sequence of equal results (`results == []` when there are none); `+`
    and `list()` give plain lists. A result whose bytes are not valid protobuf raises
    MalformedMessageError when read."""

    __slots__ = ("_items", "_type")

    def __init__(self, result_type: type[ResultT], items: Iterable[Any] = ()) -> None:
        self._type = result_type
        self._items: list[Any] = list(items)
        """Each result, decoded, or its bytes until it is first read."""

    @property
    def result_type(self) -> type[ResultT]:
        """The message type of each result."""
        return self._type

    def _decoded(self, index: int) -> ResultT:
        item = self._items[index]
        if type(item) is bytes:
            try:
                item = _message(self._type, item, 0, len(item), _RESULT_DEPTH)
            except _Malformed as exc:
                raise MalformedMessageError(self._type.__name__, exc.offset,
                                            exc.reason) from None
            self._items[index] = item
        result: ResultT = item
        return result

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> ResultT: ...

    @overload
    def __getitem__(self, index: slice) -> list[ResultT]: ...

    def __getitem__(self, index: int | slice) -> ResultT | list[ResultT]:
        if isinstance(index, slice):
            return [self._decoded(i) for i in range(*index.indices(len(self._items)))]
        if index < 0:
            index += len(self._items)
        if not 0 <= index < len(self._items):
            raise IndexError("bulk result index out of range")
        return self._decoded(index)

    def __iter__(self) -> Iterator[ResultT]:
        for index in range(len(self._items)):
            yield self._decoded(index)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __add__(self, other: Sequence[ResultT]) -> list[ResultT]:
        return [*self, *other]

    def __radd__(self, other: Sequence[ResultT]) -> list[ResultT]:
        return [*other, *self]

    def __repr__(self) -> str:
        return f"BulkResults({list(self)!r})"

    def failures(self) -> list[ResultT]:
        """The results with `was_successful` false, in order; the successful ones not read
        yet stay undecoded (a thousand times faster per success than reading it)."""
        spec = next((s for s in fields(self._type) if s.name == _SUCCESS_FIELD), None)
        if spec is None:
            raise TypeError(f"{self._type.__name__} has no {_SUCCESS_FIELD} field")
        success_key = spec.number << 3
        failed: list[ResultT] = []
        for index, item in enumerate(self._items):
            if type(item) is bytes:
                try:
                    if _succeeded(item, success_key):
                        continue
                except _Malformed:
                    pass  # decoding it raises the error, with its offset
                result = self._decoded(index)
            else:
                result = item
            if not getattr(result, _SUCCESS_FIELD):
                failed.append(result)
        return failed

    def readable(self) -> list[ResultT]:
        """The results up to the first that is malformed (all of them, if none is): what
        goes with an error already being raised, which a malformed result must not
        replace."""
        readable: list[ResultT] = []
        for index in range(len(self._items)):
            try:
                readable.append(self._decoded(index))
            except MalformedMessageError:
                break
        return readable

    def extend(self, more: BulkResults[ResultT]) -> None:
        """Append the results of the next request of the same bulk call."""
        self._items += more._items


class BulkReply:
    """An MxCommandReply whose bulk results are read lazily (see the module); grpclib's
    reply type for a bulk Invoke (`parse`)."""

    __slots__ = ("arm", "reply", "results")

    def __init__(self, reply: pb.MxCommandReply, arm: str | None,
                 results: BulkResults[Any]) -> None:
        self.reply = reply
        """The reply; its bulk arm's results are in `results` (see `complete`)."""
        self.arm = arm
        """The reply's bulk arm (`bulk_write`...), or None when it has none."""
        self.results = results

    @classmethod
    def parse(cls, data: bytes) -> BulkReply:
        """`parse(MxCommandReply, data)`, the bulk arm's results left as bytes."""
        if type(data) is not bytes:  # a bytearray or memoryview: as `parse` reads it
            data = bytes(data)
        try:
            return cls._parse(data)
        except (_Malformed, MalformedMessageError) as exc:
            # The eager parse says where, as it would have (and it must fail too).
            parse(pb.MxCommandReply, data)
            raise MalformedMessageError("MxCommandReply", -1, str(exc)) from None

    @classmethod
    def _parse(cls, data: bytes) -> BulkReply:
        arms = _arms()
        pieces: list[bytes] = []
        arm: str | None = None
        raw: list[Any] = []
        split = False
        pos, end, copied = 0, len(data), 0
        while pos < end:
            start = pos
            key, pos = _varint(data, pos, end)
            results = arms.results_by_tag.get(key)
            if results is None:
                pos = _unknown(data, start, pos, end, key)
                if key in arms.arm_by_tag:
                    arm, raw = None, []  # another arm: it wins, the results go
                continue
            stop, body = _length(data, pos, end)
            found, rest = _split(data, body, stop, results.number)
            name = arms.arm_by_tag[key]
            if arm != name:
                arm, raw = name, []  # an arm seen again merges: its results concatenate
            raw += found
            pieces += [data[copied:pos], varint(len(rest)), rest]
            copied, pos, split = stop, stop, True
        if not split:
            return cls(parse(pb.MxCommandReply, data), None, BulkResults(object))
        pieces.append(data[copied:])
        reply = parse(pb.MxCommandReply, b"".join(pieces))
        if arm is None or getattr(reply, arm) is None:
            return cls(reply, None, BulkResults(object))
        return cls(reply, arm, BulkResults(arms.results_by_arm[arm].target, raw))

    def results_of(self, arm: str | None, result_type: type[ResultT]) -> BulkResults[ResultT]:
        """The results when the reply's bulk arm is `arm` (empty otherwise)."""
        if arm is None or self.arm != arm:
            return BulkResults(result_type)
        results: BulkResults[ResultT] = self.results  # the arm's result type
        return results

    def complete(self) -> pb.MxCommandReply:
        """The reply with its results decoded in place (for a reply that goes out with an
        error): what `parse(MxCommandReply, data)` gives, but for a malformed result,
        which ends the results there instead of replacing the error (`readable`)."""
        if self.arm is not None:
            payload = getattr(self.reply, self.arm)
            spec = _arms().results_by_arm[self.arm]
            existing = getattr(payload, spec.name)
            if not existing:  # not yet put back
                setattr(payload, spec.name, self.results.readable())
        return self.reply
