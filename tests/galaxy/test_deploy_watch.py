"""The deploy watch across dropped connections, GOAWAY and a restarted gateway: every
deploy told once (live, or as the one synthetic state found on reconnecting), never twice."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from typing import Any

import pytest

from mxgw import ConnectError, DeployChange, DeployWatch, GalaxyRepositoryClient
from mxgw.durable import DurableState
from mxgw.sim import SimConfig, SimServer

from ..conftest import TEST_KEY, eventually
from .conftest import Opener

WAIT = 10.0
QUICK: dict[str, Any] = {"backoff": 0.02, "max_backoff": 0.2}
"""Small backoffs: a test's outage is over in milliseconds."""


class Watcher:
    """Reads a deploy watch in a task, keeping every change in order."""

    def __init__(self, watch: DeployWatch) -> None:
        self.watch = watch
        self.received: list[DeployChange] = []
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async for change in self.watch:
            self.received.append(change)

    async def until(self, count: int) -> None:
        """Wait until `count` changes arrived; the reader's own failure is raised."""
        await eventually(lambda: len(self.received) >= count or self.task.done(), WAIT)
        if len(self.received) < count:
            self.task.result()
            raise AssertionError(f"the watch ended after {self.received}")

    async def reconnected(self, sim: SimServer, times: int) -> None:
        await eventually(lambda: self.watch.reconnects >= times or self.task.done(), WAIT)
        assert not self.task.done(), self.task.result()
        assert self.watch.state is DurableState.CONNECTED
        assert sim.galaxy_service.active_watchers == 1

    def seen(self) -> list[tuple[int, bool]]:
        return [(c.event.sequence, c.synthetic) for c in self.received]

    async def stop(self) -> None:
        await self.watch.aclose()  # from this task, while the reader waits
        await asyncio.wait_for(self.task, WAIT)


async def cut(sim: SimServer, how: str) -> None:
    if how == "drop":
        assert await sim.drop_connections() >= 1
    else:
        assert await sim.send_goaway() >= 1
    # the gateway saw the watch go: a deploy now is one it cannot send
    await asyncio.wait_for(sim.galaxy_service.wait_watchers(lambda n: n == 0), WAIT)


@pytest.mark.parametrize("how", ["drop", "goaway"])
async def test_a_cut_watch_tells_what_was_deployed_meanwhile_once_and_marked(
        open_galaxy: Opener, how: str, caplog: pytest.LogCaptureFixture) -> None:
    sim, galaxy = await open_galaxy(objects=200)
    caplog.set_level(logging.DEBUG, logger="mxgw")
    watcher = Watcher(galaxy.deploy_watch(**QUICK))
    await watcher.until(1)
    assert watcher.watch.last_event_at is not None and watcher.watch.reconnects == 0

    await cut(sim, how)
    sim.redeploy()
    latest = sim.redeploy(changes=3)  # two deploys while away: the latest state tells both
    await watcher.until(2)
    await watcher.reconnected(sim, 1)
    sim.redeploy()  # live again
    await watcher.until(3)

    await cut(sim, how)  # and back, with nothing deployed meanwhile: nothing to tell
    await watcher.reconnected(sim, 2)
    sim.redeploy()
    await watcher.until(4)
    await watcher.stop()

    assert watcher.seen() == [(1, False), (3, True), (4, False), (5, False)]
    assert watcher.received[1].event == latest
    assert watcher.received[1].time_of_last_deploy == latest.time_of_last_deploy
    assert watcher.watch.state is DurableState.CLOSED and watcher.watch.reconnects == 2
    records = [r for r in caplog.records if r.name == "mxgw.galaxy"]
    assert sum("reconnecting" in r.getMessage() and r.levelno == logging.WARNING
               for r in records) == 2
    assert any("deployed while away: #3" in r.getMessage() for r in records)
    assert all(TEST_KEY not in r.getMessage() for r in caplog.records)


