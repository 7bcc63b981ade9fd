"""check_contract against the simulator: nothing differs from our own contract, and each
kind of drift of a variant is named exactly, with reflection and without."""

from __future__ import annotations

import pytest

from mxgw import ConfigurationError, GatewayClient, PermissionDeniedError, UnimplementedError
from mxgw.contract.drift import Observation
from mxgw.contract.schema_diff import Difference
from mxgw.contract_check import check_contract
from mxgw.reflection import ReflectionClient
from mxgw.sim import SimServer

from ..conftest import TEST_KEY, sim_config
from .conftest import EVENT, Started

ITEM = "TestMachine_001.TestChangingInt"
GATEWAY = "mxaccess_gateway.v1"

EXPECTED: dict[str, tuple[Difference, Observation]] = {
    "extra-field": (
        Difference("field-extra", f"{EVENT}.site_name", None, "string site_name = 40"),
        Observation("unknown-field", EVENT, 40, "length-delimited", None, None, "'variant'")),
    "renumbered": (
        Difference("field-number", f"{EVENT}.worker_sequence", "2", "41"),
        Observation("unknown-field", EVENT, 41, "varint", None, None, "1")),
    "extra-enum-value": (
        Difference("value-extra", f"{GATEWAY}.MxEventFamily.MX_EVENT_FAMILY_ON_HEARTBEAT",
                   None, "MX_EVENT_FAMILY_ON_HEARTBEAT = 6"),
        Observation("enum-value", EVENT, 3, "varint", "family", "MxEventFamily", "6")),
    "retyped": (
        Difference("field-type", f"{EVENT}.server_handle", "int32", "string"),
        Observation("wire-type", EVENT, 4, "length-delimited", "server_handle",
                    "int32 (varint)", "'variant'")),
}


async def test_our_simulator_matches_our_contract(start: Started) -> None:
    _, client = await start()
    report = await check_contract(client, item=ITEM, max_events=1, allow_write=ITEM)
    assert not report.differs and not report.failures, report.to_dict()
    assert report.reflection == "v1"
    assert "mxaccess_gateway.proto" in report.files
    assert report.wrote
    assert [c.rpc for c in report.calls] == [
        "OpenSession", "Invoke Register", "Invoke AddItem", "Invoke Advise", "StreamEvents",
        "Invoke ReadBulk", "Invoke Write", "CloseSession",
        "TestConnection", "GetLastDeployTime", "DiscoverHierarchy", "BrowseChildren",
        "WatchDeployEvents"]
    assert all(c.messages >= 1 for c in report.calls)
    events = next(c for c in report.calls if c.rpc == "StreamEvents")
    assert events.messages >= 2  # the data change, then the write's OnWriteComplete
    assert report.to_dict()["differs"] is False


@pytest.mark.parametrize("reflection", [True, False], ids=["reflection", "wire-only"])
@pytest.mark.parametrize("variant", sorted(EXPECTED))
async def test_each_kind_of_drift_is_named(start: Started, variant: str,
                                           reflection: bool) -> None:
    _, client = await start(variant, reflection=reflection)
    report = await check_contract(client, item=ITEM, max_events=1)
    difference, observation = EXPECTED[variant]
    assert report.differs
    assert not report.failures
    if reflection:
        assert report.reflection == "v1"
        assert report.differences == [difference]
    else:
        assert report.reflection == "not served"
        assert report.differences == []
    (seen,) = report.observations
    assert seen.count >= 1
    seen.count = 0
    assert seen == observation


async def test_writes_only_to_the_test_item(start: Started) -> None:
    _, client = await start()
    with pytest.raises(ConfigurationError, match="only to the test item"):
        await check_contract(client, item=ITEM, allow_write="TestMachine_001.Other")
    report = await check_contract(client, item=ITEM, max_events=1, reflection=False)
    assert not report.wrote and "Invoke Write" not in [c.rpc for c in report.calls]


async def test_reflection_can_be_required(start: Started) -> None:
    _, client = await start(reflection=False)
    assert await ReflectionClient.on(client).fetch() is None
    with pytest.raises(UnimplementedError, match="no gRPC server reflection"):
        await check_contract(client, item=ITEM, require_reflection=True)
    report = await check_contract(client, item=ITEM, wire=False)
    assert report.reflection == "not served" and not report.wire and not report.differs


async def test_failing_calls_are_recorded_and_the_check_goes_on() -> None:
    """A key without `metadata:read`: the Galaxy reads fail (and are recorded), the rest runs."""
    config = sim_config()
    config.api_keys = [f"{TEST_KEY}=session:open,session:close,invoke:read,events:read"]
    async with SimServer(config) as sim, GatewayClient.connect(
            sim.endpoint, api_key=TEST_KEY, plaintext=True) as client:
        report = await check_contract(client, item=ITEM, max_events=1, reflection=False)
    failed = {c.rpc: c.failure for c in report.calls if c.failure is not None}
    assert set(failed) == {"TestConnection", "GetLastDeployTime", "DiscoverHierarchy",
                           "BrowseChildren", "WatchDeployEvents"}
    assert all(isinstance(f, PermissionDeniedError) for f in failed.values())
    assert not report.differs
    assert report.to_dict()["wire"]["calls"][-1]["error"]["code"] == "PERMISSION_DENIED"
