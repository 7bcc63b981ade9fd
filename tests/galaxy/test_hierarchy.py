"""DiscoverHierarchy against the simulated Galaxy: content, every filter, paging, bad input."""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable
from typing import Any

import pytest

from mxgw import (
    ConfigurationError,
    GalaxyObject,
    GalaxyRepositoryClient,
    InvalidArgumentError,
    NotFoundError,
    gr,
)
from mxgw.sim import SimServer

from .conftest import Opener

Served = tuple[SimServer, GalaxyRepositoryClient]


def by_tag(objects: list[GalaxyObject]) -> dict[str, GalaxyObject]:
    return {o.tag_name: o for o in objects}


def subtree(objects: list[GalaxyObject], root_id: int) -> dict[int, int]:
    """gobject id -> depth below `root_id`, for the root and everything under it."""
    parent = {o.gobject_id: o.parent_gobject_id for o in objects}
    depths = {}
    for o in objects:
        node, depth = o.gobject_id, 0
        while node and node != root_id:
            node, depth = parent[node], depth + 1
        if node == root_id:
            depths[o.gobject_id] = depth
    return depths


def top_depth(objects: list[GalaxyObject]) -> dict[int, int]:
    parent = {o.gobject_id: o.parent_gobject_id for o in objects}
    depths = {}
    for o in objects:
        node, depth = o.parent_gobject_id, 0
        while node:
            node, depth = parent[node], depth + 1
        depths[o.gobject_id] = depth
    return depths


async def test_upstream_test_objects_are_present(served: Served) -> None:
    _, galaxy = served
    objects = by_tag(await galaxy.discover_hierarchy())
    for n in range(1, 7):
        machine = objects[f"TestMachine_{n:03d}"]
        attributes = {a.attribute_name: a for a in machine.attributes}
        changing = attributes["TestChangingInt"]
        assert changing.data_type_name == "Integer" and changing.mx_data_type == 2
        assert changing.full_tag_reference == f"TestMachine_{n:03d}.TestChangingInt"
        for name in ("TestInt", "TestDouble", "TestString", "SecuredSetpoint",
                     "VerifiedSetpoint", "ReadOnlyValue"):
            assert name in attributes
        assert attributes["TestIntArray"].full_tag_reference.endswith(".TestIntArray[]")
        assert attributes["TestIntArray"].is_array
    child = objects["TestChildObject"]
    assert child.parent_gobject_id == objects["TestMachine_001"].gobject_id
    assert child.contained_name == "TestChild"
    assert child.hierarchical_name == "TestMachine_001.TestChild"
    assert [a.full_tag_reference for a in child.attributes] == ["TestChildObject.TestInt"]


async def test_generated_galaxy_looks_like_a_plant(served: Served) -> None:
    sim, galaxy = served
    objects = await galaxy.discover_hierarchy()
    assert len(objects) == 1000 == len({o.gobject_id for o in objects})
    assert len({o.tag_name.lower() for o in objects}) == 1000
    ids = {o.gobject_id: o for o in objects}
    areas = [o for o in objects if o.is_area]
    assert all(o.category_id == 13 for o in areas)
    assert any(ids[o.parent_gobject_id].is_area for o in areas if o.parent_gobject_id)
    categories = {o.category_id for o in objects}
    assert {1, 3, 10, 13} <= categories
    templates = {t for o in objects for t in o.template_chain}
    assert {"$Pump", "$Valve", "$Tank", "$Motor", "$Area", "$AppEngine"} <= templates
    generated = [o for o in objects if o.category_id == 10 and "Test" not in o.tag_name]
    assert all(5 <= len(o.attributes) <= 50 for o in generated)
    attributes = [a for o in objects for a in o.attributes]
    assert {a.security_classification for a in attributes} >= set(range(7))
    assert any(a.is_historized for a in attributes) and any(a.is_alarm for a in attributes)
    assert any(a.is_array and a.array_dimension > 0 for a in attributes)
    assert {a.data_type_name for a in attributes} >= {"Boolean", "Integer", "Float", "Double",
                                                      "String", "Time", "ElapsedTime"}
    contained = [o for o in objects if o.contained_name != o.tag_name and "Valve" in o.tag_name]
    assert contained, "tanks contain valves"
    for valve in contained:
        tank = ids[valve.parent_gobject_id]
        assert valve.hierarchical_name == f"{tank.tag_name}.{valve.contained_name}"
    deploy = sim.galaxy_service.deploy_event()
    assert deploy.object_count == 1000 and deploy.attribute_count == len(attributes)


