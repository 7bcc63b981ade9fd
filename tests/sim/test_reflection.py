"""The simulator serves gRPC server reflection (v1, v1alpha) of the contract it implements,
ours or a variant's, and a variant's extra fields in what it sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc  # the dev extra: Google's grpcio and its reflection client, as a referee
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from mxgw._proto.grpc.reflection import v1, v1alpha
from mxgw._proto.grpc.reflection.v1 import services as v1_services
from mxgw._proto.grpc.reflection.v1alpha import services as v1alpha_services
from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw.contract.decode import wire_fields
from mxgw.contract.descriptors import our_schema
from mxgw.contract.fields import unknown_of
from mxgw.sim import RuntimeConfig, SimConfig, SimServer
from mxgw.sim.variant import ContractVariant

from ..variants import VARIANTS, compile_variant
from .conftest import KEY, GatewayFactory, is_data_change

METADATA = {"authorization": f"Bearer {KEY}"}
Ask = Callable[..., Any]


def _config(**changes: Any) -> SimConfig:
    return SimConfig(api_keys=[KEY], runtime=RuntimeConfig(first_value_delay=0.02, alarm_rate=0),
                     **changes)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(_config()) as server:
        yield server


STUBS: dict[Any, Any] = {v1: v1_services.ServerReflectionStub,
                         v1alpha: v1alpha_services.ServerReflectionStub}


async def _exchange(sim: SimServer, pb_module: Any, *requests: Any) -> list[Any]:
    """One reflection stream: `requests` in, their replies out."""
    channel = Channel("127.0.0.1", sim.port)
    try:
        stub = STUBS[pb_module](channel, metadata=METADATA)
        return [reply async for reply in stub.server_reflection_info(requests)]
    finally:
        channel.close()


def _names(reply: Any) -> list[str]:
    return [descriptor_pb2.FileDescriptorProto.FromString(raw).name
            for raw in reply.file_descriptor_response.file_descriptor_proto]


@pytest.mark.parametrize("version", [v1, v1alpha], ids=["v1", "v1alpha"])
async def test_services_files_and_symbols(sim: SimServer, version: Any) -> None:
    r = version.ServerReflectionRequest
    listed, by_symbol, by_name, field, again, unknown = await _exchange(
        sim, version, r(list_services=""),
        r(file_containing_symbol="mxaccess_gateway.v1.MxAccessGateway"),
        r(file_by_filename="galaxy_repository.proto"),
        r(file_containing_symbol="galaxy_repository.v1.GalaxyObject.tag_name"),
        r(file_by_filename="mxaccess_gateway.proto"),
        r(file_containing_symbol="mxaccess_gateway.v1.NoSuchThing"))
    assert {s.name for s in listed.list_services_response.service} == {
        "mxaccess_gateway.v1.MxAccessGateway", "galaxy_repository.v1.GalaxyRepository",
        "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
    # a file comes with the imports this stream has not been sent yet
    assert _names(by_symbol) == ["mxaccess_gateway.proto", "google/protobuf/duration.proto",
                                 "google/protobuf/timestamp.proto"]
    assert _names(by_name) == ["galaxy_repository.proto", "google/protobuf/wrappers.proto"]
    assert _names(field) == [] and _names(again) == []  # all of it was sent already
    assert by_symbol.file_descriptor_response.file_descriptor_proto[0] == (
        our_schema().raw["mxaccess_gateway.proto"])
    assert unknown.error_response.error_code == Status.NOT_FOUND.value
    assert unknown.original_request.file_containing_symbol == "mxaccess_gateway.v1.NoSuchThing"


async def test_without_reflection_the_service_is_unimplemented() -> None:
    async with SimServer(_config(reflection=False)) as sim:
        with pytest.raises(GRPCError) as caught:
            await _exchange(sim, v1, v1.ServerReflectionRequest(list_services=""))
    assert caught.value.status is Status.UNIMPLEMENTED


class _Bearer(grpc.StreamStreamClientInterceptor):  # type: ignore[misc]  # untyped grpcio
    """grpcio's reflection client sends no metadata of its own: add the key."""

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        metadata = [*(details.metadata or ()), ("authorization", METADATA["authorization"])]
        return continuation(details._replace(metadata=metadata), requests)


def _grpcio_reflection(endpoint: str) -> tuple[list[str], descriptor_pb2.FileDescriptorProto]:
    with grpc.insecure_channel(endpoint) as plain:
        channel = grpc.intercept_channel(plain, _Bearer())
        database = ProtoReflectionDescriptorDatabase(channel)
        services = list(database.get_services())
        found = database.FindFileContainingSymbol("mxaccess_gateway.v1.MxEvent")
        return services, found


async def test_grpcio_reflection_client_reads_the_simulator(sim: SimServer) -> None:
    """Google's own reflection client (v1alpha) gets our contract from the simulator."""
    services, found = await asyncio.to_thread(_grpcio_reflection, sim.endpoint)
    assert "mxaccess_gateway.v1.MxAccessGateway" in services
    assert found == descriptor_pb2.FileDescriptorProto.FromString(
        our_schema().raw["mxaccess_gateway.proto"])


@pytest.fixture(scope="module")
def extra_field(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractVariant]:
    data = compile_variant(tmp_path_factory.mktemp("extra"), VARIANTS["extra-field"])
    yield ContractVariant.from_descriptor_set(data)


async def test_a_variant_is_served_and_its_extra_field_is_sent(
        extra_field: ContractVariant, make_gateway: GatewayFactory) -> None:
    gw = await make_gateway(contract=extra_field)
    (reply,) = await _exchange(gw.sim, v1, v1.ServerReflectionRequest(
        file_by_filename="mxaccess_gateway.proto"))
    served = descriptor_pb2.FileDescriptorProto.FromString(
        reply.file_descriptor_response.file_descriptor_proto[0])
    event = next(m for m in served.message_type if m.name == "MxEvent")
    assert "site_name" in [f.name for f in event.field]
    # the reflection protocol's own files still come with a variant of protos/
    assert "grpc.reflection.v1.ServerReflection" in gw.sim.schema().services

    session = await gw.open()
    server = await gw.register(session)
    item = await gw.subscribe(session, server, "TestMachine_001.TestChangingInt")
    change = await gw.events(session).until(is_data_change(item))
    assert extra_field.extras == {"mxaccess_gateway.v1.MxEvent": b"\xc2\x02\x07variant"}
    assert unknown_of(change) == b"\xc2\x02\x07variant"  # field 40, "variant"
    reply_to_register = await gw.ok(session, pb.RegisterCommand(client_name="again"))
    assert unknown_of(reply_to_register) == b""  # MxCommandReply is not changed


def test_variant_extras_name_each_kind_of_drift(tmp_path: Path) -> None:
    extras = {name: ContractVariant.from_descriptor_set(
        compile_variant(tmp_path / name, edits)).extras for name, edits in VARIANTS.items()}
    event = "mxaccess_gateway.v1.MxEvent"
    assert wire_fields(extras["renumbered"][event]) == [(41, 0, 1)]
    assert wire_fields(extras["retyped"][event]) == [(4, 2, b"variant")]
    assert (3, 0, 6) in wire_fields(extras["extra-enum-value"][event])  # family = 6
