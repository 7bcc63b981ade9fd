"""Fixtures of the client tests: a session on the shared simulated gateway, and simulated
gateways of a test's own (other limits, other client options).

`sim` and `client` come from tests/conftest.py: the CLI and top-level tests use them too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from mxgw import GatewayClient, Session
from mxgw.sim import RuntimeConfig, SimServer

from ..conftest import TEST_KEY, sim_config

GatewayOpener = Callable[..., Awaitable[tuple[SimServer, Session]]]


@pytest.fixture
async def session(client: GatewayClient, request: pytest.FixtureRequest) -> AsyncIterator[Session]:
    """A session on `client`, named after the test module (`test_bulk` -> `bulk`)."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    async with await client.open_session(name) as s:
        yield s


@pytest.fixture
async def open_gateway() -> AsyncIterator[GatewayOpener]:
    """`sim, session = await open_gateway(runtime, **client_options)`: a simulated gateway
    of the test's own (TEST_KEY; `runtime` defaults to the `sim` fixture's) and a session on
    a client of it (`session.client`), all closed when the test ends."""
    async with AsyncExitStack() as stack:

        async def open_(runtime: RuntimeConfig | None = None,
                        **client_options: Any) -> tuple[SimServer, Session]:
            sim = await stack.enter_async_context(SimServer(sim_config(runtime)))
            client = await stack.enter_async_context(GatewayClient.connect(
                sim.endpoint, api_key=TEST_KEY, plaintext=True, **client_options))
            session = await stack.enter_async_context(await client.open_session())
            return sim, session

        yield open_
