"""gRPC server reflection (v1 and v1alpha) of the contract the simulator serves: ours
(`mxgw/_proto/descriptors.bin`) or a variant's (`SimConfig.contract`).

As gRPC's own servers do: `list_services` names every service (these two included), and a
file asked for by name or by a symbol it declares comes with the files it imports that
this stream has not sent yet. The descriptors are read on the first request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from grpclib.const import Status

from .._proto.grpc.reflection import v1, v1alpha
from .._proto.grpc.reflection.v1 import services as v1_services
from .._proto.grpc.reflection.v1alpha import services as v1alpha_services

if TYPE_CHECKING:
    from ..contract.descriptors import Schema


class _Answers:
    """The replies of one reflection stream (which files it has sent so far)."""

    def __init__(self, schema: Schema, pb: Any) -> None:
        self.schema = schema
        self.pb = pb
        self.sent: set[str] = set()

    def files(self, name: str) -> Any:
        batch = [n for n in self.schema.closure(name) if n not in self.sent]
        self.sent.update(batch)
        return self.pb.ServerReflectionResponse(file_descriptor_response=(
            self.pb.FileDescriptorResponse(file_descriptor_proto=[
                self.schema.raw[n] for n in batch])))

    def error(self, status: Status, message: str) -> Any:
        return self.pb.ServerReflectionResponse(error_response=self.pb.ErrorResponse(
            error_code=status.value, error_message=message))

    def answer(self, request: Any) -> Any:
        schema, pb = self.schema, self.pb
        if request.list_services is not None:
            reply = pb.ServerReflectionResponse(list_services_response=pb.ListServiceResponse(
                service=[pb.ServiceResponse(name=n) for n in sorted(schema.services)]))
        elif request.file_by_filename is not None:
            name = request.file_by_filename
            reply = (self.files(name) if name in schema.files
                     else self.error(Status.NOT_FOUND, f"no file {name}"))
        elif request.file_containing_symbol is not None:
            symbol = request.file_containing_symbol.lstrip(".")
            file = schema.symbols.get(symbol)
            reply = (self.files(file) if file is not None
                     else self.error(Status.NOT_FOUND, f"no symbol {symbol}"))
        elif request.file_containing_extension is not None:
            reply = self.error(Status.NOT_FOUND, "this contract declares no extensions")
        elif request.all_extension_numbers_of_type is not None:
            name = request.all_extension_numbers_of_type.lstrip(".")
            reply = (pb.ServerReflectionResponse(
                all_extension_numbers_response=pb.ExtensionNumberResponse(base_type_name=name))
                if name in schema.messages else self.error(Status.NOT_FOUND, f"no type {name}"))
        else:
            reply = self.error(Status.INVALID_ARGUMENT, "no request in the message")
        reply.valid_host = request.host
        reply.original_request = request
        return reply


class ReflectionV1(v1_services.ServerReflectionBase):
    """`grpc.reflection.v1.ServerReflection` over the served contract."""

    def __init__(self, schema: Callable[[], Schema]) -> None:
        self._schema = schema

    async def server_reflection_info(self, messages: AsyncIterator[Any]) -> AsyncIterator[Any]:
        answers = _Answers(self._schema(), v1)
        async for request in messages:
            yield answers.answer(request)


class ReflectionV1Alpha(v1alpha_services.ServerReflectionBase):
    """`grpc.reflection.v1alpha.ServerReflection` (what older clients ask) over the same."""

    def __init__(self, schema: Callable[[], Schema]) -> None:
        self._schema = schema

    async def server_reflection_info(self, messages: AsyncIterator[Any]) -> AsyncIterator[Any]:
        answers = _Answers(self._schema(), v1alpha)
        async for request in messages:
            yield answers.answer(request)
