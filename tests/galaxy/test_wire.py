"""The simulator's hand-made encoding of Galaxy objects equals the generated code's."""

from __future__ import annotations

from mxgw import gr
from mxgw.sim.galaxy import DATA_TYPE_NAMES, GalaxyModel
from mxgw.sim.galaxy.encoding import encode_object, encode_reply
from mxgw.sim.galaxy.templates import SHAPES


def reference(model: GalaxyModel, pos: int, attributes: bool) -> bytes:
    obj = model.snapshot.object_at(pos)
    return bytes(gr.GalaxyObject(
        gobject_id=obj.gobject_id, tag_name=obj.tag_name, contained_name=obj.contained_name,
        browse_name=obj.contained_name, hierarchical_name=obj.hierarchical_name,
        parent_gobject_id=obj.parent_gobject_id, is_area=obj.is_area,
        category_id=obj.category_id, template_chain=list(obj.template_chain),
        attributes=[gr.GalaxyAttribute(
            attribute_name=a.name,
            full_tag_reference=f"{obj.tag_name}.{a.name}{'[]' if a.is_array else ''}",
            mx_data_type=a.data_type, data_type_name=DATA_TYPE_NAMES[a.data_type],
            is_array=a.is_array, array_dimension=a.array_length, mx_attribute_category=2,
            security_classification=a.security, is_historized=a.historized, is_alarm=a.alarm)
            for a in (obj.attributes if attributes else ())]))


def test_every_template_encodes_like_the_generated_code() -> None:
    model = GalaxyModel.default(3000, seed=1)
    snapshot = model.snapshot
    first_of_shape: dict[int, int] = {}
    for pos in range(len(snapshot)):
        first_of_shape.setdefault(snapshot.shapes[pos], pos)
    assert set(first_of_shape) == set(range(len(SHAPES)))
    for pos in first_of_shape.values():
        for attributes in (True, False):
            assert encode_object(snapshot, pos, attributes) == reference(model, pos, attributes)


def test_replies_encode_like_the_generated_code() -> None:
    model = GalaxyModel.default(50)
    objects = [encode_object(model.snapshot, pos, True) for pos in range(5)]
    reply = encode_reply(gr.DiscoverHierarchyReply, objects, "token", 50)
    parsed = gr.DiscoverHierarchyReply.parse(bytes(reply))
    assert bytes(parsed) == bytes(reply)
    assert parsed.next_page_token == "token" and parsed.total_object_count == 50
    assert [o.tag_name for o in parsed.objects] == [
        model.snapshot.tag(pos) for pos in range(5)]
    empty = gr.BrowseChildrenReply.parse(bytes(encode_reply(gr.BrowseChildrenReply, [], "", 0)))
    assert empty == gr.BrowseChildrenReply()
