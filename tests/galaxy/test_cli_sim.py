"""`mxgw sim --objects/--seed/--redeploy-every` serve the Galaxy they describe."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from mxgw import GalaxyRepositoryClient
from tests.conftest import ROOT, run_cli

WAIT = 30.0


async def test_sim_flags_shape_the_galaxy_and_redeploy_it() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "sim", "--port", "0", "--plaintext", "--json",
        "--objects", "700", "--seed", "9", "--redeploy-every", "0.2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=ROOT,
        env=dict(os.environ))
    try:
        assert process.stdout is not None
        hello = json.loads(await asyncio.wait_for(process.stdout.readline(), WAIT))
        async with GalaxyRepositoryClient.connect(hello["endpoint"], api_key=hello["apiKey"],
                                                  plaintext=True) as galaxy:
            events = galaxy.watch_deploy_events()
            try:
                first = await asyncio.wait_for(events.__anext__(), WAIT)
                second = await asyncio.wait_for(events.__anext__(), WAIT)
            finally:
                await events.aclose()  # type: ignore[attr-defined]
            assert second.sequence > first.sequence
            assert second.time_of_last_deploy is not None and first.time_of_last_deploy
            assert second.time_of_last_deploy > first.time_of_last_deploy
            tags = [o.tag_name for o in await galaxy.discover_hierarchy(
                include_attributes=False, max_depth=0)]
            assert tags == ["Plant", "Site_001"]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), WAIT)


def test_sim_refuses_bad_galaxy_flags() -> None:
    for flags in (["--objects", "-1"], ["--redeploy-every", "0"]):
        run = run_cli("sim", "--port", "0", "--plaintext", *flags)
        assert run.returncode == 2 and "--objects" in run.stderr
