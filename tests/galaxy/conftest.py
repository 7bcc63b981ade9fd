"""Fixtures of the Galaxy Repository tests: simulated gateways with generated Galaxies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from mxgw import GalaxyRepositoryClient
from mxgw.sim import SimConfig, SimServer
from tests.conftest import TEST_KEY

Opener = Callable[..., Awaitable[tuple[SimServer, GalaxyRepositoryClient]]]


@pytest.fixture
async def open_galaxy() -> AsyncIterator[Opener]:
    """`await open_galaxy(objects=N, seed=S, **SimConfig fields)` -> (server, client);
    the client uses TEST_KEY (every scope unless `api_keys` says otherwise)."""
    async with AsyncExitStack() as stack:

        async def open_(objects: int = 1000, seed: int = 0,
                        **config: Any) -> tuple[SimServer, GalaxyRepositoryClient]:
            config.setdefault("api_keys", [TEST_KEY])
            sim = await stack.enter_async_context(SimServer(SimConfig(
                galaxy_objects=objects, seed=seed, **config)))
            client = await stack.enter_async_context(GalaxyRepositoryClient.connect(
                sim.endpoint, api_key=TEST_KEY, plaintext=True))
            return sim, client

        yield open_


@pytest.fixture
async def served(open_galaxy: Opener) -> tuple[SimServer, GalaxyRepositoryClient]:
    """A 1,000-object Galaxy and a client of it."""
    return await open_galaxy()
