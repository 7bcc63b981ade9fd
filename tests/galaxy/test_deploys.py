"""Deploys: last deploy time, TestConnection, WatchDeployEvents, redeploys and stale tokens."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest
from grpclib.events import RecvRequest, listen

from mxgw import DeployEvent, GalaxyRepositoryClient, InvalidArgumentError, gr
from mxgw.sim import SimServer
from mxgw.sim.galaxy.service import WATCH_BUFFER

from .conftest import Opener

Served = tuple[SimServer, GalaxyRepositoryClient]
WAIT = 5.0


async def next_event(events: object) -> DeployEvent:
    event: DeployEvent = await asyncio.wait_for(events.__anext__(), WAIT)  # type: ignore[attr-defined]
    return event


async def watchers_become(sim: SimServer, count: int) -> None:
    await asyncio.wait_for(sim.galaxy_service.wait_watchers(lambda n: n == count), WAIT)


async def test_last_deploy_time_is_aware_and_moves_on_redeploy(served: Served) -> None:
    sim, galaxy = served
    first = await galaxy.get_last_deploy_time()
    assert first is not None and first.utcoffset() == dt.timedelta(0)
    sim.redeploy()
    second = await galaxy.get_last_deploy_time()
    assert second is not None and second > first


async def test_test_connection_reports_a_database_failure_as_false(served: Served) -> None:
    sim, galaxy = served
    assert await galaxy.test_connection() is True
    sim.galaxy_service.database_online = False
    assert await galaxy.test_connection() is False
    sim.galaxy_service.database_online = True
    assert await galaxy.test_connection() is True


async def test_watch_opens_with_the_current_state(served: Served) -> None:
    _, galaxy = served
    events = galaxy.watch_deploy_events()
    try:
        event = await next_event(events)
        assert event.sequence == 1 and event.time_of_last_deploy_present
        assert event.time_of_last_deploy == await galaxy.get_last_deploy_time()
        assert event.object_count == 1000
        objects = await galaxy.discover_hierarchy()
        assert event.attribute_count == sum(len(o.attributes) for o in objects)
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def test_watch_skips_the_state_already_seen(served: Served) -> None:
    sim, galaxy = served
    seen = await galaxy.get_last_deploy_time()
    events = galaxy.watch_deploy_events(last_seen_deploy_time=seen)
    try:
        pending = asyncio.ensure_future(next_event(events))  # the stream opens on first use
        await watchers_become(sim, 1)
        sim.redeploy()
        event = await pending
        assert event.sequence == 2  # the first event is the redeploy, not the state seen
        assert event.time_of_last_deploy is not None and seen is not None
        assert event.time_of_last_deploy > seen
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def test_redeploy_changes_the_galaxy_and_tells_every_watcher(served: Served) -> None:
    sim, galaxy = served
    before = {o.gobject_id: o for o in await galaxy.discover_hierarchy(include_attributes=False)}
    watches = [galaxy.watch_deploy_events() for _ in range(2)]
    try:
        for events in watches:
            assert (await next_event(events)).sequence == 1
        sent = sim.redeploy(changes=5)
        after_list = await galaxy.discover_hierarchy()
        after = {o.gobject_id: o for o in after_list}
        for events in watches:
            event = await next_event(events)
            assert event.sequence == 2 == sent.sequence
            assert event.object_count == len(after)
            assert event.attribute_count == sum(len(o.attributes) for o in after_list)
            assert event.time_of_last_deploy == await galaxy.get_last_deploy_time()
        removed, added = before.keys() - after.keys(), after.keys() - before.keys()
        assert len({before[i].parent_gobject_id for i in removed} - before.keys()) == 0
        assert removed and added and min(added) > max(before)
        tags = {o.tag_name for o in after.values()}
        assert {f"TestMachine_{n:03d}" for n in range(1, 7)} | {"TestChildObject"} <= tags
        sim.redeploy()
        for events in watches:
            assert (await next_event(events)).sequence == 3
    finally:
        for events in watches:
            await events.aclose()  # type: ignore[attr-defined]


async def test_redeploy_on_a_timer(open_galaxy: Opener) -> None:
    _, galaxy = await open_galaxy(objects=300, redeploy_interval=0.05)
    events = galaxy.watch_deploy_events()
    try:
        sequences = [(await next_event(events)).sequence for _ in range(3)]
        assert sequences == sorted(set(sequences)) and sequences[-1] >= 3
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def test_stale_token_after_a_redeploy_is_invalid_argument(served: Served) -> None:
    sim, galaxy = served
    first = await galaxy.discover_hierarchy_page(gr.DiscoverHierarchyRequest(page_size=10))
    sim.redeploy()
    with pytest.raises(InvalidArgumentError, match="stale"):
        await galaxy.discover_hierarchy_page(gr.DiscoverHierarchyRequest(
            page_size=10, page_token=first.next_page_token))


async def test_iter_hierarchy_restarts_once_after_a_redeploy(served: Served) -> None:
    sim, galaxy = served
    delivered = []
    async for obj in galaxy.iter_hierarchy(page_size=100, include_attributes=False):
        delivered.append(obj.gobject_id)
        if len(delivered) == 150:  # inside the second page: the third token will be stale
            sim.redeploy(changes=5)
    requests = sim.galaxy_service.hierarchy_requests
    now = {o.gobject_id for o in await galaxy.discover_hierarchy(include_attributes=False,
                                                                 page_size=5000)}
    assert len(delivered) == len(set(delivered)), "nothing delivered twice"
    assert now <= set(delivered), "every object of the new deploy delivered"
    # Two pages, the refused third, then every page of the new deploy.
    assert requests == 2 + 1 + -(-len(now) // 100)


def redeploy_before_pages(sim: SimServer, every: bool) -> None:
    """Redeploy just before every odd-numbered DiscoverHierarchy request (0-based) is
    served (or only the first of them): with two pages a listing, that is before every
    second page, whose token then is stale."""
    state = {"done": False}

    async def hook(event: RecvRequest) -> None:
        if event.method_name.endswith("/DiscoverHierarchy") and (every or not state["done"]):
            if sim.galaxy_service.hierarchy_requests % 2 == 1:
                state["done"] = True
                sim.redeploy()

    listen(sim._server, RecvRequest, hook)


async def test_discover_hierarchy_restarts_once_and_returns_one_deploy(served: Served) -> None:
    sim, galaxy = served
    redeploy_before_pages(sim, every=False)
    objects = await galaxy.discover_hierarchy(page_size=400, include_attributes=False)
    assert sim.galaxy.version == 2
    fresh = await galaxy.discover_hierarchy(page_size=5000, include_attributes=False)
    assert [o.gobject_id for o in objects] == [o.gobject_id for o in fresh]


async def test_paging_gives_up_after_a_second_stale_token(served: Served) -> None:
    sim, galaxy = served
    redeploy_before_pages(sim, every=True)
    with pytest.raises(InvalidArgumentError):
        await galaxy.discover_hierarchy(page_size=400, include_attributes=False)
    with pytest.raises(InvalidArgumentError):
        async for _ in galaxy.iter_hierarchy(page_size=400, include_attributes=False):
            pass


async def test_break_closes_the_watch_at_once(served: Served) -> None:
    sim, galaxy = served
    async for event in galaxy.watch_deploy_events():
        assert sim.galaxy_service.active_watchers == 1
        assert event.sequence == 1
        break
    await watchers_become(sim, 0)


async def test_aclose_closes_the_watch_at_once(served: Served) -> None:
    sim, galaxy = served
    events = galaxy.watch_deploy_events()
    await next_event(events)
    assert sim.galaxy_service.active_watchers == 1
    await events.aclose()  # type: ignore[attr-defined]
    await watchers_become(sim, 0)


async def test_cancel_closes_the_watch_at_once(served: Served) -> None:
    sim, galaxy = served
    received = asyncio.Event()

    async def watch() -> None:
        async for _ in galaxy.watch_deploy_events():
            received.set()

    task = asyncio.create_task(watch())
    await asyncio.wait_for(received.wait(), WAIT)
    assert sim.galaxy_service.active_watchers == 1
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await watchers_become(sim, 0)
    assert await galaxy.test_connection()  # the connection is still usable


async def test_a_slow_watcher_sees_a_gap_and_the_latest_deploy(open_galaxy: Opener) -> None:
    sim, galaxy = await open_galaxy(objects=300)
    events = galaxy.watch_deploy_events()
    try:
        assert (await next_event(events)).sequence == 1
        for _ in range(100):  # no await: the watcher cannot take any of them meanwhile
            sim.redeploy(changes=1)
        buffer = WATCH_BUFFER
        received = [(await next_event(events)).sequence for _ in range(buffer)]
        assert received == list(range(101 - buffer + 1, 102)), "a gap, then the newest"
    finally:
        await events.aclose()  # type: ignore[attr-defined]
