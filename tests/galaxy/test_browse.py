"""BrowseChildren: paged children of an object, 0 for the top of the tree."""

from __future__ import annotations

import pytest

from mxgw import (
    GalaxyRepositoryClient,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    gr,
)
from mxgw.sim import SimServer
from tests.conftest import TEST_KEY

from .conftest import Opener

Served = tuple[SimServer, GalaxyRepositoryClient]


async def test_children_match_the_hierarchy(served: Served) -> None:
    _, galaxy = served
    everything = await galaxy.discover_hierarchy(include_attributes=False, page_size=5000)
    ids = {o.tag_name: o.gobject_id for o in everything}
    tops = await galaxy.browse_children()
    assert [o.tag_name for o in tops] == [o.tag_name for o in everything
                                          if o.parent_gobject_id == 0]
    plant = await galaxy.browse_children(ids["Plant"], include_attributes=False)
    assert [o.tag_name for o in plant] == (
        ["Platform_001", "AppEngine_001"] + [f"TestMachine_{n:03d}" for n in range(1, 7)])
    machine = await galaxy.browse_children(ids["TestMachine_001"])
    assert [(o.tag_name, len(o.attributes)) for o in machine] == [("TestChildObject", 1)]
    line = ids["Line_00002"]
    children = await galaxy.browse_children(line, page_size=7, include_attributes=False)
    assert [o.gobject_id for o in children] == [o.gobject_id for o in everything
                                                if o.parent_gobject_id == line]
    assert len(children) > 7 and galaxy.pages_fetched > 3


async def test_children_pages_carry_the_total(served: Served) -> None:
    _, galaxy = served
    reply = await galaxy.browse_children_page(gr.BrowseChildrenRequest(page_size=3))
    assert reply.total_child_count == 2 and len(reply.objects) == 2 and not reply.next_page_token


async def test_unknown_parent_is_not_found(served: Served) -> None:
    _, galaxy = served
    with pytest.raises(NotFoundError):
        await galaxy.browse_children(424242)


async def test_children_token_goes_stale_on_redeploy(served: Served) -> None:
    sim, galaxy = served
    line = next(o for o in await galaxy.discover_hierarchy(tag_name_glob="Line_00001"))
    request = gr.BrowseChildrenRequest(parent_gobject_id=line.gobject_id, page_size=5)
    first = await galaxy.browse_children_page(request)
    sim.redeploy()
    request.page_token = first.next_page_token
    with pytest.raises(InvalidArgumentError):
        await galaxy.browse_children_page(request)


async def test_every_call_needs_the_metadata_read_scope(open_galaxy: Opener) -> None:
    sim, galaxy = await open_galaxy(objects=10, api_keys=[f"{TEST_KEY}=session:open"])
    with pytest.raises(PermissionDeniedError, match="metadata:read"):
        await galaxy.test_connection()
    with pytest.raises(PermissionDeniedError):
        await galaxy.discover_hierarchy()
    with pytest.raises(PermissionDeniedError):
        await galaxy.browse_children()
    with pytest.raises(PermissionDeniedError):
        async for _ in galaxy.watch_deploy_events():
            pass
    assert sim.galaxy_service.hierarchy_requests == 0
