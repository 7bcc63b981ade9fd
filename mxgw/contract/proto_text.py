""".proto text from a FileDescriptorProto, so that a gateway's own descriptors (from its
reflection) can be dropped into protos/ and compiled by tools/gen.py.

Covers what proto2 and proto3 files declare: messages (nested, maps, groups, oneofs,
proto3 `optional`, reserved ranges and names, extension ranges), enums, services
(streaming, options), extensions, imports and the standard options. Comments are not in
descriptors and cannot come back; a custom option (an extension of an options message)
is named in a comment, not rendered. Editions files keep their edition, not their features.
"""

from __future__ import annotations

import betterproto2

from .._proto.descriptor.google.protobuf import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    FieldDescriptorProtoLabel,
    FieldDescriptorProtoType,
    FileDescriptorProto,
    ServiceDescriptorProto,
)
from .decode import wire_fields
from .descriptors import Schema
from .fields import fields, unknown_of

_INDENT = "  "
_MAX_FIELD = 536_870_911  # 2^29 - 1: `max` in a range
# map_entry is implied by `map<K, V>`; uninterpreted options exist only inside protoc.
_SKIPPED_OPTIONS = frozenset({"uninterpreted_option", "map_entry"})


def render(file: FileDescriptorProto, schema: Schema | None = None) -> str:
    """The .proto text of `file`. `schema` holds the files it imports, to write type names
    short where protobuf resolves them to the same type (without it: fully qualified)."""
    return _Renderer(file, schema).file()


def quote(text: str) -> str:
    """A .proto string literal."""
    out = []
    for ch in text:
        if ch in "\"'\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def default_json_name(name: str) -> str:
    """protoc's JSON name of a field: underscores dropped, the letter after each upper."""
    out, upper = [], False
    for ch in name:
        if ch == "_":
            upper = True
        elif upper:
            out.append(ch.upper())
            upper = False
        else:
            out.append(ch)
    return "".join(out)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, betterproto2.Enum):
        return value.proto_name or value.name or str(int(value))
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, betterproto2.Message):
        return "{ " + " ".join(_aggregate(value)) + " }"
    return str(value)


def _aggregate(message: betterproto2.Message) -> list[str]:
    """A message option's fields in text format: `name: value` each."""
    out = []
    for spec in fields(type(message)):
        value = getattr(message, spec.name)
        for item in value if spec.repeated else [value]:
            if item is not None and item != "":  # strings have no presence: "" is unset
                out.append(f"{spec.name}: {_value(item)}")
    return out


def _options(options: betterproto2.Message | None) -> tuple[list[str], list[int]]:
    """(`name = value` of each standard option set, numbers of the custom ones)."""
    if options is None:
        return [], []
    out = []
    for spec in fields(type(options)):
        if spec.name in _SKIPPED_OPTIONS:
            continue
        value = getattr(options, spec.name)
        if spec.repeated:
            out += [f"{spec.name} = {_value(v)}" for v in value]
        elif value is not None and value != "":  # strings have no presence: "" is unset
            out.append(f"{spec.name} = {_value(value)}")
    return out, _custom_numbers(options)


def _custom_numbers(options: betterproto2.Message) -> list[int]:
    raw = unknown_of(options)
    return sorted({number for number, _, _ in wire_fields(raw)}) if raw else []


def _ranges(ranges: list[tuple[int, int]]) -> str:
    """`2, 9 to 11, 100 to max` from inclusive (start, end) pairs."""
    parts = []
    for start, end in ranges:
        if start == end:
            parts.append(str(start))
        else:
            parts.append(f"{start} to {'max' if end >= _MAX_FIELD else end}")
    return ", ".join(parts)


