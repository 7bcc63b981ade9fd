"""`smoke`: open a session, register, add, advise, read some events, close."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ...errors import BadQualityError, DeadlineExceededError
from ...failures import describe_status, is_error_status
from ..context import Context
from ..flags import ConnectionFlags
from ..text import event_text, name
from . import command


@dataclass
class SmokeFlags:
    item: str = field(default="TestMachine_001.TestChangingInt", metadata={
        "help": "item reference to add and advise"})
    client_name: str = field(default="mxgw-smoke", metadata={"help": "Register client name"})
    max_events: int = field(default=1, metadata={
        "help": "data-change events to wait for before closing"})
    event_timeout: float = field(default=15.0, metadata={
        "help": "seconds to wait for those events"})


def smoke_text(result: dict[str, Any]) -> str:
    """The smoke report as short lines."""
    lines = [f"session    {result['sessionId']}",
             f"register   server handle {result['serverHandle']}",
             f"add-item   {result['item']} -> item handle {result['itemHandle']}",
             "advise     ok"]
    lines += [f"event      {event_text(e)}" for e in result.get("events", [])]
    lines.append(f"closed     {name(result['finalState'])}")
    return "\n".join(lines)


GOOD = 0xC0
"""OPC DA quality bits of a Good value."""


def _check_good(item: str, event: Any, change: Any) -> None:
    """Smoke is the integration check: a Bad first value (an unknown reference, a
    configuration error) fails it instead of passing as an event."""
    failing = [s for s in change.statuses if is_error_status(s)]
    if change.quality & GOOD == GOOD and not failing:
        return
    reasons = [f"quality {change.quality}"] + [describe_status(s) for s in failing]
    raise BadQualityError(f"{item}: the first value is not Good ({'; '.join(reasons)})",
                          event, change.quality)


@command("smoke", "Open a session, register, add and advise an item, read a bounded number "
         "of events, and close the session (always). Fails (exit 6) when the item's value "
         "is not Good.",
         "mxgw smoke --sim --json", SmokeFlags, text=smoke_text)
async def smoke(ctx: Context, conn: ConnectionFlags, flags: SmokeFlags) -> Any:
    client = await ctx.client(conn)
    session = await client.open_session(flags.client_name)
    result: dict[str, Any] = {"sessionId": session.id}
    try:
        server_handle = await session.register(flags.client_name)
        result["serverHandle"] = server_handle
        item_handle = await session.add_item(server_handle, flags.item)
        result["itemHandle"] = item_handle
        result["item"] = flags.item
        await session.advise(server_handle, item_handle)
        events: list[Any] = []

        async def collect() -> None:
            data_changes = 0
            async with session.events() as stream:
                async for event in stream:
                    events.append(event)
                    change = event.on_data_change
                    if change is not None and event.item_handle == item_handle:
                        _check_good(flags.item, event, change)
                        data_changes += 1
                        if data_changes >= flags.max_events:
                            return

        try:
            await asyncio.wait_for(collect(), flags.event_timeout)
        except asyncio.TimeoutError:
            raise DeadlineExceededError(
                f"fewer than {flags.max_events} data change(s) of {flags.item} within "
                f"{flags.event_timeout:g} s") from None
        result["events"] = events
    finally:
        reply = await session.close()
        result["finalState"] = reply.final_state
    return result
