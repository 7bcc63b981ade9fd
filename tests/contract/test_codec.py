"""The codec parses and encodes exactly as the generated code does, byte for byte, and keeps
the fields our reconstructed contract does not know."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxgw import MalformedMessageError, pb, to_mx_value
from mxgw.contract import codec
from mxgw.contract.codec import encode, parse

INT32 = st.integers(-(2**31), 2**31 - 1)
TEXT = st.text(max_size=20)
WHEN = st.datetimes(min_value=dt.datetime(1601, 1, 2), max_value=dt.datetime(9998, 1, 1),
                    timezones=st.just(dt.timezone.utc))
SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), INT32, st.integers(2**31, 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), TEXT, WHEN, st.binary(max_size=20),
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=9999)),
    st.lists(INT32, max_size=5), st.lists(st.floats(allow_nan=False, allow_infinity=False),
                                          max_size=5),
    st.lists(TEXT, max_size=3), st.lists(WHEN, max_size=3), st.lists(st.booleans(), max_size=5),
)
VALUES = SCALARS.map(to_mx_value)
STATUSES = st.builds(
    pb.MxStatusProxy, success=INT32, category=st.sampled_from(list(pb.MxStatusCategory)),
    detected_by=st.sampled_from(list(pb.MxStatusSource)), detail=INT32, raw_category=INT32,
    raw_detected_by=INT32, diagnostic_text=TEXT)
WRITE_RESULTS = st.builds(pb.BulkWriteResult, item_handle=INT32, was_successful=st.booleans(),
                          error_message=TEXT, hresult=INT32,
                          statuses=st.lists(STATUSES, max_size=2))
READ_RESULTS = st.builds(pb.BulkReadResult, tag_address=TEXT, was_successful=st.booleans(),
                         was_cached=st.booleans(), value=VALUES, quality=INT32,
                         source_timestamp=WHEN, statuses=st.lists(STATUSES, max_size=2))
SUBSCRIBE_RESULTS = st.builds(pb.SubscribeResult, server_handle=INT32, tag_address=TEXT,
                              item_handle=INT32, was_successful=st.booleans(),
                              error_message=TEXT)
RESULTS: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.lists(WRITE_RESULTS, max_size=4).map(lambda r: {"bulk_write": pb.BulkWriteReply(r)}),
    st.lists(READ_RESULTS, max_size=4).map(lambda r: {"bulk_read": pb.BulkReadReply(r)}),
    st.lists(SUBSCRIBE_RESULTS, max_size=4).map(
        lambda r: {"bulk_subscribe": pb.BulkSubscribeReply(r)}),
    INT32.map(lambda h: {"register": pb.RegisterReply(server_handle=h)}),
    st.just({}),
)
REPLIES = st.builds(
    lambda result, **kw: pb.MxCommandReply(**kw, **result), RESULTS,
    session_id=TEXT, correlation_id=TEXT, kind=st.sampled_from(list(pb.MxCommandKind)),
    protocol_status=st.builds(pb.ProtocolStatus, code=st.sampled_from(
        list(pb.ProtocolStatusCode)), message=TEXT),
    hresult=INT32, return_value=VALUES, statuses=st.lists(STATUSES, max_size=3),
    diagnostic_message=TEXT)
EVENTS = st.builds(
    pb.MxEvent, session_id=TEXT, worker_sequence=st.integers(0, 2**64 - 1),
    family=st.sampled_from(list(pb.MxEventFamily)), server_handle=INT32, item_handle=INT32,
    worker_timestamp=WHEN, gateway_receive_timestamp=WHEN, hresult=st.none() | INT32,
    raw_status=TEXT,
    replay_gap=st.none() | st.builds(pb.ReplayGap, requested_after_sequence=st.integers(0, 9),
                                     oldest_available_sequence=st.integers(0, 9)),
    on_data_change=st.none() | st.builds(pb.OnDataChangeEvent, value=VALUES, quality=INT32,
                                         source_timestamp=WHEN,
                                         statuses=st.lists(STATUSES, max_size=2)))


WRITE_ENTRIES = st.builds(pb.WriteSecured2BulkEntry, item_handle=INT32, value=VALUES,
                          current_user_id=INT32, verifier_user_id=INT32,
                          timestamp_value=st.none() | WHEN)
REQUESTS = st.builds(
    lambda command, **kw: pb.MxCommandRequest(command=command, **kw),
    st.one_of(
        st.lists(WRITE_ENTRIES, max_size=4).map(lambda e: pb.MxCommand(
            kind=pb.MxCommandKind.WRITE_SECURED2_BULK,
            write_secured2_bulk_command=pb.WriteSecured2BulkCommand(server_handle=1,
                                                                    entries=e))),
        st.lists(INT32, max_size=5).map(lambda h: pb.MxCommand(
            kind=pb.MxCommandKind.ADVISE_ITEM_BULK,
            advise_item_bulk_command=pb.AdviseItemBulkCommand(server_handle=2,
                                                              item_handles=h))),
        st.lists(TEXT, max_size=5).map(lambda t: pb.MxCommand(
            kind=pb.MxCommandKind.READ_BULK,
            read_bulk_command=pb.ReadBulkCommand(server_handle=3, tag_addresses=t,
                                                 timeout_ms=5))),
    ),
    session_id=TEXT, client_correlation_id=TEXT)


@given(REPLIES)
def test_replies_parse_and_encode_the_same(reply: pb.MxCommandReply) -> None:
    data = bytes(reply)
    assert encode(reply) == data
    fast, reference = parse(pb.MxCommandReply, data), pb.MxCommandReply.parse(data)
    assert fast == reference
    assert bytes(fast) == bytes(reference) == data


@given(EVENTS)
def test_events_parse_and_encode_the_same(event: pb.MxEvent) -> None:
    data = bytes(event)
    assert encode(event) == data
    fast, reference = parse(pb.MxEvent, data), pb.MxEvent.parse(data)
    assert fast == reference
    assert vars(fast) == vars(reference)  # the same attributes, unknown fields' bytes too
    assert repr(fast) == repr(reference) and fast.to_dict() == reference.to_dict()
    assert bytes(fast) == bytes(reference) == data


@given(st.datetimes(min_value=dt.datetime(1601, 1, 2), max_value=dt.datetime(9998, 1, 1),
                   timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=5,
                                              minutes=30)), dt.timezone(-dt.timedelta(hours=8))])))
def test_a_datetime_of_any_time_zone_encodes_as_the_generated_code_does(when: dt.datetime
                                                                        ) -> None:
    event = pb.MxEvent(worker_timestamp=when)
    assert encode(event) == bytes(event)


def test_a_naive_datetime_is_refused_as_the_generated_code_refuses_it() -> None:
    event = pb.MxEvent(worker_timestamp=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone aware"):
        bytes(event)
    with pytest.raises(ValueError, match="timezone aware"):
        encode(event)


@given(REQUESTS)
def test_requests_encode_the_same(request: pb.MxCommandRequest) -> None:
    assert encode(request) == bytes(request)


@given(st.binary(max_size=96))
def test_arbitrary_bytes_give_a_message_or_one_typed_error(data: bytes) -> None:
    """Never an untyped exception: a message (which re-encodes to itself) or
    MalformedMessageError with where decoding stopped."""
    for cls in (pb.MxCommandReply, pb.MxEvent, pb.OpenSessionReply):
        try:
            message = parse(cls, data)
        except MalformedMessageError as exc:
            assert exc.message_type == cls.__name__ and -1 <= exc.offset <= len(data)
            continue
        again = parse(cls, bytes(message))
        assert again == message and bytes(again) == bytes(message)


def test_the_last_arm_of_a_oneof_wins_as_protobuf_says() -> None:
    # (betterproto2's own parser keeps both arms here; protobuf keeps the last one)
    data = bytes(to_mx_value(5)) + bytes(to_mx_value("text"))
    value = parse(pb.MxValue, data)
    assert value.string_value == "text" and value.int32_value is None


# ---------------------------------------------------------------------- unknown fields

def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    return codec.varint(number << 3 | wire_type) + payload


UNKNOWN = st.lists(st.one_of(
    st.builds(lambda n, v: _field(n, 0, codec.varint(v)), st.integers(40, 2000),
              st.integers(0, 2**64 - 1)),
    st.builds(lambda n, b: _field(n, 2, codec.varint(len(b)) + b), st.integers(40, 2000),
              st.binary(max_size=12)),
    st.builds(lambda n, b: _field(n, 5, b), st.integers(40, 2000), st.binary(min_size=4,
                                                                              max_size=4)),
    st.builds(lambda n, b: _field(n, 1, b), st.integers(40, 2000), st.binary(min_size=8,
                                                                              max_size=8)),
), min_size=1, max_size=4).map(b"".join)


@given(EVENTS, UNKNOWN, UNKNOWN)
def test_unknown_fields_survive_a_round_trip_at_every_level(
    event: pb.MxEvent, outer: bytes, inner: bytes
) -> None:
    """A newer gateway's extra fields (in the event and in a nested message) are kept:
    re-encoding gives the bytes received, as betterproto2's own parser does."""
    change = event.on_data_change or pb.OnDataChangeEvent(quality=192)
    nested = bytes(change) + inner
    data = bytes(pb.MxEvent(session_id=event.session_id, worker_sequence=event.worker_sequence,
                            family=event.family)) + _field(20, 2, codec.varint(len(nested))
                                                           + nested) + outer
    fast, reference = parse(pb.MxEvent, data), pb.MxEvent.parse(data)
    assert bytes(fast) == bytes(reference)
    assert encode(fast) == bytes(reference)


