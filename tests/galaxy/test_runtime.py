"""What the Galaxy browse shows is what the gateway's runtime serves, through redeploys."""

from __future__ import annotations

import mxgw
from mxgw import GatewayClient, pb
from mxgw.sim import SimServer
from mxgw.sim.galaxy import GalaxyModel
from tests.conftest import TEST_KEY, first_data_change

from .conftest import Opener


async def first_value(client: GatewayClient, reference: str) -> pb.OnDataChangeEvent:
    """What an advise of `reference` reports first, in a session of its own."""
    async with await client.open_session() as session:
        server = await session.register("galaxy-tests")
        item = await session.add_item(server, reference)
        await session.advise(server, item)
        async with session.events() as events:
            change = (await first_data_change(events, item)).on_data_change
    assert change is not None
    return change


async def gateway(sim: SimServer) -> GatewayClient:
    return await GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True)


async def test_browsed_references_are_served_and_removed_ones_stop_resolving(
    open_galaxy: Opener,
) -> None:
    sim, galaxy = await open_galaxy(objects=400)
    pumps = await galaxy.discover_hierarchy(template_chain_contains="$Pump")
    speed = next(a for a in pumps[0].attributes if a.attribute_name == "Speed")
    client = await gateway(sim)
    try:
        change = await first_value(client, speed.full_tag_reference)
        assert change.quality == 192
        assert isinstance(mxgw.from_mx_value(change.value), float)
        before = {o.tag_name: o for o in await galaxy.discover_hierarchy()}
        for _ in range(10):  # redeploy until an object that was there is gone
            sim.redeploy(changes=3)
            after = await galaxy.discover_hierarchy()
            gone = before.keys() - {o.tag_name for o in after}
            if gone:
                break
        else:
            raise AssertionError("ten redeploys removed nothing")
        added = next(o for o in after if o.tag_name not in before)
        change = await first_value(client, added.attributes[0].full_tag_reference)
        assert change.quality == 192
        removed = before[sorted(gone)[0]].attributes[0].full_tag_reference
        change = await first_value(client, removed)
        assert change.quality == 0 and change.statuses[0].detail == 6  # InvalidReference
    finally:
        await client.close()


def test_every_object_is_found_by_its_exact_tag_and_id_only() -> None:
    model = GalaxyModel.default(3000, seed=4)
    model.redeploy(changes=30)
    for obj in model.iter_objects():
        assert model.find(obj.tag_name.upper()) == obj
        assert model.find_id(obj.gobject_id) == obj
    for tag in ("Pump_1", "TestMachine_1", "Pump_", "Pump_-1", "Plant_0", "Nope", "_00001"):
        assert model.find(tag) is None
    assert model.find_id(0) is None and model.find_id(-1) is None
