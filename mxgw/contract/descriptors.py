"""The contract as protobuf descriptors: ours (`mxgw/_proto/descriptors.bin`, written by
tools/gen.py) or a gateway's (the files its reflection serves), indexed by symbol.

Only what reads descriptors imports this module (the reflection service, the contract
check): the descriptor classes cost more to import than the rest of the generated code.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .._proto.descriptor.google.protobuf import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    FileDescriptorProto,
    FileDescriptorSet,
    ServiceDescriptorProto,
)
from . import codec
from .decode import wire_fields

CONTRACT_PACKAGES = ("mxaccess_gateway.v1", "galaxy_repository.v1")
"""The packages of the gateway's contract (the rest of protos/ is gRPC reflection)."""

INFRASTRUCTURE_PREFIXES = ("grpc.", "google.protobuf")
"""Packages every gRPC server may carry (reflection, health, well-known types): not the
gateway's contract, so never compared."""


def is_infrastructure(package: str) -> bool:
    """Whether `package` belongs to gRPC or protobuf rather than to a service's contract."""
    return package.startswith(INFRASTRUCTURE_PREFIXES)


def split_set(data: bytes) -> list[bytes]:
    """The serialized files of a serialized FileDescriptorSet, byte for byte as they are
    in it (so they can be served again unchanged)."""
    codec.parse(FileDescriptorSet, data)  # refuses what is not a descriptor set
    return [value for number, wire_type, value in wire_fields(data)
            if number == 1 and wire_type == 2 and isinstance(value, bytes)]


@functools.cache
def contract_descriptor_set() -> bytes:
    """Our FileDescriptorSet: protos/ and its imports, as tools/gen.py compiled them."""
    return importlib.resources.files("mxgw._proto").joinpath("descriptors.bin").read_bytes()


@dataclass
class Schema:
    """A set of proto files, indexed: every message, enum and service by full name (no
    leading dot), and the file that declares each symbol."""

    files: dict[str, FileDescriptorProto] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)
    """Each file as it was serialized."""
    messages: dict[str, DescriptorProto] = field(default_factory=dict)
    enums: dict[str, EnumDescriptorProto] = field(default_factory=dict)
    services: dict[str, ServiceDescriptorProto] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)
    """The package of every message, enum and service."""
    symbols: dict[str, str] = field(default_factory=dict)
    """File name by symbol: messages, fields, enums, enum values, services and methods."""

    @classmethod
    def from_files(cls, raw_files: Iterable[bytes]) -> Schema:
        """The schema of serialized FileDescriptorProtos (a later file of the same name
        replaces an earlier one)."""
        schema = cls()
        for raw in raw_files:
            schema.add(raw)
        return schema

    @classmethod
    def from_set(cls, data: bytes) -> Schema:
        """The schema of a serialized FileDescriptorSet."""
        return cls.from_files(split_set(data))

    def add(self, raw: bytes) -> FileDescriptorProto:
        """Index one serialized FileDescriptorProto; MalformedMessageError if it is not one."""
        file = codec.parse(FileDescriptorProto, raw)
        self.files[file.name] = file
        self.raw[file.name] = raw
        package = file.package
        prefix = f"{package}." if package else ""
        for message, name in _messages(file.message_type, prefix):
            self._declare(name, file.name, package)
            self.messages[name] = message
            for f in message.field:
                self.symbols[f"{name}.{f.name}"] = file.name
            for enum in message.enum_type:
                self._enum(enum, f"{name}.", file.name, package)
        for enum in file.enum_type:
            self._enum(enum, prefix, file.name, package)
        for service in file.service:
            name = prefix + service.name
            self._declare(name, file.name, package)
            self.services[name] = service
            for method in service.method:
                self.symbols[f"{name}.{method.name}"] = file.name
        return file

    def _declare(self, name: str, file: str, package: str) -> None:
        self.symbols[name] = file
        self.packages[name] = package

    def _enum(self, enum: EnumDescriptorProto, prefix: str, file: str, package: str) -> None:
        name = prefix + enum.name
        self._declare(name, file, package)
        self.enums[name] = enum
        for value in enum.value:  # enum values are siblings of their enum, as in C++
            self.symbols[prefix + value.name] = file

    def closure(self, name: str) -> list[str]:
        """File `name` first, then every file it imports, directly or not, that is here."""
        order: list[str] = []
        pending = [name]
        while pending:
            current = pending.pop(0)
            if current in order or current not in self.files:
                continue
            order.append(current)
            pending.extend(self.files[current].dependency)
        return order

    def missing_imports(self) -> list[str]:
        """Files imported by a file here that are not here themselves."""
        wanted = {d for f in self.files.values() for d in f.dependency}
        return sorted(wanted - self.files.keys())

    def contract_packages(self) -> list[str]:
        """The packages here that are not gRPC's or protobuf's."""
        return sorted({f.package for f in self.files.values()
                       if not is_infrastructure(f.package)})

    def known_names(self, file: FileDescriptorProto) -> set[str]:
        """The type names and package prefixes visible from `file` (itself and its
        imports, as far as they are here): what protobuf name resolution searches."""
        names: set[str] = set()
        for name in self.closure(file.name):
            imported = self.files[name]
            parts = imported.package.split(".") if imported.package else []
            names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
            prefix = f"{imported.package}." if imported.package else ""
            names.update(prefix + e.name for e in imported.enum_type)
            for message, full in _messages(imported.message_type, prefix):
                names.add(full)
                names.update(f"{full}.{e.name}" for e in message.enum_type)
        return names


@functools.cache
def our_schema() -> Schema:
    """Our contract (protos/), with its imports and the reflection protocol. Shared:
    never change it."""
    return Schema.from_set(contract_descriptor_set())


def _messages(messages: Iterable[DescriptorProto], prefix: str
              ) -> Iterator[tuple[DescriptorProto, str]]:
    """Every message and nested message, with its full name."""
    for message in messages:
        name = prefix + message.name
        yield message, name
        yield from _messages(message.nested_type, f"{name}.")


def type_label(f: FieldDescriptorProto) -> str:
    """A field's type as .proto spells it: `uint64`, or the full name of its message or
    enum (no leading dot)."""
    if f.type_name:
        return f.type_name.lstrip(".")
    return f.type.name.lower() if f.type is not None else "?"


def cardinality(f: FieldDescriptorProto, proto3: bool) -> str:
    """`repeated`, `optional` (explicit presence), `required` or `singular`."""
    label = f.label.name.lower() if f.label is not None else "optional"
    if label == "optional" and proto3 and not f.proto3_optional:
        return "singular"
    return label


WIRE_TYPES = {"double": 1, "fixed64": 1, "sfixed64": 1, "float": 5, "fixed32": 5,
              "sfixed32": 5, "string": 2, "bytes": 2, "message": 2, "group": 3}
"""Wire type by descriptor type name; every other type is a varint (0)."""


def wire_type_of(f: FieldDescriptorProto) -> int:
    """The wire type one value of field `f` travels with."""
    name = f.type.name.lower() if f.type is not None else ""
    return WIRE_TYPES.get(name, 0)
