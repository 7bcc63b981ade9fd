"""The client's metadata-driven parser (mxgw.contract.codec) decodes Galaxy pages exactly as the
generated parser does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mxgw import gr
from mxgw.contract.codec import parse
from mxgw.sim.galaxy.encoding import varint

INT32 = st.integers(-(2**31), 2**31 - 1)
TEXT = st.text(max_size=12)

attributes = st.builds(
    gr.GalaxyAttribute, attribute_name=TEXT, full_tag_reference=TEXT, mx_data_type=INT32,
    data_type_name=TEXT, is_array=st.booleans(), array_dimension=INT32,
    mx_attribute_category=INT32, security_classification=INT32, is_historized=st.booleans(),
    is_alarm=st.booleans())
objects = st.builds(
    gr.GalaxyObject, gobject_id=INT32, tag_name=TEXT, contained_name=TEXT, browse_name=TEXT,
    hierarchical_name=TEXT, parent_gobject_id=INT32, is_area=st.booleans(),
    category_id=INT32, template_chain=st.lists(TEXT, max_size=3),
    attributes=st.lists(attributes, max_size=3))


@settings(max_examples=200, deadline=None)
@given(st.lists(objects, max_size=4), TEXT, INT32)
def test_pages_decode_like_the_generated_parser(
    items: list[gr.GalaxyObject], token: str, total: int
) -> None:
    data = bytes(gr.DiscoverHierarchyReply(objects=items, next_page_token=token,
                                           total_object_count=total))
    fast = parse(gr.DiscoverHierarchyReply, data)
    assert type(fast) is gr.DiscoverHierarchyReply
    assert fast == gr.DiscoverHierarchyReply.parse(data)
    children = bytes(gr.BrowseChildrenReply(objects=items, next_page_token=token,
                                            total_child_count=total))
    assert parse(gr.BrowseChildrenReply, children) == gr.BrowseChildrenReply.parse(children)


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    return varint(number << 3 | wire_type) + payload


def test_unknown_fields_and_odd_wire_types_are_kept() -> None:
    attribute = gr.GalaxyAttribute(attribute_name="Speed", mx_data_type=4)
    obj = gr.GalaxyObject(gobject_id=7, tag_name="Pump_001", attributes=[attribute])
    data = bytes(gr.DiscoverHierarchyReply(objects=[obj], total_object_count=1))
    unknown = (_field(99, 0, varint(5)) + _field(98, 5, b"\x01\x02\x03\x04")
               + _field(97, 1, bytes(8)) + _field(96, 2, varint(2) + b"AB"))
    fast = parse(gr.DiscoverHierarchyReply, data + unknown)
    assert fast.objects == [obj] and fast.total_object_count == 1
    assert bytes(fast) == data + unknown
    # A known field with another wire type than ours: kept as it came, not misread.
    odd = data + _field(3, 2, varint(1) + b"\x05")
    kept = parse(gr.DiscoverHierarchyReply, odd)
    assert kept.objects == [obj] and kept.total_object_count == 1
    assert bytes(kept) == odd
