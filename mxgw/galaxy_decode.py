"""Fast decoding of Galaxy pages into the generated message classes.

The generated parser spends ~50 µs per attribute; a page of a large Galaxy holds tens of
thousands. This decoder reads the few known fields of `DiscoverHierarchyReply` /
`BrowseChildrenReply` / `GalaxyObject` / `GalaxyAttribute` in one tight loop and builds
the same generated messages. Anything it does not expect (an unknown wire type for a
known field, groups, truncation) makes it hand the bytes to the generated parser, so the
result is always what the generated code would give.
"""

from __future__ import annotations

from typing import Any

from ._proto.galaxy_repository import v1 as gr


class _Unexpected(Exception):
    """Bytes the fast path does not handle: use the generated parser."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    if byte < 0x80:
        return byte, pos + 1
    result, shift = byte & 0x7F, 7
    while True:
        pos += 1
        byte = data[pos]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos + 1
        shift += 7
        if shift > 63:
            raise _Unexpected("varint too long")


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _skip(data: bytes, pos: int, wire_type: int) -> int:
    if wire_type == 0:
        return _varint(data, pos)[1]
    if wire_type == 1:
        return pos + 8
    if wire_type == 2:
        length, pos = _varint(data, pos)
        return pos + length
    if wire_type == 5:
        return pos + 4
    raise _Unexpected(f"wire type {wire_type}")


def _chunk(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    length, pos = _varint(data, pos)
    stop = pos + length
    if stop > end:
        raise _Unexpected("truncated")
    return data[pos:stop], stop


# GalaxyAttribute: field number -> (name, kind); kind: s string, i int32, b bool.
_ATTRIBUTE = {1: ("attribute_name", "s"), 2: ("full_tag_reference", "s"),
              3: ("mx_data_type", "i"), 4: ("data_type_name", "s"), 5: ("is_array", "b"),
              6: ("array_dimension", "i"), 7: ("mx_attribute_category", "i"),
              8: ("security_classification", "i"), 10: ("is_historized", "b"),
              11: ("is_alarm", "b")}
_OBJECT = {1: ("gobject_id", "i"), 2: ("tag_name", "s"), 3: ("contained_name", "s"),
           4: ("browse_name", "s"), 5: ("hierarchical_name", "s"),
           6: ("parent_gobject_id", "i"), 7: ("is_area", "b"), 8: ("category_id", "i")}


def _fields(data: bytes, table: dict[int, tuple[str, str]],
            nested: dict[int, Any]) -> dict[str, Any]:
    """The scalar fields of one message by `table`; `nested` maps repeated field numbers
    to a list collector and a decoder of one element (None: strings)."""
    values: dict[str, Any] = {}
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        known = table.get(number)
        if known is not None:
            name, kind = known
            if kind == "s":
                if wire_type != 2:
                    raise _Unexpected(name)
                chunk, pos = _chunk(data, pos, end)
                values[name] = chunk.decode()
            else:
                if wire_type != 0:
                    raise _Unexpected(name)
                value, pos = _varint(data, pos)
                values[name] = _int32(value) if kind == "i" else value != 0
        elif number in nested:
            if wire_type != 2:
                raise _Unexpected(str(number))
            chunk, pos = _chunk(data, pos, end)
            items, decode = nested[number]
            items.append(chunk.decode() if decode is None else decode(chunk))
        else:
            pos = _skip(data, pos, wire_type)
    if pos != end:
        raise _Unexpected("truncated")
    return values


def _attribute(data: bytes) -> gr.GalaxyAttribute:
    return gr.GalaxyAttribute(**_fields(data, _ATTRIBUTE, {}))


def _object(data: bytes) -> gr.GalaxyObject:
    chain: list[str] = []
    attributes: list[gr.GalaxyAttribute] = []
    values = _fields(data, _OBJECT, {9: (chain, None), 10: (attributes, _attribute)})
    return gr.GalaxyObject(template_chain=chain, attributes=attributes, **values)


def _page(data: bytes, total_name: str) -> dict[str, Any]:
    objects: list[gr.GalaxyObject] = []
    values = _fields(data, {2: ("next_page_token", "s"), 3: (total_name, "i")},
                     {1: (objects, _object)})
    values["objects"] = objects
    return values


class FastDiscoverHierarchyReply:
    """A reply type for the codec: `parse` gives a `gr.DiscoverHierarchyReply`."""

    @classmethod
    def parse(cls, data: bytes) -> gr.DiscoverHierarchyReply:
        try:
            return gr.DiscoverHierarchyReply(**_page(data, "total_object_count"))
        except (_Unexpected, IndexError, UnicodeDecodeError):
            return gr.DiscoverHierarchyReply.parse(data)

    FromString = parse


class FastBrowseChildrenReply:
    """A reply type for the codec: `parse` gives a `gr.BrowseChildrenReply`."""

    @classmethod
    def parse(cls, data: bytes) -> gr.BrowseChildrenReply:
        try:
            return gr.BrowseChildrenReply(**_page(data, "total_child_count"))
        except (_Unexpected, IndexError, UnicodeDecodeError):
            return gr.BrowseChildrenReply.parse(data)

    FromString = parse
