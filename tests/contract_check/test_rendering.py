""".proto text rendered from descriptors, checked by compiling it again with protoc (the
dev extra), and the diff of variant contracts compiled by protoc."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2  # the dev extra: Google's runtime, as a referee

from mxgw.contract.descriptors import Schema, our_schema, split_set
from mxgw.contract.proto_text import render
from mxgw.contract.schema_diff import Difference, diff

from ..variants import PROTOS, VARIANTS, compile_variant, protoc

GATEWAY = "mxaccess_gateway.v1"


def _google(raw: bytes) -> descriptor_pb2.FileDescriptorProto:
    return descriptor_pb2.FileDescriptorProto.FromString(raw)


def test_our_descriptors_are_protos_compiled(tmp_path: Path) -> None:
    """descriptors.bin holds what protoc makes of protos/ (tools/gen.py --check keeps it
    current; this says what it is)."""
    protoc(PROTOS, tmp_path / "set.bin")
    fresh = {_google(raw).name: _google(raw) for raw in split_set(
        (tmp_path / "set.bin").read_bytes())}
    ours = our_schema()
    assert {name: _google(raw) for name, raw in ours.raw.items()} == fresh


def _compile_rendered(schema: Schema, tmp_path: Path, skip: tuple[str, ...] = ()
                      ) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    root = tmp_path / "rendered"
    for name, file in schema.files.items():
        if name.startswith(skip):
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(file, schema), encoding="utf-8")
    protoc(root, tmp_path / "again.bin")
    return {_google(raw).name: _google(raw)
            for raw in split_set((tmp_path / "again.bin").read_bytes())}


def test_rendered_protos_compile_to_the_same_descriptors(tmp_path: Path) -> None:
    schema = our_schema()
    again = _compile_rendered(schema, tmp_path, skip=("google/",))
    for name, raw in schema.raw.items():
        assert again[name] == _google(raw), name
    text = render(schema.files["mxaccess_gateway.proto"], schema)
    assert "rpc StreamEvents(StreamEventsRequest) returns (stream MxEvent);" in text
    assert "  optional int32 hresult = 12;" in text
    assert "    OnDataChangeEvent on_data_change = 20;" in text  # inside `oneof body`


KITCHEN = """\
syntax = "proto2";
package kitchen.v1;
import "google/protobuf/descriptor.proto";
option java_package = "x.y";
option optimize_for = CODE_SIZE;
message Outer {
  message Inner { optional int32 a = 1 [default = -3]; }
  enum Color {
    option allow_alias = true;
    RED = 0; CRIMSON = 0; BLUE = 2 [deprecated = true];
    reserved 5 to 7, 9; reserved "GREEN";
  }
  message Inner2 {}
  optional Inner inner = 1;
  repeated Inner inners = 2;
  optional string s = 5 [default = "a\\"b\\n"];
  optional bytes b = 6 [default = "\\001\\377"];
  optional Color c = 7 [default = BLUE];
  required double d = 8 [default = inf];
  repeated int32 packed_ints = 9 [packed = true];
  optional int64 renamed = 10 [json_name = "other"];
  oneof choice { int32 x = 11; string y = 12; Inner z = 13; }
  optional sint32 zz = 16;
  optional fixed64 f64 = 17;
  optional Inner2 nested_one = 41;
  optional .kitchen.v1.Inner2 top_one = 42;
  extensions 100 to 199, 1000 to max;
  reserved 20 to 30, 40;
  reserved "old", "older";
}
message Inner2 { optional Outer.Inner back = 1; }
extend Outer { optional int32 ext = 100; }
extend google.protobuf.FieldOptions { optional string my_opt = 50001; }
service Svc {
  option deprecated = true;
  rpc Do(stream Outer) returns (Inner2) { option idempotency_level = NO_SIDE_EFFECTS; }
}
"""

THREE = """\
syntax = "proto3";
package three;
import public "kitchen.proto";
message A {
  optional int32 x = 1;
  oneof o { int32 y = 2; }
  map<string, bytes> m = 4;
  map<int32, kitchen.v1.Outer.Inner> inners = 5;
  reserved 7;
}
enum E { E_ZERO = 0; E_ONE = 1; }
"""


def test_rendering_covers_proto2_and_proto3_features(tmp_path: Path) -> None:
    """Defaults, groups of options, reserved ranges, extension ranges and extensions, maps,
    oneofs, proto3 optional, public imports, aliases, streaming RPCs, and type names that
    must stay qualified (Outer.Inner2 shadows the top-level Inner2)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "kitchen.proto").write_text(KITCHEN, encoding="utf-8")
    (src / "three.proto").write_text(THREE, encoding="utf-8")
    protoc(src, tmp_path / "set.bin")
    schema = Schema.from_set((tmp_path / "set.bin").read_bytes())
    again = _compile_rendered(schema, tmp_path)
    for name in ("kitchen.proto", "three.proto"):
        assert again[name] == _google(schema.raw[name]), render(schema.files[name], schema)
    kitchen = render(schema.files["kitchen.proto"], schema)
    assert "  optional Inner2 nested_one = 41;" in kitchen
    assert "  optional v1.Inner2 top_one = 42;" in kitchen  # the shortest that resolves


