"""Variant contracts (compiled once per run) and simulated gateways serving them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest

from mxgw import GatewayClient
from mxgw.sim import SimServer
from mxgw.sim.variant import ContractVariant

from ..conftest import TEST_KEY, sim_config
from ..variants import VARIANTS, compile_variant

EVENT = "mxaccess_gateway.v1.MxEvent"
Started = Callable[..., Awaitable[tuple[SimServer, GatewayClient]]]


@pytest.fixture(scope="session")
def variant_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each variant of tests/variants.py as a serialized FileDescriptorSet."""
    return {name: compile_variant(tmp_path_factory.mktemp(name), edits)
            for name, edits in VARIANTS.items()}


@pytest.fixture
async def start(variant_sets: dict[str, bytes]) -> AsyncIterator[Started]:
    """`sim, client = await start("extra-field", reflection=False)`: a simulated gateway
    serving that variant (None: our contract) and a client of it."""
    async with AsyncExitStack() as stack:

        async def open_(variant: str | None = None, *, reflection: bool = True
                        ) -> tuple[SimServer, GatewayClient]:
            config = sim_config()
            config.reflection = reflection
            if variant is not None:
                config.contract = ContractVariant.from_descriptor_set(variant_sets[variant])
            sim = await stack.enter_async_context(SimServer(config))
            client = await stack.enter_async_context(GatewayClient.connect(
                sim.endpoint, api_key=TEST_KEY, plaintext=True))
            return sim, client

        yield open_