def test_an_unknown_field_from_a_newer_gateway_is_kept_not_dropped() -> None:
    reply = pb.MxCommandReply(session_id="s", hresult=-1, register=pb.RegisterReply(7))
    extra = _field(99, 2, b"\x05hello") + _field(100, 0, b"\x2a")
    data = bytes(reply) + extra
    parsed = parse(pb.MxCommandReply, data)
    assert parsed.register == pb.RegisterReply(7)
    assert bytes(parsed) == data  # equality alone would hide a dropped field
    assert encode(parsed) == data


def test_the_one_metadata_reader_matches_the_pinned_betterproto2() -> None:
    """The codec reads betterproto2's private class metadata in one function; this fails
    when a betterproto2 upgrade changes its shape (check `contract/fields.py` then)."""
    import betterproto2

    assert betterproto2.__version__.startswith("0.10."), betterproto2.__version__
    specs = {spec.name: spec for spec in codec.fields(pb.MxValue)}
    assert specs["int32_value"].number == 10 and specs["int32_value"].group is not None
    assert specs["timestamp_value"].wrapped and specs["timestamp_value"].target.__name__ == \
        "Timestamp"
    assert specs["array_value"].target is pb.MxArray
    assert specs["data_type"].target is pb.MxDataType
    assert [s.name for s in codec.fields(pb.ReadBulkCommand)] == [
        "server_handle", "tag_addresses", "timeout_ms"]
    assert codec.fields(pb.ReadBulkCommand)[1].repeated
    parsed = pb.RegisterReply.parse(b"\xf8\x06\x01")  # field 111, varint 1
    assert parsed._unknown_fields == b"\xf8\x06\x01"



