"""ReflectionClient: a gateway's own descriptors, by gRPC server reflection.

    async with GatewayClient.connect(...) as client:
        served = await ReflectionClient.on(client).fetch()   # None: reflection not served
        served.version, served.services, served.files

`grpc.reflection.v1` is asked first, then `v1alpha` (what older servers, and grpcio's,
serve). The stubs are betterproto2's, generated from protos/grpc/reflection/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import calls
from ._proto.grpc.reflection import v1, v1alpha
from .connection import Connection
from .contract.decode import wire_fields
from .errors import MalformedMessageError, RpcError, UnimplementedError

VERSIONS: tuple[tuple[str, Any], ...] = (("v1", v1), ("v1alpha", v1alpha))
MAX_FILES = 10_000
"""Files fetched at most (a gateway's contract is a handful): guards against a server
that keeps naming new imports."""


class ReflectionError(RpcError):
    """The gateway's reflection answered a request with an error."""


@dataclass
class ServedDescriptors:
    """What a gateway's reflection serves."""

    version: str
    """`v1` or `v1alpha`."""
    services: list[str]
    """The services it lists (fully qualified), its own included."""
    files: dict[str, bytes] = field(default_factory=dict)
    """Every file declaring a listed service, with its imports: serialized
    FileDescriptorProtos by name."""
    errors: list[str] = field(default_factory=list)
    """Requests the gateway answered with an error (a listed service it has no file for)."""


class ReflectionClient(Connection):
    """gRPC server reflection on a gateway connection (`ReflectionClient.on(client)`)."""

    @classmethod
    def on(cls, connection: Connection) -> ReflectionClient:
        """A reflection client on `connection`'s HTTP/2 connection."""
        return connection._sharing(cls, connection.options)

    async def fetch(self) -> ServedDescriptors | None:
        """Every file the gateway's services are declared in, with their imports; None
        when the gateway serves neither version of reflection."""
        for version, pb in VERSIONS:
            try:
                return await self._fetch(version, pb)
            except UnimplementedError:
                continue
        return None

    async def _fetch(self, version: str, pb: Any) -> ServedDescriptors:
        self._check_open()
        route = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
        async with calls.exchange(
                self._grpc, route, pb.ServerReflectionRequest, pb.ServerReflectionResponse,
                timeout=self.options.timeout, endpoint=self.options.endpoint,
                max_bytes=self.options.max_message_bytes) as call:
            listed = await call.ask(pb.ServerReflectionRequest(list_services=""))
            if listed.list_services_response is None:
                raise self._error(listed, "list_services")
            served = ServedDescriptors(
                version, [s.name for s in listed.list_services_response.service])
            for service in served.services:
                reply = await call.ask(pb.ServerReflectionRequest(file_containing_symbol=service))
                self._take(reply, served, f"the file of {service}")
            # Servers send a file's imports with it, or not: ask for what is still missing.
            failed: set[str] = set()
            while len(served.files) < MAX_FILES:
                missing = sorted(_imports(served.files) - served.files.keys() - failed)
                if not missing:
                    break
                for name in missing:
                    reply = await call.ask(pb.ServerReflectionRequest(file_by_filename=name))
                    if not self._take(reply, served, name):
                        failed.add(name)
        return served

    def _take(self, reply: Any, served: ServedDescriptors, what: str) -> bool:
        """Keep the files of a reply; False (noted in `served.errors`) for an error reply."""
        if reply.file_descriptor_response is None:
            error = reply.error_response
            served.errors.append(f"{what}: " + (
                f"status {error.error_code}: {error.error_message}" if error is not None
                else "no file in the reply"))
            return False
        for raw in reply.file_descriptor_response.file_descriptor_proto:
            served.files[_file_name(raw)] = raw
        return True

    def _error(self, reply: Any, request: str) -> ReflectionError:
        error = reply.error_response
        text = (f"status {error.error_code}: {error.error_message}" if error is not None
                else "an unexpected reply")
        return ReflectionError("UNKNOWN", f"reflection answered {request} with {text}",
                               "ServerReflectionInfo")


def _file_name(raw: bytes) -> str:
    """The name (field 1) of a serialized FileDescriptorProto, without parsing the rest."""
    for number, wire_type, value in wire_fields(raw):
        if number == 1 and wire_type == 2 and isinstance(value, bytes):
            return value.decode("utf-8", "replace")
    raise MalformedMessageError("FileDescriptorProto", 0, "a file descriptor without a name")


def _imports(files: dict[str, bytes]) -> set[str]:
    """The files imported (field 3) by the serialized FileDescriptorProtos in `files`."""
    return {value.decode("utf-8", "replace") for raw in files.values()
            for number, wire_type, value in wire_fields(raw)
            if number == 3 and wire_type == 2 and isinstance(value, bytes)}
