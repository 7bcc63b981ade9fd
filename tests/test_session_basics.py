"""The library's vertical slice against the simulated gateway over loopback."""

from __future__ import annotations

import pytest

import mxgw
from mxgw import GatewayClient, pb
from mxgw.sim import SimConfig, SimServer

from .conftest import TEST_KEY, first_data_change


async def test_register_add_advise_and_receive_a_good_data_change(client: GatewayClient) -> None:
    async with await client.open_session("slice") as session:
        assert session.open_reply is not None
        assert session.open_reply.gateway_protocol_version == 3
        server_handle = await session.register("slice")
        item_handle = await session.add_item(server_handle, "TestMachine_002.TestChangingInt")
        assert server_handle > 0 and item_handle > 0
        await session.advise(server_handle, item_handle)
        async with session.events() as events:
            event = await first_data_change(events, item_handle)
        assert event.on_data_change is not None
        assert event.on_data_change.quality == 192
        assert isinstance(mxgw.from_mx_value(event.on_data_change.value), int)
        assert event.worker_sequence == 1
    assert session.close_reply is not None
    assert session.close_reply.final_state == pb.SessionState.CLOSED


async def test_unknown_reference_is_added_and_fails_in_its_data_change(
    client: GatewayClient,
) -> None:
    async with await client.open_session() as session:
        server_handle = await session.register("c")
        item_handle = await session.add_item(server_handle, "NoSuchObject.Nothing")
        await session.advise(server_handle, item_handle)
        async with session.events() as events:
            event = await first_data_change(events, item_handle)
    assert event.on_data_change is not None
    assert event.on_data_change.quality == 0
    status = event.on_data_change.statuses[0]
    assert status.category == pb.MxStatusCategory.CONFIGURATION_ERROR
    assert status.detail == 6


async def test_write_before_the_first_data_change_raises_mxaccess_error(
    client: GatewayClient,
) -> None:
    async with await client.open_session() as session:
        server_handle = await session.register("c")
        item_handle = await session.add_item(server_handle, "TestMachine_001.TestInt")
        with pytest.raises(mxgw.MxAccessError) as caught:
            await session.write(server_handle, item_handle, 5)
        assert caught.value.hresult == -2147024809
        raw = await session.invoke_raw(pb.MxCommand(
            kind=pb.MxCommandKind.WRITE,
            write_command=pb.WriteCommand(server_handle=server_handle, item_handle=item_handle,
                                          value=mxgw.to_mx_value(5))))
        assert raw.protocol_status is not None
        assert raw.protocol_status.code == pb.ProtocolStatusCode.MXACCESS_FAILURE


async def test_unknown_session_raises_session_not_found(client: GatewayClient) -> None:
    with pytest.raises(mxgw.SessionNotFoundError):
        await client.session("session-" + "0" * 32).register("x")


async def test_missing_and_wrong_keys_are_unauthenticated_and_never_echoed(
    sim: SimServer,
) -> None:
    async with GatewayClient.connect(sim.endpoint, plaintext=True) as anonymous:
        with pytest.raises(mxgw.UnauthenticatedError):
            await anonymous.open_session()
    wrong = "mxgw_test_wrongSECRETvalue"
    async with GatewayClient.connect(sim.endpoint, api_key=wrong, plaintext=True) as bad:
        assert wrong not in repr(bad) and wrong not in repr(bad.options)
        with pytest.raises(mxgw.UnauthenticatedError) as caught:
            await bad.open_session()
        assert wrong not in str(caught.value) and wrong not in repr(caught.value)


async def test_a_key_without_the_scope_is_permission_denied() -> None:
    key = "mxgw_ro_readOnlySecretValue"
    config = SimConfig(api_keys=[f"{key}=session:open,session:close,invoke:read"])
    async with SimServer(config) as server, GatewayClient.connect(
        server.endpoint, api_key=key, plaintext=True
    ) as c, await c.open_session() as session:
        handle = await session.register("ro")
        item = await session.add_item(handle, "TestMachine_001.TestInt")
        with pytest.raises(mxgw.PermissionDeniedError):
            await session.write(handle, item, 1)
        with pytest.raises(mxgw.PermissionDeniedError):
            async with session.events() as events:
                await events.__anext__()


async def test_refused_connection_is_a_typed_connect_error() -> None:
    with pytest.raises(mxgw.ConnectError) as caught:
        await GatewayClient.connect("127.0.0.1:1", api_key=TEST_KEY, plaintext=True)
    assert "127.0.0.1:1" in str(caught.value)


def test_tls_is_the_default_and_the_key_never_shows() -> None:
    options = mxgw.ClientOptions("gw.example:5001", api_key=TEST_KEY)
    assert options.plaintext is False
    assert TEST_KEY not in repr(options) and TEST_KEY not in str(options)
    assert TEST_KEY not in f"{options.api_key}"
