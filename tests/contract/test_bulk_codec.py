"""The bulk fast paths give what the message paths give, byte for byte: a bulk write
encoded entry by entry is the builder's command encoded; a bulk reply read lazily is the
eager parse (unknown fields, merges and the oneof's last arm included), and its failures
are the results whose `was_successful` is false."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxgw import MalformedMessageError, WriteItem, pb
from mxgw.contract import codec, commands
from mxgw.contract.bulk_replies import BulkReply, BulkResults
from mxgw.contract.codec import parse
from mxgw.contract.values import mx_value_bytes, to_mx_value

from .test_codec import (
    READ_RESULTS,
    REPLIES,
    SCALARS,
    SUBSCRIBE_RESULTS,
    UNKNOWN,
    WHEN,
    WRITE_RESULTS,
)

K = pb.MxCommandKind
TYPE_NAMES = st.sampled_from([None, "bool", "int32", "int64", "float", "double", "string",
                              "datetime", "duration", "bytes", "int32[]", "Integer", " INT64 ",
                              "double[]", "string[]", "nonsense"])
ODD_VALUES = st.one_of(SCALARS, st.sampled_from([2**31, -(2**31) - 1, 2**64, float("nan"),
                                                 float("inf"), 3.5e38, "é\u20ac", True, 0,
                                                 -1, b"", ()]))


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    return codec.varint(number << 3 | wire_type) + payload


def _message_field(number: int, payload: bytes) -> bytes:
    return _field(number, 2, codec.varint(len(payload)) + payload)


def _outcome(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as exc:  # to_mx_value's, whatever they are (a KeyError for [] of
        return type(exc), str(exc)  # an unknown type name: the same from both paths)


# ---------------------------------------------------------------------- writes

@given(ODD_VALUES, TYPE_NAMES)
def test_a_value_encodes_as_its_message_or_fails_the_same_way(value: Any,
                                                              type_name: str | None) -> None:
    expected = _outcome(lambda: bytes(to_mx_value(value, type_name)))
    assert _outcome(mx_value_bytes, value, type_name) == expected


ITEMS = st.lists(st.one_of(
    st.tuples(st.integers(-1, 2**31), ODD_VALUES),
    st.builds(WriteItem, st.integers(1, 9), ODD_VALUES, type_name=TYPE_NAMES,
              user_id=st.sampled_from([0, 5, -1]),
              timestamp=st.none() | WHEN, current_user_id=st.sampled_from([0, 6]),
              verifier_user_id=st.sampled_from([0, 7, 2**40])),
), max_size=6)
DEFAULTS = st.fixed_dictionaries({}, optional={
    "type_name": TYPE_NAMES, "user_id": st.sampled_from([0, 3, -2]),
    "timestamp": st.none() | WHEN | st.just(dt.datetime(2024, 1, 1)),
    "current_user_id": st.sampled_from([0, 4]), "verifier_user_id": st.sampled_from([0, 8])})
BUILDERS = {K.WRITE_BULK: (commands.write_bulk, {"type_name", "user_id"}),
            K.WRITE2_BULK: (commands.write2_bulk, {"type_name", "user_id", "timestamp"}),
            K.WRITE_SECURED_BULK: (commands.write_secured_bulk,
                                   {"type_name", "current_user_id", "verifier_user_id"}),
            K.WRITE_SECURED2_BULK: (commands.write_secured2_bulk,
                                    {"type_name", "current_user_id", "verifier_user_id",
                                     "timestamp"})}


@given(st.sampled_from(list(BUILDERS)), st.sampled_from([1, 0]), ITEMS, DEFAULTS)
def test_a_bulk_write_encodes_as_its_command_or_fails_the_same_way(
        kind: pb.MxCommandKind, server: int, items: list[Any], defaults: dict[str, Any]
) -> None:
    builder, keywords = BUILDERS[kind]
    own = {name: value for name, value in defaults.items() if name in keywords}

    def by_message() -> bytes:
        return bytes(builder(server, items, **own))  # type: ignore[operator]

    def by_entries() -> bytes:
        write = commands.encoded_write_bulk(kind, server, items, **own)
        payload = write.head + b"".join(write.entries)
        return codec.encode(commands.encoded_command(kind, payload))

    try:
        expected = by_message()
    except Exception as exc:
        with pytest.raises(type(exc)) as caught:
            by_entries()
        assert str(caught.value) == str(exc)
        return
    assert by_entries() == expected


def test_an_encoded_payload_stands_anywhere_a_message_does() -> None:
    payload = bytes(pb.WriteBulkCommand(server_handle=3))
    command = commands.encoded_command(K.WRITE_BULK, payload)
    request = pb.MxCommandRequest(session_id="s", command=command, client_correlation_id="c")
    assert codec.encode(request) == bytes(pb.MxCommandRequest(
        session_id="s", command=pb.MxCommand(kind=K.WRITE_BULK, write_bulk_command=(
            pb.WriteBulkCommand(server_handle=3))), client_correlation_id="c"))


# ---------------------------------------------------------------------- replies

def _with_unknown(result: Any, extra: bytes, success: int | None) -> bytes:
    """A result's bytes, with fields we do not know and maybe a second was_successful."""
    again = _field(2 if not isinstance(result, pb.SubscribeResult) else 4, 0,
                   codec.varint(success)) if success is not None else b""
    return bytes(result) + extra + again


