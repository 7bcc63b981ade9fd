"""Descriptors without protoc: our committed FileDescriptorSet indexed, descriptor.proto's
presence kept, the wire reader, and the diff of two contracts (tests/contract_check/
test_rendering.py compiles with protoc)."""

from __future__ import annotations

from mxgw.contract.decode import wire_fields
from mxgw.contract.descriptors import CONTRACT_PACKAGES, Schema, our_schema
from mxgw.contract.proto_text import default_json_name
from mxgw.contract.schema_diff import diff

GATEWAY = "mxaccess_gateway.v1"


def test_our_schema_indexes_the_contract() -> None:
    ours = our_schema()
    assert set(ours.contract_packages()) == set(CONTRACT_PACKAGES)
    assert {"mxaccess_gateway.v1.MxAccessGateway", "galaxy_repository.v1.GalaxyRepository",
            "grpc.reflection.v1.ServerReflection"} <= set(ours.services)
    assert ours.symbols[f"{GATEWAY}.MxAccessGateway.StreamEvents"] == "mxaccess_gateway.proto"
    assert ours.symbols[f"{GATEWAY}.MX_EVENT_FAMILY_ON_DATA_CHANGE"] == "mxaccess_gateway.proto"
    assert ours.closure("mxaccess_gateway.proto")[0] == "mxaccess_gateway.proto"
    assert "google/protobuf/timestamp.proto" in ours.closure("mxaccess_gateway.proto")
    assert ours.missing_imports() == []


def test_descriptor_presence_survives_generation() -> None:
    """oneof_index 0 (the first oneof) is not unset: tools/gen.py keeps descriptor.proto's
    proto2 presence, which betterproto2 alone would drop."""
    event = our_schema().messages[f"{GATEWAY}.MxEvent"]
    by_name = {f.name: f for f in event.field}
    assert by_name["on_data_change"].oneof_index == 0
    assert by_name["session_id"].oneof_index is None
    assert by_name["hresult"].proto3_optional is True


def test_wire_fields_reads_every_wire_type() -> None:
    data = bytes([8, 150, 1, 17]) + bytes(8) + bytes([26, 2]) + b"hi" + bytes([37]) + bytes(4)
    assert wire_fields(data) == [(1, 0, 150), (2, 1, bytes(8)), (3, 2, b"hi"), (4, 5, bytes(4))]


def test_json_names_follow_protoc() -> None:
    assert default_json_name("worker_sequence") == "workerSequence"
    assert default_json_name("a_b_c1") == "aBC1"


def test_the_same_contract_has_no_difference() -> None:
    assert diff(our_schema(), our_schema()) == []


def test_missing_packages_and_messages_are_named() -> None:
    ours = our_schema()
    gateway_only = Schema.from_files(
        raw for name, raw in ours.raw.items() if name != "galaxy_repository.proto")
    found = diff(ours, gateway_only)
    assert [d.kind for d in found] == ["package-missing"]
    assert found[0].symbol == "galaxy_repository.v1"
    assert "services" in (found[0].ours or "")
    assert found[0].text().startswith("galaxy_repository.v1: only in ours")
