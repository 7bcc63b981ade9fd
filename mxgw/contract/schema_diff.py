"""How a gateway's descriptors differ from ours, message by message: field names, numbers,
types and cardinality, oneofs, enum values, services and their RPCs.

Symbols are matched by full name. gRPC's and protobuf's own packages (reflection, health,
well-known types) are not compared: every server may carry them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from .._proto.descriptor.google.protobuf import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    MethodDescriptorProto,
    ServiceDescriptorProto,
)
from .descriptors import Schema, cardinality, type_label


@dataclass(frozen=True)
class Difference:
    """One way the gateway's contract differs from ours.

    `kind` is one of: package-missing, package-extra, message-missing, message-extra,
    enum-missing, enum-extra, service-missing, service-extra, field-missing, field-extra,
    field-renamed, field-number, field-type, field-cardinality, field-oneof,
    value-missing, value-extra, value-renamed, value-number, rpc-missing, rpc-extra,
    rpc-signature. `-missing`: ours only; `-extra`: the gateway's only.
    """

    kind: str
    symbol: str
    """The full name of what differs (`mxaccess_gateway.v1.MxEvent.worker_sequence`)."""
    ours: str | None
    """What we declare (None: nothing)."""
    gateway: str | None
    """What the gateway declares (None: nothing)."""

    def text(self) -> str:
        """One readable line."""
        what = self.kind.split("-", 1)[1]
        if self.gateway is None:
            return f"{self.symbol}: only in ours ({self.ours})"
        if self.ours is None:
            return f"{self.symbol}: only at the gateway ({self.gateway})"
        return f"{self.symbol}: {what} is {self.ours} in ours, {self.gateway} at the gateway"

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


def diff(ours: Schema, gateway: Schema) -> list[Difference]:
    """Every difference of `gateway` from `ours`, in a stable order."""
    out: list[Difference] = []
    our_packages = set(ours.contract_packages())
    their_packages = set(gateway.contract_packages())
    for package in sorted(our_packages - their_packages):
        out.append(Difference("package-missing", package, _summary(ours, package), None))
    for package in sorted(their_packages - our_packages):
        out.append(Difference("package-extra", package, None, _summary(gateway, package)))
    common = our_packages & their_packages

    def matched(kind: str, left: Iterable[str], right: Iterable[str]) -> list[str]:
        """The names both declare (in `common` packages); the others go to `out`."""
        mine = {n for n in left if ours.packages.get(n) in common}
        theirs = {n for n in right if gateway.packages.get(n) in common}
        out.extend(Difference(f"{kind}-missing", n, kind, None) for n in sorted(mine - theirs))
        out.extend(Difference(f"{kind}-extra", n, None, kind) for n in sorted(theirs - mine))
        return sorted(mine & theirs)

    for name in matched("message", ours.messages, gateway.messages):
        out += _message(name, ours.messages[name], gateway.messages[name],
                        _proto3(ours, name), _proto3(gateway, name))
    for name in matched("enum", ours.enums, gateway.enums):
        out += _enum(name, ours.enums[name], gateway.enums[name])
    for name in matched("service", ours.services, gateway.services):
        out += _service(name, ours.services[name], gateway.services[name])
    return out


def _summary(schema: Schema, package: str) -> str:
    counts = [(len([n for n in names if schema.packages.get(n) == package]), what)
              for names, what in ((schema.messages, "messages"), (schema.enums, "enums"),
                                  (schema.services, "services"))]
    return ", ".join(f"{n} {what}" for n, what in counts if n)


def _proto3(schema: Schema, symbol: str) -> bool:
    file = schema.files.get(schema.symbols.get(symbol, ""))
    return file is not None and file.syntax == "proto3"


def _field_text(f: FieldDescriptorProto, proto3: bool) -> str:
    card = cardinality(f, proto3)
    prefix = "" if card == "singular" else f"{card} "
    return f"{prefix}{type_label(f)} {f.name} = {f.number}"


def _oneof(message: DescriptorProto, f: FieldDescriptorProto) -> str:
    if f.oneof_index is None or f.proto3_optional:
        return "none"
    return message.oneof_decl[f.oneof_index].name or "?"


def _message(name: str, ours: DescriptorProto, theirs: DescriptorProto, ours3: bool,
             theirs3: bool) -> list[Difference]:
    out: list[Difference] = []
    mine = {f.name: f for f in ours.field}
    their = {f.name: f for f in theirs.field}
    missing = [mine[n] for n in mine if n not in their]
    extra = [their[n] for n in their if n not in mine]
    # A field under another name with the same number and type: renamed, not replaced.
    for f in list(missing):
        twin = next((g for g in extra if g.number == f.number
                     and type_label(g) == type_label(f)), None)
        if twin is not None:
            out.append(Difference("field-renamed", f"{name}.{f.name}", f.name or "",
                                  twin.name or ""))
            missing.remove(f)
            extra.remove(twin)
    out += [Difference("field-missing", f"{name}.{f.name}", _field_text(f, ours3), None)
            for f in missing]
    out += [Difference("field-extra", f"{name}.{f.name}", None, _field_text(f, theirs3))
            for f in extra]
    for field_name in [n for n in mine if n in their]:
        a, b = mine[field_name], their[field_name]
        symbol = f"{name}.{field_name}"
        if a.number != b.number:
            out.append(Difference("field-number", symbol, str(a.number), str(b.number)))
        if type_label(a) != type_label(b):
            out.append(Difference("field-type", symbol, type_label(a), type_label(b)))
        if cardinality(a, ours3) != cardinality(b, theirs3):
            out.append(Difference("field-cardinality", symbol, cardinality(a, ours3),
                                  cardinality(b, theirs3)))
        if _oneof(ours, a) != _oneof(theirs, b):
            out.append(Difference("field-oneof", symbol, _oneof(ours, a), _oneof(theirs, b)))
    return out


def _enum(name: str, ours: EnumDescriptorProto, theirs: EnumDescriptorProto
          ) -> list[Difference]:
    out: list[Difference] = []
    mine = {v.name: v.number or 0 for v in ours.value}
    their = {v.name: v.number or 0 for v in theirs.value}
    missing = [n for n in mine if n not in their]
    extra = [n for n in their if n not in mine]
    for value in list(missing):
        twin = next((n for n in extra if their[n] == mine[value]), None)
        if twin is not None:
            out.append(Difference("value-renamed", f"{name}.{value}", value, twin))
            missing.remove(value)
            extra.remove(twin)
    out += [Difference("value-missing", f"{name}.{v}", f"{v} = {mine[v]}", None)
            for v in missing]
    out += [Difference("value-extra", f"{name}.{v}", None, f"{v} = {their[v]}") for v in extra]
    out += [Difference("value-number", f"{name}.{v}", str(mine[v]), str(their[v]))
            for v in mine if v in their and mine[v] != their[v]]
    return out


def _signature(method: MethodDescriptorProto) -> str:
    request = (method.input_type or "").lstrip(".")
    reply = (method.output_type or "").lstrip(".")
    return (f"{'stream ' if method.client_streaming else ''}{request} -> "
            f"{'stream ' if method.server_streaming else ''}{reply}")


def _service(name: str, ours: ServiceDescriptorProto, theirs: ServiceDescriptorProto
             ) -> list[Difference]:
    mine = {m.name: m for m in ours.method}
    their = {m.name: m for m in theirs.method}
    out = [Difference("rpc-missing", f"{name}.{m}", _signature(mine[m]), None)
           for m in mine if m not in their]
    out += [Difference("rpc-extra", f"{name}.{m}", None, _signature(their[m]))
            for m in their if m not in mine]
    out += [Difference("rpc-signature", f"{name}.{m}", _signature(mine[m]), _signature(their[m]))
            for m in mine if m in their and _signature(mine[m]) != _signature(their[m])]
    return out
