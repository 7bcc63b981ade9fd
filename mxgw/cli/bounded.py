"""Running a coroutine for at most a given time, telling time-out from its own failures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable


async def bounded(work: Awaitable[None], seconds: float | None) -> bool:
    """Run `work` for at most `seconds` (None: until it ends); True if it finished, False
    if the time ran out. Its own failures (a library deadline included) propagate."""
    if seconds is None:
        await work
        return True
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if done:
        task.result()
        return True
    return False