GENERATED = ("mxaccess_gateway.v1", "galaxy_repository.v1", "google.protobuf",
             "descriptor.google.protobuf", "grpc.reflection.v1")


def test_every_field_class_is_the_one_betterproto2_resolves() -> None:
    """The codec resolves a field's class from the class's type hints itself (one pass per
    class); betterproto2's own metadata must agree for every field of every generated
    class, or a betterproto2 upgrade changed how field classes are found."""
    import importlib
    import inspect

    import betterproto2

    checked = 0
    for name in GENERATED:
        module = importlib.import_module(f"mxgw._proto.{name}")
        for cls in vars(module).values():
            if not (inspect.isclass(cls) and issubclass(cls, betterproto2.Message)
                    and cls.__module__ == module.__name__):
                continue
            theirs: Any = cls._betterproto  # type: ignore[arg-type]  # a classproperty
            for spec in codec.fields(cls):
                meta = theirs.meta_by_field_name[spec.name]
                assert (spec.number, spec.proto_type, spec.group) == (
                    meta.number, meta.proto_type, meta.group), (cls, spec.name)
                if spec.wrapped:
                    assert spec.target is meta.unwrap(), (cls, spec.name)
                elif spec.proto_type in ("message", "enum", "map"):
                    assert spec.target is theirs.cls_by_field[spec.name], (cls, spec.name)
                checked += 1
    assert checked > 300, checked

