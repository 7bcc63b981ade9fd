"""Where the integration tests run: the gateway the upstream variables name when
MXGATEWAY_INTEGRATION=1, else a simulated gateway (so CI runs them on every change).

    MXGATEWAY_INTEGRATION=1            run against a real gateway
    MXGATEWAY_ENDPOINT=host:port       its address
    MXGATEWAY_API_KEY=...              a key with the scopes the tests use
    MXGATEWAY_TEST_ITEM=Tag.Attribute  the item to add, advise, read (and write)
    MXGATEWAY_PLAINTEXT=1              unencrypted; else TLS, with the system roots or
    MXGATEWAY_CA_FILE=ca.pem           these CA certificates, and
    MXGATEWAY_SERVER_NAME_OVERRIDE=n   this name checked in the certificate
    MXGATEWAY_TEST_WRITE=1             allow the write test (to the test item only)

Without the first three the tests are skipped, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from mxgw import ClientOptions, GatewayClient
from mxgw.sim import SimServer

from ..conftest import TEST_KEY, sim_config

LIVE = os.environ.get("MXGATEWAY_INTEGRATION", "").strip() == "1"
REQUIRED = ("MXGATEWAY_ENDPOINT", "MXGATEWAY_API_KEY", "MXGATEWAY_TEST_ITEM")
SIM_ITEM = "TestMachine_001.TestChangingInt"


@dataclass(frozen=True)
class Target:
    """The gateway the integration tests run against."""

    options: ClientOptions
    item: str
    """MXGATEWAY_TEST_ITEM: the one item the tests add, advise, read and may write."""
    live: bool
    """A real gateway (MXGATEWAY_INTEGRATION=1), not the simulator."""
    may_write: bool
    """Writes to the test item are allowed (MXGATEWAY_TEST_WRITE=1; always on the simulator)."""

    @property
    def patience(self) -> float:
        """Seconds to wait for an event: a real gateway's item may change slowly."""
        return 60.0 if self.live else 10.0


def _env(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def live_target() -> Target | str:
    """The real gateway the environment names, or why the tests cannot run against it."""
    missing = [name for name in REQUIRED if _env(name) is None]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        return f"MXGATEWAY_INTEGRATION=1 but {', '.join(missing)} {verb} not set"
    # The library reads the connection variables as the CLI does (flags aside).
    return Target(ClientOptions.from_env(), str(_env("MXGATEWAY_TEST_ITEM")), live=True,
                  may_write=_env("MXGATEWAY_TEST_WRITE") == "1")


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    if LIVE:
        found = live_target()
        if isinstance(found, str):
            pytest.skip(found)
        yield found
        return
    async with SimServer(sim_config()) as sim:
        yield Target(ClientOptions(sim.endpoint, api_key=TEST_KEY, plaintext=True), SIM_ITEM,
                     live=False, may_write=True)


@pytest.fixture
async def gateway(target: Target) -> AsyncIterator[GatewayClient]:
    async with GatewayClient.connect(options=target.options) as client:
        yield client