def test_descriptor_proto_itself_renders_back(tmp_path: Path) -> None:
    """google/protobuf/descriptor.proto: proto2, nested enums, message-valued options."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "uses.proto").write_text('syntax = "proto3";\nimport '
                                    '"google/protobuf/descriptor.proto";\n', encoding="utf-8")
    protoc(src, tmp_path / "set.bin")
    schema = Schema.from_set((tmp_path / "set.bin").read_bytes())
    again = _compile_rendered(schema, tmp_path)
    name = "google/protobuf/descriptor.proto"
    assert again[name] == _google(schema.raw[name])


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Schema]:
    return {name: Schema.from_set(compile_variant(tmp_path_factory.mktemp(name), edits))
            for name, edits in VARIANTS.items()}


@pytest.mark.parametrize(("variant", "expected"), [
    ("extra-field", Difference("field-extra", f"{GATEWAY}.MxEvent.site_name", None,
                               "string site_name = 40")),
    ("renumbered", Difference("field-number", f"{GATEWAY}.MxEvent.worker_sequence", "2", "41")),
    ("extra-enum-value", Difference("value-extra",
                                    f"{GATEWAY}.MxEventFamily.MX_EVENT_FAMILY_ON_HEARTBEAT",
                                    None, "MX_EVENT_FAMILY_ON_HEARTBEAT = 6")),
    ("retyped", Difference("field-type", f"{GATEWAY}.MxEvent.server_handle", "int32",
                           "string")),
])
def test_each_variant_differs_exactly(variants: dict[str, Schema], variant: str,
                                      expected: Difference) -> None:
    assert diff(our_schema(), variants[variant]) == [expected]


def test_renames_cardinality_oneofs_and_rpcs_are_named(tmp_path: Path) -> None:
    changed = compile_variant(tmp_path, [
        ("  string raw_status = 13;\n", "  repeated string raw_status = 13;\n"),
        ("  optional int32 hresult = 12;\n", "  optional int32 h_result = 12;\n"),
        ("  rpc StreamEvents(StreamEventsRequest) returns (stream MxEvent);\n",
         "  rpc StreamEvents(StreamEventsRequest) returns (MxEvent);\n"
         "  rpc Ping(StreamEventsRequest) returns (MxEvent);\n"),
    ])
    found = diff(our_schema(), Schema.from_set(changed))
    event = f"{GATEWAY}.MxEvent"
    service = f"{GATEWAY}.MxAccessGateway"
    assert set(found) == {
        Difference("field-renamed", f"{event}.hresult", "hresult", "h_result"),
        Difference("field-cardinality", f"{event}.raw_status", "singular", "repeated"),
        Difference("rpc-signature", f"{service}.StreamEvents",
                   f"{GATEWAY}.StreamEventsRequest -> stream {event}",
                   f"{GATEWAY}.StreamEventsRequest -> {event}"),
        Difference("rpc-extra", f"{service}.Ping", None,
                   f"{GATEWAY}.StreamEventsRequest -> {event}"),
    }
    assert found[0].text()