# ---------------------------------------------------------------------- malformed input

def _nest(depth: int) -> bytes:
    """An MxValue whose sparse array holds an element whose value holds... `depth` deep."""
    value = bytes(pb.MxValue(int32_value=1))
    for _ in range(depth):
        element = _field(2, 2, codec.varint(len(value)) + value)          # element.value
        sparse = _field(3, 2, codec.varint(len(element)) + element)       # sparse.elements
        value = _field(19, 2, codec.varint(len(sparse)) + sparse)         # value.sparse
    return value


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    assert parse(pb.MxValue, _nest(20)).sparse_array_value is not None
    with pytest.raises(MalformedMessageError, match="nested more than"):
        parse(pb.MxValue, _nest(400))


@pytest.mark.parametrize(("data", "reason"), [
    (bytes(pb.RegisterReply(5))[:-1] + b"\x80", "truncated varint"),
    (_field(1, 2, b"\x05ab"), "announced"),                      # session_id: 5 bytes, 2 there
    (_field(1, 2, b"\x02\xff\xfe"), "not UTF-8"),
    (_field(1, 3, b""), "wire type 3"),
    (b"\x00\x01", "field number 0"),
    (b"\xff" * 11, "longer than 10 bytes"),
    (codec.varint(2**29 << 3) + b"\x00", "field number 536870912"),  # past 2**29 - 1
])
def test_malformed_input_names_the_problem_and_the_offset(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessageError, match=reason) as caught:
        parse(pb.MxCommandReply, data)
    assert 0 <= caught.value.offset < len(data)


def test_a_timestamp_out_of_range_is_malformed_not_an_overflow() -> None:
    seconds = codec.varint(2**62)
    stamp = _field(1, 0, seconds)
    data = _field(6, 2, codec.varint(len(stamp)) + stamp)     # worker_timestamp
    with pytest.raises(MalformedMessageError, match="worker_timestamp"):
        parse(pb.MxEvent, data)


@pytest.mark.parametrize("body", [
    b"\x00\x00",                              # field number 0, a varint
    codec.varint(2**29 << 3) + b"\x00",        # field number 2**29: past 2**29 - 1
    b"\x08\x01\x00\x00",                      # the same after a canonical seconds field
])
@pytest.mark.parametrize(("cls", "number"), [(pb.MxEvent, 6),    # worker_timestamp
                                             (pb.MxValue, 16)])  # elapsed_value (Duration)
def test_a_timestamp_or_duration_with_an_invalid_field_number_is_malformed(
    body: bytes, cls: type[Any], number: int
) -> None:
    """Field numbers 0 and past 2**29 - 1 are not protobuf (Google's runtime refuses
    them), inside a Timestamp or Duration as in any other message."""
    data = _field(number, 2, codec.varint(len(body)) + body)
    with pytest.raises(MalformedMessageError, match="field number"):
        parse(cls, data)


def test_a_known_field_with_another_wire_type_is_kept_as_unknown() -> None:
    """Our numbers are reconstructed: a field the gateway sends with another type than we
    guessed is kept as it came (as Google's runtime does), not an error."""
    data = bytes(pb.MxCommandReply(hresult=-5)) + _field(1, 0, b"\x07")  # session_id varint
    parsed = parse(pb.MxCommandReply, data)
    assert parsed.hresult == -5 and parsed.session_id == ""
    assert bytes(parsed) == data


