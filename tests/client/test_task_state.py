"""A call that fails leaves the calling task as it found it.

grpclib wakes a task waiting on a call whose connection is lost (or whose local deadline
passes) by cancelling it, then raises its own error instead of the CancelledError, and
never withdraws that cancel request. On Python 3.11+ the task then counts as being
cancelled for the rest of its life: a TaskGroup in it turns a child's failure into a
CancelledError of the parent, and asyncio.run takes Ctrl-C for a cancel. The client
withdraws what grpclib requested (`mxgw.calls`)."""

from __future__ import annotations

import asyncio
import builtins
import sys
from typing import Any

import pytest
from grpclib.exceptions import StreamTerminatedError
from grpclib.utils import Wrapper

import mxgw

from .conftest import GatewayOpener

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11),
                                reason="tasks count cancel requests from Python 3.11")


# Python 3.11 names (the type checker checks for 3.10, which has none of them)
TaskGroup: Any = getattr(asyncio, "TaskGroup", None)
ExceptionGroup: Any = getattr(builtins, "ExceptionGroup", None)


def cancelling(task: Any = None) -> int:
    """How many cancel requests the task (default: this one) has not had withdrawn."""
    target: Any = task or asyncio.current_task()
    count: int = target.cancelling()
    return count


async def child_failure_in_a_task_group() -> BaseException:
    """What a TaskGroup raises in this task when one of its children fails."""
    async def fail() -> None:
        raise ValueError("child")

    try:
        async with TaskGroup() as group:
            group.create_task(fail())
            group.create_task(asyncio.sleep(30))
    except BaseException as exc:  # the point is which one
        return exc
    raise AssertionError("the task group did not fail")


async def test_grpclib_still_leaves_its_wake_up_cancel_counted() -> None:
    """The grpclib behaviour the client corrects (when this fails, grpclib withdraws its
    own cancel: remove `withdraw_wakeup` from mxgw/calls.py)."""
    wrapper = Wrapper()

    async def wait() -> None:
        with wrapper:
            await asyncio.sleep(30)

    task = asyncio.get_running_loop().create_task(wait())
    await asyncio.sleep(0)
    wrapper.cancel(StreamTerminatedError("gone"))
    with pytest.raises(StreamTerminatedError) as raised:
        await task
    assert cancelling(task) == 1
    assert isinstance(raised.value.__context__, asyncio.CancelledError)


async def test_a_stream_cut_by_a_lost_connection_leaves_the_task_uncancelled(
        open_gateway: GatewayOpener) -> None:
    sim, session = await open_gateway()
    server = await session.register("task-state")
    await session.subscribe_bulk(server, ["TestMachine_001.TestChangingInt"])
    async with session.events(resume=False) as events:
        await asyncio.wait_for(events.__anext__(), 10)
        await sim.drop_connections()
        with pytest.raises(mxgw.ConnectionLostError):
            await events.__anext__()  # in this task: wait_for would read in a task of its own
    assert cancelling() == 0
    assert isinstance(await child_failure_in_a_task_group(), ExceptionGroup)


async def test_a_call_past_its_local_deadline_leaves_the_task_uncancelled(
        open_gateway: GatewayOpener) -> None:
    sim, session = await open_gateway()
    sim.faults.latency_ms = 2000
    with pytest.raises(mxgw.DeadlineExceededError):
        await session.client.with_timeout(0.2).open_session("hurried")
    assert cancelling() == 0
    assert isinstance(await child_failure_in_a_task_group(), ExceptionGroup)
