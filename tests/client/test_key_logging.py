"""With every logger at DEBUG (hpack and h2 included), the API key appears in no log record."""

from __future__ import annotations

import logging

import pytest

from mxgw import GatewayClient
from mxgw.sim import SimConfig, SimServer

KEY = "mxgw_logs_DEBUGlevelSECRETvalue"


async def test_no_log_record_holds_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with SimServer(SimConfig(api_keys=[KEY])) as sim, GatewayClient.connect(
        sim.endpoint, api_key=KEY, plaintext=True
    ) as client:
        session = await client.open_session("logs")
        await session.register("logs")
        await session.close()
    messages = [record.getMessage() for record in caplog.records]
    assert any("hpack" in r.name for r in caplog.records), "hpack logged nothing: test is blind"
    assert not [m for m in messages if "SECRETvalue" in m]
    assert any("SENSITIVE_REDACTED" in m for m in messages)
