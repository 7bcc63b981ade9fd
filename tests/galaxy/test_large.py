"""A 100,000-object Galaxy: lazy paging with one page in memory, filters at that size."""

from __future__ import annotations

import gc
import weakref

from mxgw import GalaxyObject

from .conftest import Opener

OBJECTS = 100_000
PAGE = 5000


async def test_iter_hierarchy_fetches_a_page_only_when_the_last_is_consumed(
    open_galaxy: Opener,
) -> None:
    sim, galaxy = await open_galaxy(objects=OBJECTS, seed=5)
    service = sim.galaxy_service
    objects = galaxy.iter_hierarchy(include_attributes=False, page_size=PAGE)
    assert service.hierarchy_requests == 0, "nothing is fetched before the first object"
    count, seen = 0, set()
    first: weakref.ref[GalaxyObject] | None = None
    async for obj in objects:
        count += 1
        seen.add(obj.gobject_id)
        # Page k is asked for exactly when its first object is: never ahead of the consumer.
        assert service.hierarchy_requests == galaxy.pages_fetched == -(-count // PAGE)
        if count == 1:
            first = weakref.ref(obj)
        elif count == PAGE + 1:
            gc.collect()
            assert first is not None and first() is None, "the first page was released"
    assert count == len(seen) == OBJECTS
    assert service.hierarchy_requests == OBJECTS // PAGE


async def test_filters_on_a_large_galaxy(open_galaxy: Opener) -> None:
    _, galaxy = await open_galaxy(objects=OBJECTS, seed=5)
    machines = await galaxy.discover_hierarchy(tag_name_glob="TestMachine_00?")
    assert sorted(o.tag_name for o in machines) == [f"TestMachine_{n:03d}" for n in range(1, 7)]
    sites = await galaxy.discover_hierarchy(max_depth=0, include_attributes=False)
    assert [o.tag_name for o in sites] == ["Plant"] + [f"Site_{n:03d}" for n in range(1, 6)]
    units = await galaxy.discover_hierarchy(root_tag_name="Site_005", max_depth=1,
                                            category_ids=[13], include_attributes=False)
    assert units[0].tag_name == "Site_005"
    assert all(o.is_area for o in units) and len(units) > 1
    child = await galaxy.discover_hierarchy(root_contained_path="Plant/TestMachine_001/TestChild")
    assert [a.full_tag_reference for o in child for a in o.attributes] == [
        "TestChildObject.TestInt"]