class _Renderer:
    def __init__(self, file: FileDescriptorProto, schema: Schema | None) -> None:
        self.file_proto = file
        self.syntax = file.syntax or "proto2"
        self.proto3 = self.syntax == "proto3"
        local = Schema()
        local.files[file.name] = file
        if schema is not None:
            local.files.update(schema.files)
            local.files[file.name] = file
        self.known = local.known_names(file)
        self.lines: list[str] = []

    # -------------------------------------------------------------- names

    def type_name(self, target: str, scope: str) -> str:
        """`target` (".pkg.Msg") as short as protobuf resolves it from `scope` to itself."""
        full = target.lstrip(".")
        if full not in self.known:
            return target  # not in the files at hand: the fully qualified name is safe
        parts = full.split(".")
        for start in range(len(parts) - 1, -1, -1):
            candidate = ".".join(parts[start:])
            if self._resolve(candidate, scope) == full:
                return candidate
        return target

    def _resolve(self, name: str, scope: str) -> str | None:
        """What protobuf resolves `name` to from `scope`: the first enclosing scope in
        which its first component names a type or a package wins."""
        first = name.split(".", 1)[0]
        scopes = scope.split(".") if scope else []
        for depth in range(len(scopes), -1, -1):
            prefix = ".".join(scopes[:depth])
            if (f"{prefix}.{first}" if prefix else first) in self.known:
                return f"{prefix}.{name}" if prefix else name
        return None

    # -------------------------------------------------------------- output

    def emit(self, depth: int, text: str = "") -> None:
        self.lines.append(_INDENT * depth + text if text else "")

    def emit_options(self, depth: int, options: betterproto2.Message | None) -> None:
        standard, custom = _options(options)
        for option in standard:
            self.emit(depth, f"option {option};")
        for number in custom:
            self.emit(depth, f"// custom option {number} (an extension) not rendered")

    def file(self) -> str:
        f = self.file_proto
        self.emit(0, "// Rendered by mxgw contract-check from the descriptor of "
                     f"{f.name or 'an unnamed file'}.")
        self.emit(0)
        if self.syntax == "editions":
            edition = f.edition.name.removeprefix("EDITION_") if f.edition else "2023"
            self.emit(0, f"edition = {quote(edition)};")
        else:
            self.emit(0, f"syntax = {quote(self.syntax)};")
        self.emit(0)
        if f.package:
            self.emit(0, f"package {f.package};")
            self.emit(0)
        public, weak = set(f.public_dependency), set(f.weak_dependency)
        for index, dependency in enumerate(f.dependency):
            kind = "public " if index in public else "weak " if index in weak else ""
            self.emit(0, f"import {kind}{quote(dependency)};")
        if f.dependency:
            self.emit(0)
        if f.options is not None:
            self.emit_options(0, f.options)
            self.emit(0)
        scope = f.package
        for service in f.service:
            self.service(service, scope)
            self.emit(0)
        for message in f.message_type:
            self.message(message, 0, scope)
            self.emit(0)
        for enum in f.enum_type:
            self.enum(enum, 0)
            self.emit(0)
        self.extensions(f.extension, 0, scope)
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines) + "\n"

    def service(self, service: ServiceDescriptorProto, scope: str) -> None:
        self.emit(0, f"service {service.name} {{")
        self.emit_options(1, service.options)
        inner = f"{scope}.{service.name}" if scope else service.name
        for method in service.method:
            request = self.type_name(method.input_type or "", inner)
            reply = self.type_name(method.output_type or "", inner)
            head = (f"rpc {method.name}({'stream ' if method.client_streaming else ''}"
                    f"{request}) returns ({'stream ' if method.server_streaming else ''}"
                    f"{reply})")
            standard, custom = _options(method.options)
            if not standard and not custom:
                self.emit(1, head + ";")
                continue
            self.emit(1, head + " {")
            self.emit_options(2, method.options)
            self.emit(1, "}")
        self.emit(0, "}")

    def message(self, message: DescriptorProto, depth: int, scope: str,
                keyword: str = "message", head: str | None = None) -> None:
        name = f"{scope}.{message.name}" if scope else message.name
        self.emit(depth, head or f"{keyword} {message.name} {{")
        inner = depth + 1
        self.emit_options(inner, message.options)
        entries = {f"{name}.{n.name}": n for n in message.nested_type
                   if n.options is not None and n.options.map_entry}
        groups = {f"{name}.{f.type_name.rsplit('.', 1)[-1]}" for f in message.field
                  if f.type == FieldDescriptorProtoType.GROUP and f.type_name}
        for nested in message.nested_type:
            full = f"{name}.{nested.name}"
            if full not in entries and full not in groups:
                self.message(nested, inner, name)
        for enum in message.enum_type:
            self.enum(enum, inner)
        # A oneof is written where its first field is: its fields are contiguous in .proto
        # text, and proto3 `optional` fields' synthetic oneofs are written as `optional`.
        opened: int | None = None
        for f in message.field:
            index = f.oneof_index if not f.proto3_optional else None
            if opened is not None and index != opened:
                self.emit(inner, "}")
                opened = None
            if index is not None and opened is None:
                oneof = message.oneof_decl[index]
                self.emit(inner, f"oneof {oneof.name} {{")
                self.emit_options(inner + 1, oneof.options)
                opened = index
            self.field(f, inner + (1 if opened is not None else 0), name, message,
                       entries, in_oneof=opened is not None)
        if opened is not None:
            self.emit(inner, "}")
        self.extensions(message.extension, inner, name)
        if message.extension_range:
            ranges = [(r.start or 0, (r.end or 1) - 1) for r in message.extension_range]
            self.emit(inner, f"extensions {_ranges(ranges)};")
        if message.reserved_range:
            ranges = [(r.start or 0, (r.end or 1) - 1) for r in message.reserved_range]
            self.emit(inner, f"reserved {_ranges(ranges)};")
        if message.reserved_name:
            self.emit(inner, f"reserved {', '.join(quote(n) for n in message.reserved_name)};")
        self.emit(depth, "}")

    def label(self, f: FieldDescriptorProto, in_oneof: bool) -> str:
        if in_oneof:
            return ""
        if f.label == FieldDescriptorProtoLabel.REPEATED:
            return "repeated "
        if f.label == FieldDescriptorProtoLabel.REQUIRED:
            return "required "
        if self.proto3:
            return "optional " if f.proto3_optional else ""
        return "" if self.syntax == "editions" else "optional "

    def field(self, f: FieldDescriptorProto, depth: int, scope: str, message: DescriptorProto,
              entries: dict[str, DescriptorProto], in_oneof: bool) -> None:
        target = (f.type_name or "").lstrip(".")
        if f.type == FieldDescriptorProtoType.GROUP:
            group = next((n for n in message.nested_type if f"{scope}.{n.name}" == target), None)
            if group is not None:
                head = (f"{self.label(f, in_oneof)}group {group.name} = {f.number}"
                        f"{self.attrs(f)} {{")
                self.message(group, depth, scope, head=head)
                return
        entry = entries.get(target)
        if entry is not None:
            key, value = (next(x for x in entry.field if x.number == n) for n in (1, 2))
            kind = f"map<{self.scalar(key, scope)}, {self.scalar(value, scope)}>"
            self.emit(depth, f"{kind} {f.name} = {f.number}{self.attrs(f)};")
            return
        self.emit(depth, f"{self.label(f, in_oneof)}{self.scalar(f, scope)} {f.name} = "
                         f"{f.number}{self.attrs(f)};")

    def scalar(self, f: FieldDescriptorProto, scope: str) -> str:
        if f.type_name:
            return self.type_name(f.type_name, scope)
        return f.type.name.lower() if f.type is not None else "bytes"

    def attrs(self, f: FieldDescriptorProto) -> str:
        """` [default = 1, json_name = "x", deprecated = true]`, or nothing."""
        parts = []
        if f.default_value:
            if f.type == FieldDescriptorProtoType.STRING:
                parts.append(f"default = {quote(f.default_value)}")
            elif f.type == FieldDescriptorProtoType.BYTES:
                parts.append(f'default = "{f.default_value}"')  # already C-escaped
            else:
                parts.append(f"default = {f.default_value}")
        if f.json_name and f.json_name != default_json_name(f.name):
            parts.append(f"json_name = {quote(f.json_name)}")
        standard, custom = _options(f.options)
        parts += standard
        text = f" [{', '.join(parts)}]" if parts else ""
        if custom:
            text += f" /* custom option(s) {', '.join(map(str, custom))} not rendered */"
        return text

    def enum(self, enum: EnumDescriptorProto, depth: int) -> None:
        self.emit(depth, f"enum {enum.name} {{")
        self.emit_options(depth + 1, enum.options)
        for value in enum.value:
            standard, custom = _options(value.options)
            attrs = f" [{', '.join(standard)}]" if standard else ""
            note = f" // custom option(s) {', '.join(map(str, custom))} not rendered" \
                if custom else ""
            self.emit(depth + 1, f"{value.name} = {value.number or 0}{attrs};{note}")
        if enum.reserved_range:  # EnumReservedRange's end is inclusive
            ranges = [(r.start or 0, r.end if r.end is not None else r.start or 0)
                      for r in enum.reserved_range]
            self.emit(depth + 1, f"reserved {_ranges(ranges)};")
        if enum.reserved_name:
            self.emit(depth + 1, f"reserved {', '.join(quote(n) for n in enum.reserved_name)};")
        self.emit(depth, "}")

    def extensions(self, extensions: list[FieldDescriptorProto], depth: int, scope: str) -> None:
        """`extend` blocks, one per extended message, in order of first appearance."""
        by_target: dict[str, list[FieldDescriptorProto]] = {}
        for f in extensions:
            by_target.setdefault(f.extendee or "", []).append(f)
        for extendee, group in by_target.items():
            self.emit(depth, f"extend {self.type_name(extendee, scope)} {{")
            for f in group:
                self.emit(depth + 1, f"{self.label(f, in_oneof=False)}{self.scalar(f, scope)} "
                                     f"{f.name} = {f.number}{self.attrs(f)};")
            self.emit(depth, "}")