def _results(arm: int, results: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """A bulk arm `arm` of results (with unknown fields at both levels), as its bytes."""
    entry = st.builds(_with_unknown, results, st.just(b"") | UNKNOWN,
                      st.none() | st.sampled_from([0, 1, 2**63]))
    return st.builds(lambda entries, extra: _bulk_arm(arm, entries, extra),
                     st.lists(entry, max_size=4), st.just(b"") | UNKNOWN)


def _bulk_arm(arm: int, entries: list[bytes], extra: bytes) -> bytes:
    return _message_field(arm, b"".join(_message_field(1, e) for e in entries) + extra)


PARTS = st.lists(st.one_of(
    REPLIES.map(bytes), _results(27, WRITE_RESULTS), _results(28, READ_RESULTS),
    _results(26, SUBSCRIBE_RESULTS), UNKNOWN,
), min_size=1, max_size=4).map(b"".join)


@given(PARTS)
def test_a_bulk_reply_read_lazily_is_the_eager_parse(data: bytes) -> None:
    """Replies concatenated (protobuf's merge: an arm seen again merges, another arm
    wins), with unknown fields at every level and results whose was_successful comes
    twice."""
    eager = parse(pb.MxCommandReply, data)
    lazy = BulkReply.parse(data)
    arm = lazy.arm
    if arm is not None:
        results = getattr(eager, arm).results
        assert lazy.results.failures() == [r for r in results if not r.was_successful]
        assert list(lazy.results) == results
    else:
        assert not lazy.results
    assert lazy.complete() == eager
    assert bytes(lazy.reply) == bytes(eager)
    assert codec.encode(lazy.reply) == codec.encode(eager)


@given(st.binary(max_size=96) | PARTS.map(lambda d: d[:-1]))
def test_arbitrary_bytes_are_refused_as_the_eager_parse_refuses_them(data: bytes) -> None:
    try:
        eager = parse(pb.MxCommandReply, data)
    except MalformedMessageError as exc:
        with pytest.raises(MalformedMessageError) as caught:
            BulkReply.parse(data)
        assert (caught.value.offset, caught.value.reason) == (exc.offset, exc.reason)
        return
    lazy = BulkReply.parse(data)
    try:
        lazy.complete()
    except MalformedMessageError:
        return  # a result that is not protobuf: refused when read
    assert lazy.reply == eager


def test_a_malformed_result_is_refused_when_read() -> None:
    good = bytes(pb.BulkWriteResult(item_handle=1, was_successful=True))
    bad = b"\x08\x80"  # item_handle: a truncated varint
    reply = BulkReply.parse(_bulk_arm(27, [good, bad], b""))
    assert reply.results[0].item_handle == 1
    with pytest.raises(MalformedMessageError, match="truncated varint"):
        reply.results[1]
    with pytest.raises(MalformedMessageError, match="truncated varint"):
        reply.results.failures()


def test_a_malformed_result_does_not_replace_the_error_a_reply_goes_out_with() -> None:
    """A reply that fails (protocol or MXAccess status) is completed for its error: a
    malformed result ends its results there, it does not raise instead of the error."""
    good = bytes(pb.BulkWriteResult(item_handle=1, was_successful=True))
    bad = b"\x08\x80"
    reply = BulkReply.parse(_bulk_arm(27, [good, bad, good], b""))
    assert reply.results.readable() == [pb.BulkWriteResult(item_handle=1, was_successful=True)]
    completed = reply.complete().bulk_write
    assert completed is not None
    assert completed.results == [pb.BulkWriteResult(item_handle=1, was_successful=True)]
    whole = BulkReply.parse(_bulk_arm(27, [good, good], b""))
    assert whole.results.readable() == list(whole.results) and len(whole.results) == 2


def test_results_are_a_typed_sequence_decoded_once() -> None:
    entries = [bytes(pb.BulkWriteResult(item_handle=h, was_successful=h != 2)) for h in (1, 2, 3)]
    results = BulkReply.parse(_bulk_arm(27, entries, b"")).results
    assert len(results) == 3 and results == [pb.BulkWriteResult.parse(e) for e in entries]
    first = results[0]
    first.error_message = "changed"
    assert results[0] is first and results[-3] is first  # kept, changes and all
    assert [r.item_handle for r in results[1:]] == [2, 3]
    assert [r.item_handle for r in results.failures()] == [2]
    assert results + results[:1] == [*results, first]
    assert results[:1] + results == [first, *results]
    with pytest.raises(IndexError):
        results[3]
    assert BulkResults(pb.BulkWriteResult) == []


def test_a_reply_in_a_bytearray_or_memoryview_reads_as_from_bytes() -> None:
    """`parse` reads a bytearray or memoryview as bytes; so does the bulk reply, whose
    results must still be decoded when read, not handed out as slices of the buffer."""
    entries = [bytes(pb.BulkWriteResult(item_handle=h, was_successful=h != 2)) for h in (1, 2)]
    data = _bulk_arm(27, entries, b"")
    expected = [pb.BulkWriteResult.parse(e) for e in entries]
    for received in (bytearray(data), memoryview(data)):
        reply = BulkReply.parse(received)  # type: ignore[arg-type]  # as grpclib could pass
        assert [r.item_handle for r in reply.results.failures()] == [2]
        assert list(reply.results) == expected
        assert reply.complete() == parse(pb.MxCommandReply, data)


@pytest.mark.parametrize("data", [
    _message_field(27, _field(1, 0, b"\x05")),                   # a result as a varint
    _field(27, 0, b"\x05") + _bulk_arm(27, [b"\x08\x01"], b""),  # the arm as a varint first
    _bulk_arm(27, [b"\x08\x01"], b"") + _field(20, 2, b"\x00"),  # another arm wins
    _bulk_arm(27, [b"\x08\x01"], b"") + _field(20, 0, b"\x00"),  # ... not as a varint
    _bulk_arm(27, [b"\x08\x01"], b"") + _bulk_arm(28, [b"\x0a\x00"], b"")
    + _bulk_arm(27, [b"\x08\x02"], b""),                       # arms switch twice
])
def test_odd_wire_types_and_arm_switches_read_as_the_eager_parse(data: bytes) -> None:
    eager = parse(pb.MxCommandReply, data)
    lazy = BulkReply.parse(data)
    assert lazy.complete() == eager and bytes(lazy.reply) == bytes(eager)