async def test_same_seed_same_galaxy_other_seed_other_galaxy(open_galaxy: Opener) -> None:
    _, first = await open_galaxy(objects=500, seed=11)
    _, again = await open_galaxy(objects=500, seed=11)
    _, other = await open_galaxy(objects=500, seed=12)
    a, b, c = [await g.discover_hierarchy() for g in (first, again, other)]
    assert a == b
    assert [o.template_chain for o in a] != [o.template_chain for o in c]


async def test_small_galaxy_holds_only_the_test_objects(open_galaxy: Opener) -> None:
    _, galaxy = await open_galaxy(objects=0)
    tags = [o.tag_name for o in await galaxy.discover_hierarchy()]
    assert sorted(tags) == sorted(["Plant", "Platform_001", "AppEngine_001", "TestChildObject"]
                                  + [f"TestMachine_{n:03d}" for n in range(1, 7)])


async def test_pages_lose_and_repeat_nothing(served: Served) -> None:
    _, galaxy = served
    whole = await galaxy.discover_hierarchy(page_size=5000)
    request = gr.DiscoverHierarchyRequest(page_size=137)
    paged: list[GalaxyObject] = []
    pages = 0
    while True:
        reply = await galaxy.discover_hierarchy_page(request)
        pages += 1
        assert reply.total_object_count == len(whole)
        assert len(reply.objects) <= 137
        paged.extend(reply.objects)
        if not reply.next_page_token:
            break
        request.page_token = reply.next_page_token
    assert pages == -(-len(whole) // 137)
    assert [o.gobject_id for o in paged] == [o.gobject_id for o in whole]


async def test_iter_hierarchy_tells_the_total_of_the_matching_objects(served: Served) -> None:
    _, galaxy = served
    pumps = await galaxy.discover_hierarchy(template_chain_contains=["$Pump"])
    objects = galaxy.iter_hierarchy(template_chain_contains=["$Pump"], page_size=3)
    assert objects.total_object_count is None  # nothing asked for yet
    totals = [objects.total_object_count async for _ in objects]
    assert len(pumps) > 3 and totals == [len(pumps)] * len(pumps)


async def test_page_size_is_capped_and_defaulted(served: Served) -> None:
    _, galaxy = served
    huge = await galaxy.discover_hierarchy_page(
        gr.DiscoverHierarchyRequest(page_size=1_000_000, include_attributes=False))
    assert len(huge.objects) == 1000 and not huge.next_page_token  # capped at 5000
    default = await galaxy.discover_hierarchy_page(gr.DiscoverHierarchyRequest())
    assert 0 < len(default.objects) < 1000 and default.next_page_token


def _tag(objects: list[GalaxyObject], tag: str) -> GalaxyObject:
    return next(o for o in objects if o.tag_name == tag)


def _combined(objects: list[GalaxyObject], under: dict[int, int]) -> list[int]:
    return [o.gobject_id for o in objects
            if o.gobject_id in under and "$Pump" in o.template_chain and "1" in o.tag_name
            and any(a.is_alarm for a in o.attributes)]


FilterCase = tuple[dict[str, Any], Callable[[list[GalaxyObject], GalaxyObject], list[int]]]
# Expectations get every object and the root Line_00002; "ID:<tag>" is replaced by its id.

CASES: dict[str, FilterCase] = {
    "root id": ({"root_gobject_id": "ID:Line_00002"},
                lambda objs, root: list(subtree(objs, root.gobject_id))),
    "root tag (any case)": ({"root_tag_name": "line_00002"},
                            lambda objs, root: list(subtree(objs, root.gobject_id))),
    "root contained path": ({"root_contained_path": "Site_001/Unit_0001/Line_00002"},
                            lambda objs, root: list(subtree(objs, root.gobject_id))),
    "root and max_depth": ({"root_gobject_id": "ID:Line_00002", "max_depth": 1},
                           lambda objs, root: [i for i, d in subtree(objs, root.gobject_id).items()
                                               if d <= 1]),
    "contained path with dots": ({"root_contained_path": "Plant.TestMachine_001"},
                                 lambda objs, root: [_tag(objs, "TestMachine_001").gobject_id,
                                                     _tag(objs, "TestChildObject").gobject_id]),
    "max_depth 0": ({"max_depth": 0},
                    lambda objs, root: [i for i, d in top_depth(objs).items() if d == 0]),
    "categories": ({"category_ids": [1, 3]},
                   lambda objs, root: [o.gobject_id for o in objs if o.category_id in (1, 3)]),
    "template chain": ({"template_chain_contains": ["$valve"]},
                       lambda objs, root: [o.gobject_id for o in objs
                                           if "$Valve" in o.template_chain]),
    "tag glob": ({"tag_name_glob": "pump_00[0-1]*"},
                 lambda objs, root: [o.gobject_id for o in objs
                                     if fnmatch.fnmatch(o.tag_name.lower(), "pump_00[0-1]*")]),
    "alarm bearing": ({"alarm_bearing_only": True},
                      lambda objs, root: [o.gobject_id for o in objs
                                          if any(a.is_alarm for a in o.attributes)]),
    "historized": ({"historized_only": True},
                   lambda objs, root: [o.gobject_id for o in objs
                                       if any(a.is_historized for a in o.attributes)]),
    "combined": ({"root_tag_name": "Line_00002", "template_chain_contains": ["$Pump"],
                  "alarm_bearing_only": True, "tag_name_glob": "*1*"},
                 lambda objs, root: _combined(objs, subtree(objs, root.gobject_id))),
}


NEEDS_ATTRIBUTES = {"alarm bearing", "historized", "combined"}


@pytest.mark.parametrize("case", list(CASES))
async def test_filters(served: Served, case: str) -> None:
    _, galaxy = served
    attributes = case in NEEDS_ATTRIBUTES
    everything = await galaxy.discover_hierarchy(page_size=5000, include_attributes=attributes)
    root = _tag(everything, "Line_00002")
    filters, expected = CASES[case]
    filters = {k: _tag(everything, v[3:]).gobject_id if str(v).startswith("ID:") else v
               for k, v in filters.items()}
    want = expected(everything, root)
    assert want, f"the case {case!r} selects nothing: a useless test"
    assert len(want) < len(everything)
    got = await galaxy.discover_hierarchy(page_size=97, include_attributes=attributes,
                                          **filters)
    wanted = set(want)
    assert [o.gobject_id for o in got] == [o.gobject_id for o in everything
                                           if o.gobject_id in wanted]
    first = await galaxy.discover_hierarchy_page(gr.DiscoverHierarchyRequest(
        page_size=1, **{k: v for k, v in filters.items()}))
    assert first.total_object_count == len(want)


async def test_include_attributes_false_keeps_the_objects(served: Served) -> None:
    _, galaxy = served
    full = await galaxy.discover_hierarchy(template_chain_contains="$Tank")
    bare = await galaxy.discover_hierarchy(template_chain_contains="$Tank",
                                           include_attributes=False)
    assert [o.gobject_id for o in bare] == [o.gobject_id for o in full]
    assert all(o.attributes for o in full) and not any(o.attributes for o in bare)


async def test_unknown_root_is_not_found(served: Served) -> None:
    _, galaxy = served
    for filters in ({"root_tag_name": "NoSuchTag"}, {"root_gobject_id": 9_999_999},
                    {"root_contained_path": "Plant/NoSuchChild"}):
        with pytest.raises(NotFoundError):
            await galaxy.discover_hierarchy(**filters)


async def test_token_is_bound_to_the_filters(served: Served) -> None:
    _, galaxy = served
    first = await galaxy.discover_hierarchy_page(gr.DiscoverHierarchyRequest(
        page_size=10, template_chain_contains=["$Pump"]))
    assert first.next_page_token
    with pytest.raises(InvalidArgumentError, match="other filters"):
        await galaxy.discover_hierarchy_page(gr.DiscoverHierarchyRequest(
            page_size=10, template_chain_contains=["$Valve"], page_token=first.next_page_token))
    with pytest.raises(InvalidArgumentError, match="malformed"):
        await galaxy.discover_hierarchy_page(gr.DiscoverHierarchyRequest(page_token="garbage!"))
    # A different page size or include_attributes may continue the same listing.
    second = await galaxy.discover_hierarchy_page(gr.DiscoverHierarchyRequest(
        page_size=20, template_chain_contains=["$Pump"], page_token=first.next_page_token,
        include_attributes=False))
    assert second.objects[0].gobject_id != first.objects[-1].gobject_id


@pytest.mark.parametrize("bad", [
    {"root_gobject_id": 4, "root_tag_name": "TestMachine_001"},
    {"root_tag_name": "Plant", "root_contained_path": "Plant"},
    {"root_gobject_id": 0},
    {"root_tag_name": " "},
    {"page_size": -1},
    {"max_depth": -2},
    {"category_ids": [True]},
    {"category_ids": ["13"]},
    {"template_chain_contains": [""]},
    {"root_gobject_id": 2**31},
    {"tag_name_glob": 5},
])
async def test_bad_arguments_fail_before_sending(served: Served, bad: dict[str, Any]) -> None:
    sim, galaxy = served
    with pytest.raises(ConfigurationError):
        await galaxy.discover_hierarchy(**bad)
    with pytest.raises(ConfigurationError):
        galaxy.iter_hierarchy(**bad)
    assert sim.galaxy_service.hierarchy_requests == 0


async def test_other_bad_arguments(served: Served) -> None:
    sim, galaxy = served
    with pytest.raises(ConfigurationError, match="not both"):
        await galaxy.discover_hierarchy(gr.DiscoverHierarchyRequest(), max_depth=1)
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        galaxy.watch_deploy_events(last_seen_deploy_time=dt.datetime(2026, 1, 1))
    with pytest.raises(ConfigurationError):
        await galaxy.browse_children(-1)
    with pytest.raises(ConfigurationError):
        await galaxy.browse_children(page_size=-5)
    assert sim.galaxy_service.hierarchy_requests == 0
    assert sim.galaxy_service.active_watchers == 0


async def test_a_ready_request_is_not_changed(served: Served) -> None:
    _, galaxy = served
    request = gr.DiscoverHierarchyRequest(page_size=300, include_attributes=False)
    objects = await galaxy.discover_hierarchy(request)
    assert len(objects) == 1000
    assert request.page_token == "" and request.page_size == 300


async def test_pages_end_early_when_they_hold_many_attributes(served: Served) -> None:
    sim, galaxy = served
    whole = await galaxy.discover_hierarchy(page_size=5000, template_chain_contains="$Tank")
    sim.galaxy_service.max_page_attributes = 25  # a tank has 10 attributes
    request = gr.DiscoverHierarchyRequest(page_size=5000, template_chain_contains=["$Tank"])
    paged: list[GalaxyObject] = []
    while True:
        reply = await galaxy.discover_hierarchy_page(request)
        assert len(reply.objects) == 2 or not reply.next_page_token
        paged.extend(reply.objects)
        request.page_token = reply.next_page_token
        if not request.page_token:
            break
    assert paged == whole and len(whole) > 2
    bare = await galaxy.discover_hierarchy_page(gr.DiscoverHierarchyRequest(
        page_size=5000, template_chain_contains=["$Tank"], include_attributes=False))
    assert len(bare.objects) == len(whole), "no budget without attributes"
