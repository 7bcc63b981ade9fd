"""Setting a new session up as the remembered one was: registrations, items, advises."""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field

from .._proto.mxaccess_gateway import v1 as pb
from ..errors import MxAccessError
from ..log import logger
from ..session import Session
from .memory import Advise, Handles, Item, Memory

log = logger("mxgw.durable")


@dataclass
class Restored:
    """A replayed session's handles, and the caller's items it refused."""

    handles: Handles = field(default_factory=Handles)
    unrestored: list[int] = field(default_factory=list)


def _runs(items: list[tuple[int, Item]]) -> Iterator[list[tuple[int, Item]]]:
    """Consecutive items of one kind: plain AddItems together (one bulk command), every
    other item alone."""
    run: list[tuple[int, Item]] = []
    for entry in items:
        plain = entry[1].context is None and not entry[1].buffered
        if run and not plain:
            yield run
            run = []
        run.append(entry)
        if not plain:
            yield run
            run = []
    if run:
        yield run


async def replay(session: Session, memory: Memory) -> Restored:
    """Register, add, advise (and suspend) on `session` everything `memory` holds, in
    the order it was done. A refusal of one item (MXAccess) leaves that item out; any
    other failure raises, and the caller tries again on another new session."""
    restored = Restored()
    handles = restored.handles
    for server, registration in memory.servers.items():
        try:
            live = await session.register(registration.client_name)
        except MxAccessError as exc:
            log.error("session %s: Register(%r) refused (%s); its items are not restored",
                      session.id, registration.client_name, exc)
            continue
        handles.bind_server(server, live)
        if registration.buffered_interval_ms is not None:
            await session.set_buffered_update_interval(live, registration.buffered_interval_ms)
    servers = handles.live_servers()
    items = [(h, i) for h, i in memory.items.items() if i.server in servers]
    restored.unrestored = [h for h, i in memory.items.items() if i.server not in servers]
    for run in _runs(items):
        await _add(session, handles, run, restored.unrestored)
    await _advise(session, handles, memory, restored.unrestored)
    return restored


async def _add(session: Session, handles: Handles, run: list[tuple[int, Item]],
               unrestored: list[int]) -> None:
    server = handles.server(run[0][1].server)
    first = run[0][1]
    if len(run) == 1 and (first.context is not None or first.buffered):
        try:
            if first.buffered:
                live = await session.add_buffered_item(server, first.reference,
                                                       first.context or "")
            else:
                live = await session.add_item2(server, first.reference, first.context or "")
        except MxAccessError as exc:
            log.warning("session %s: %s not restored (%s)", session.id, first.reference, exc)
            unrestored.append(run[0][0])
            return
        handles.bind_item(first.server, run[0][0], live)
        return
    by_server: dict[int, list[tuple[int, Item]]] = {}
    for entry in run:  # a run may mix server handles: one bulk command each
        by_server.setdefault(entry[1].server, []).append(entry)
    for caller_server, entries in by_server.items():
        results = await session.add_item_bulk(handles.server(caller_server),
                                              [i.reference for _, i in entries])
        for (handle, item), result in zip(entries, results, strict=False):
            if result.was_successful:
                handles.bind_item(item.server, handle, result.item_handle)
            else:
                log.warning("session %s: %s not restored (%s)", session.id, item.reference,
                            result.error_message)
                unrestored.append(handle)


async def _refusable(session: Session, call: Awaitable[pb.MxCommandReply], what: str,
                     handle: int, unrestored: list[int]) -> None:
    """One command for one item: MXAccess refusing it leaves the item out (logged)."""
    try:
        await call
    except MxAccessError as exc:
        log.warning("session %s: %s of item %d refused (%s)", session.id, what, handle, exc)
        unrestored.append(handle)


async def _advise(session: Session, handles: Handles, memory: Memory,
                  unrestored: list[int]) -> None:
    live = handles.live_items()
    plain: dict[int, list[int]] = {}
    for handle, item in memory.items.items():
        if handle not in live:
            continue
        server, live_item = live[handle]
        if item.advise is Advise.PLAIN:
            plain.setdefault(server, []).append(live_item)
        elif item.advise is Advise.SUPERVISORY:
            await _refusable(session, session.advise_supervisory(server, live_item),
                             "AdviseSupervisory", handle, unrestored)
    for server, live_items in plain.items():
        await _advise_plain(session, handles, server, live_items, unrestored)
    for handle, item in memory.items.items():
        if handle in live and item.suspended:
            await _refusable(session, session.suspend(*live[handle]), "Suspend", handle,
                             unrestored)


async def _advise_plain(session: Session, handles: Handles, server: int, live_items: list[int],
                        unrestored: list[int]) -> None:
    """Advise items in bulk; each item MXAccess refuses is logged and left out."""
    for result in await session.advise_item_bulk(server, live_items):
        if not result.was_successful:
            log.warning("session %s: Advise of item %d refused (%s)", session.id,
                        result.item_handle, result.error_message)
            unrestored.append(handles.caller_item(server, result.item_handle)[1])


async def readvise(session: Session, handles: Handles, memory: Memory) -> None:
    """UnAdvise and Advise every advised item again, so that each sends its current
    value (after a replay gap: the fresh snapshot). MXAccess refusals are logged."""
    refused: list[int] = []  # (logged as they come; the items stay in memory)
    live = handles.live_items()
    plain: dict[int, list[int]] = {}
    for handle, item in memory.items.items():
        if handle not in live or item.advise is Advise.NONE:
            continue
        server, live_item = live[handle]
        if item.advise is Advise.PLAIN:
            plain.setdefault(server, []).append(live_item)
        else:
            await _refusable(session, session.unadvise(server, live_item), "UnAdvise",
                             handle, refused)
            await _refusable(session, session.advise_supervisory(server, live_item),
                             "AdviseSupervisory", handle, refused)
    for server, live_items in plain.items():
        await session.unadvise_item_bulk(server, live_items)  # (refusals: see Advise)
        await _advise_plain(session, handles, server, live_items, refused)
