"""The integration subset (`pytest -m integration`): what a deployment needs to work,
against a real gateway with MXGATEWAY_INTEGRATION=1 (see conftest.py), else the simulator."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from mxgw import GatewayClient, from_mx_value, gr, pb
from mxgw.contract.values import TYPES
from mxgw.contract_check import check_contract

from ..conftest import first_data_change
from .conftest import Target

pytestmark = pytest.mark.integration

CLIENT = "mxgw-integration"


async def test_open_and_close_a_session(gateway: GatewayClient) -> None:
    session = await gateway.open_session(CLIENT)
    assert session.id
    closed = await session.close()
    assert closed.protocol_status is not None
    assert closed.protocol_status.code == pb.ProtocolStatusCode.OK
    assert closed.final_state == pb.SessionState.CLOSED


async def test_register_add_advise_and_receive_data_changes(
        target: Target, gateway: GatewayClient) -> None:
    async with await gateway.open_session(CLIENT) as session:
        server = await session.register(CLIENT)
        item = await session.add_item(server, target.item)
        assert server > 0 and item > 0
        await session.advise(server, item)
        async with session.events() as events:
            change = await first_data_change(events, item, timeout=target.patience)
        assert change.on_data_change is not None and change.on_data_change.value is not None
        assert change.worker_sequence > 0


async def test_read_bulk_the_test_item(target: Target, gateway: GatewayClient) -> None:
    async with await gateway.open_session(CLIENT) as session:
        server = await session.register(CLIENT)
        (result,) = await session.read_bulk(server, [target.item], timeout_ms=5000)
    assert result.tag_address == target.item
    assert result.was_successful, result


async def test_browse_a_page_of_the_galaxy(gateway: GatewayClient) -> None:
    page = await gateway.galaxy().discover_hierarchy_page(
        gr.DiscoverHierarchyRequest(page_size=20))
    assert page.objects
    assert page.total_object_count >= len(page.objects)
    assert all(o.gobject_id and o.tag_name for o in page.objects)


async def test_last_deploy_time(gateway: GatewayClient) -> None:
    deployed = await gateway.galaxy().get_last_deploy_time()
    assert deployed is None or deployed.tzinfo is not None
    if deployed is not None:
        assert deployed <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)


async def test_a_write_is_confirmed_by_on_write_complete(
        target: Target, gateway: GatewayClient) -> None:
    if not target.may_write:
        pytest.skip("writing MXGATEWAY_TEST_ITEM needs MXGATEWAY_TEST_WRITE=1")
    async with await gateway.open_session(CLIENT) as session:
        server = await session.register(CLIENT)
        item = await session.add_item(server, target.item)
        await session.advise(server, item)
        async with session.events() as events:
            change = await first_data_change(events, item, timeout=target.patience)
            assert change.on_data_change is not None
            value = change.on_data_change.value
            kind = next(t for t in TYPES.values()
                        if value is not None and getattr(value, t.scalar_field) is not None)
            # The value it has, written back: the item ends as it was.
            await session.write(server, item, from_mx_value(value), type_name=kind.name)

            async def completion() -> pb.MxEvent:
                async for event in events:
                    if event.on_write_complete is not None and event.item_handle == item:
                        return event
                raise AssertionError("the event stream ended before OnWriteComplete")

            done = await asyncio.wait_for(completion(), target.patience)
    assert done.on_write_complete is not None


async def test_the_contract_check_finds_no_difference(
        target: Target, gateway: GatewayClient) -> None:
    """On a real gateway a failure here lists exactly where our protos/ are wrong."""
    report = await check_contract(gateway, item=target.item, max_events=1,
                                  event_seconds=target.patience, client_name=CLIENT)
    assert not report.failures, [str(f) for f in report.failures]
    assert not report.differs, ([d.text() for d in report.differences]
                                + [o.text() for o in report.observations])
