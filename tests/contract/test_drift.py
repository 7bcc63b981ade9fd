"""DriftLog: what received messages show of another contract, through nested messages."""

from __future__ import annotations

from mxgw import pb
from mxgw.contract import codec
from mxgw.contract.drift import DriftLog, Observation, full_name, sample
from mxgw.contract.encode import varint

EVENT = "mxaccess_gateway.v1.MxEvent"


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    return varint(number << 3 | wire_type) + payload


def _event(*extra: bytes) -> pb.MxEvent:
    event = pb.MxEvent(session_id="s", worker_sequence=3, family=pb.MxEventFamily.ON_DATA_CHANGE,
                       on_data_change=pb.OnDataChangeEvent(value=pb.MxValue(int32_value=5)))
    return codec.parse(pb.MxEvent, codec.encode(event) + b"".join(extra))


def test_a_message_of_our_contract_shows_nothing() -> None:
    log = DriftLog()
    log.walk(_event())
    assert not log
    assert log.observations() == []
    assert log.messages == 1


def test_unknown_fields_wire_types_and_enum_values_are_counted() -> None:
    log = DriftLog()
    extra = (_field(40, 2, b"\x03abc"),            # a number we do not declare
             _field(2, 2, b"\x01A"),               # worker_sequence (uint64) as bytes
             _field(3, 0, b"\x09"))                # family 9: not an MxEventFamily
    log.walk(_event(*extra))
    log.walk(_event(*extra))
    assert log.observations() == [
        Observation("wire-type", EVENT, 2, "length-delimited", "worker_sequence",
                    "uint64 (varint)", "'A'", 2),
        Observation("enum-value", EVENT, 3, "varint", "family", "MxEventFamily", "9", 2),
        Observation("unknown-field", EVENT, 40, "length-delimited", None, None, "'abc'", 2),
    ]
    texts = [o.text() for o in log.observations()]
    assert texts[0] == (f"{EVENT}.worker_sequence (2): arrived length-delimited, ours is "
                        "uint64 (varint), sample 'A', seen 2 times")
    assert texts[2] == f"{EVENT}: unknown field 40 (length-delimited), sample 'abc', seen 2 times"
    assert log.observations()[0].to_dict()["wireType"] == "length-delimited"


def test_nested_messages_are_walked() -> None:
    value = codec.encode(pb.MxValue(int32_value=1)) + _field(30, 5, bytes(4))
    change = _field(1, 2, varint(len(value)) + value)  # OnDataChangeEvent.value
    event = codec.encode(pb.MxEvent(session_id="s")) + _field(20, 2, varint(len(change)) + change)
    log = DriftLog()
    log.walk(codec.parse(pb.MxEvent, event))
    (seen,) = log.observations()
    assert (seen.message, seen.number, seen.wire_type, seen.sample) == (
        "mxaccess_gateway.v1.MxValue", 30, "fixed32", "0x00000000")


def test_samples_are_readable() -> None:
    assert sample(0, 7) == "7"
    assert sample(2, b"text") == "'text'"
    assert sample(2, b"\xff\x00") == "0xff00"
    assert sample(2, b"") == "''"
    assert sample(1, bytes(30)).endswith("... (30 bytes)")
    assert full_name(pb.MxEvent) == EVENT