async def test_a_storm_of_cuts_and_deploys_loses_and_repeats_nothing(
        open_galaxy: Opener) -> None:
    """Deploys live and while away, cut by drops and GOAWAYs in a random order: each
    live deploy arrives once, each outage with deploys in it gives one synthetic change
    (the latest), an outage without none, and the watch ends on the gateway's state."""
    sim, galaxy = await open_galaxy(objects=200)
    rng = random.Random(11)
    watcher = Watcher(galaxy.deploy_watch(**QUICK))
    await watcher.until(1)
    expected = [(1, False)]
    for round_ in range(1, 13):
        for _ in range(rng.randrange(3)):
            expected.append((sim.redeploy(changes=1).sequence, False))
        await watcher.until(len(expected))
        await cut(sim, rng.choice(["drop", "goaway"]))
        away = [sim.redeploy(changes=1).sequence for _ in range(rng.randrange(3))]
        if away:
            expected.append((away[-1], True))
            await watcher.until(len(expected))
        await watcher.reconnected(sim, round_)
    await watcher.stop()
    assert watcher.seen() == expected
    assert watcher.received[-1].time_of_last_deploy == await galaxy.get_last_deploy_time()


async def test_the_watch_follows_a_gateway_restarted_on_the_same_port() -> None:
    """A restarted gateway numbers deploys from 1 again: the state it has is told once if
    it differs from the last one seen (here: it does, the old gateway had redeployed)."""
    config = SimConfig(api_keys=[TEST_KEY], galaxy_objects=200)
    first = await SimServer(config).start()
    port = int(first.endpoint.rsplit(":", 1)[1])
    async with GalaxyRepositoryClient.connect(first.endpoint, api_key=TEST_KEY,
                                              plaintext=True) as galaxy:
        watcher = Watcher(galaxy.deploy_watch(**QUICK))
        try:
            await watcher.until(1)
            first.redeploy()
            await watcher.until(2)
            await first.stop()
            await first.drop_connections()
            await eventually(lambda: watcher.watch.state is DurableState.RECONNECTING, WAIT)
            second = await SimServer(SimConfig(api_keys=[TEST_KEY], galaxy_objects=200,
                                               port=port)).start()
            try:
                await watcher.until(3)
                await watcher.reconnected(second, 1)
                second.redeploy()
                await watcher.until(4)
                await watcher.stop()
            finally:
                await second.stop()
                await second.drop_connections()
        finally:
            await watcher.watch.aclose()
    assert watcher.seen() == [(1, False), (2, False), (1, True), (2, False)]


async def test_the_first_open_is_not_retried() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        endpoint = f"127.0.0.1:{free.getsockname()[1]}"
    async with GalaxyRepositoryClient.connect(endpoint, api_key=TEST_KEY, plaintext=True,
                                              eager=False) as galaxy:
        watch = galaxy.deploy_watch(**QUICK)
        with pytest.raises(ConnectError):
            await asyncio.wait_for(watch.__anext__(), WAIT)
        assert watch.closed and watch.state is DurableState.CLOSED and watch.reconnects == 0


async def test_the_watch_gives_up_after_max_attempts_with_the_last_failure(
        open_galaxy: Opener) -> None:
    sim, galaxy = await open_galaxy(objects=200)
    watch = galaxy.deploy_watch(max_attempts=3, **QUICK)
    await asyncio.wait_for(watch.__anext__(), WAIT)
    await sim.stop()
    await sim.drop_connections()
    with pytest.raises(ConnectError):
        await asyncio.wait_for(watch.__anext__(), WAIT)
    assert watch.closed and watch.reconnects == 0


async def test_closing_the_client_ends_the_watch_quietly(open_galaxy: Opener) -> None:
    _, galaxy = await open_galaxy(objects=200)
    watcher = Watcher(galaxy.deploy_watch(**QUICK))
    await watcher.until(1)
    await galaxy.close()
    await asyncio.wait_for(watcher.task, WAIT)  # ends, raises nothing
    assert watcher.watch.closed and watcher.watch.reconnects == 0
    await watcher.watch.aclose()  # and closing it again is harmless


async def test_a_last_seen_state_is_not_told_again(open_galaxy: Opener) -> None:
    sim, galaxy = await open_galaxy(objects=200)
    seen = await galaxy.get_last_deploy_time()
    async with galaxy.deploy_watch(seen, **QUICK) as watch:
        pending = asyncio.ensure_future(watch.__anext__())
        await asyncio.wait_for(sim.galaxy_service.wait_watchers(lambda n: n == 1), WAIT)
        sim.redeploy()
        change = await asyncio.wait_for(pending, WAIT)
    assert (change.event.sequence, change.synthetic) == (2, False)