def test_a_singular_message_seen_twice_merges_as_protobuf_says() -> None:
    first = bytes(pb.OnDataChangeEvent(quality=192))
    second = bytes(pb.OnDataChangeEvent(value=to_mx_value(7)))
    data = (_field(20, 2, codec.varint(len(first)) + first)
            + _field(20, 2, codec.varint(len(second)) + second))
    change = parse(pb.MxEvent, data).on_data_change
    assert change is not None and change.quality == 192
    assert change.value is not None and change.value.int32_value == 7


def test_the_fast_constructor_builds_what_the_dataclass_init_builds() -> None:
    """`fields.constructor` fills a message's instance dict directly: it must hold exactly
    what betterproto2's dataclass __init__ and __post_init__ leave there."""
    from mxgw.contract.fields import constructor

    cases: list[tuple[type[Any], dict[str, Any]]] = [
        (pb.MxEvent, {"worker_sequence": 5, "on_data_change": pb.OnDataChangeEvent()}),
        (pb.MxEvent, {}),
        (pb.BulkWriteResult, {"item_handle": 3, "statuses": [pb.MxStatusProxy()]}),
        (pb.MxArray, {"int32_values": [1, 2]}),
    ]
    for cls, values in cases:
        built = constructor(cls)(dict(values))
        assert vars(built) == vars(cls(**values)), cls
        assert bytes(built) == bytes(cls(**values))
    one, two = constructor(pb.MxArray)({}), constructor(pb.MxArray)({})
    one.int32_values.append(1)
    assert two.int32_values == []  # repeated fields get their own list


def _timestamp_field(number: int, seconds: int, nanos: int) -> bytes:
    body = _field(1, 0, codec.varint(seconds & 2**64 - 1)) + _field(2, 0, codec.varint(
        nanos & 2**64 - 1))
    return _field(number, 2, codec.varint(len(body)) + body)


@given(st.lists(st.tuples(st.integers(-62135596800, 253402300799 - 2),
                          st.integers(-(2**31), 2**31 - 1)), min_size=1, max_size=6))
def test_timestamps_convert_as_betterproto2_does_whatever_came_before(
    stamps: list[tuple[int, int]]
) -> None:
    """Timestamps as they travel (nanos not whole microseconds, negative, past a second):
    the same datetime as betterproto2's, however many of the same second were read before
    (the decoder remembers recent seconds)."""
    for seconds, nanos in stamps + [(s, n % 10**9) for s, n in stamps]:
        data = _timestamp_field(6, seconds, nanos) + _timestamp_field(11, seconds, 0)
        try:
            reference = pb.MxEvent.parse(data)
        except (OverflowError, ValueError):
            with pytest.raises(MalformedMessageError, match="timestamp"):
                parse(pb.MxEvent, data)
            continue
        fast = parse(pb.MxEvent, data)
        assert fast == reference
        assert fast.worker_timestamp == reference.worker_timestamp
        assert fast.worker_timestamp is not None
        assert fast.worker_timestamp.tzinfo is dt.timezone.utc
        assert bytes(fast) == bytes(reference)


@given(STATUSES, UNKNOWN)
def test_a_status_read_again_from_the_same_bytes_is_equal_and_its_own(
    status: pb.MxStatusProxy, extra: bytes
) -> None:
    """Statuses (all immutable values) repeat from event to event and are copied from the
    last one read from the same bytes: each event gets its own, equal to betterproto2's,
    unknown fields kept, and changing one changes no other."""
    body = bytes(status) + extra
    data = bytes(pb.OnDataChangeEvent(quality=1)) + _field(4, 2, codec.varint(len(body)) + body)
    first, second = parse(pb.OnDataChangeEvent, data), parse(pb.OnDataChangeEvent, data)
    reference = pb.OnDataChangeEvent.parse(data)
    assert first == second == reference and vars(first.statuses[0]) == vars(
        reference.statuses[0])
    assert bytes(second) == bytes(reference) == data
    first.statuses[0].detail = 12345
    assert second.statuses[0] == reference.statuses[0]
    assert parse(pb.OnDataChangeEvent, data) == reference
