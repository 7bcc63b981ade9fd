"""The bulk commands: items run in order, one result per entry, a failed entry never fails
the call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .._proto.mxaccess_gateway import v1 as pb
from .auth import refused_reference
from .galaxy import ResolveError
from .mx_status import (
    CAT_COMMUNICATION,
    CAT_CONFIGURATION,
    CAT_SECURITY,
    SRC_REQUESTING_LMX,
    SRC_RESPONDING_LMX,
    status,
)
from .mx_values import QUALITY_BAD, QUALITY_GOOD, QUALITY_WAITING, null_value
from .registry import HandlerTable, InvalidRequest, Result
from .session import USER_LACKS_RIGHTS, CommandFailure, Item, SimSession
from .single_commands import write_one

K = pb.MxCommandKind
E_ACCESSDENIED = -2147024891  # 0x80070005

HANDLERS = HandlerTable()
"""The handlers of this module, by command kind."""
handles = HANDLERS.handles


# ---------------------------------------------------------------- subscribe-style bulks

def _subscribe_reply(results: list[pb.SubscribeResult]) -> Result:
    return None, pb.BulkSubscribeReply(results=results)


def checked(session: SimSession, reference: str) -> None:
    """Refuse (as an MXAccess failure) a reference outside the caller's Galaxy subtrees."""
    refusal = refused_reference(session.runtime.galaxy, reference)
    if refusal is not None:
        raise CommandFailure(E_ACCESSDENIED, refusal, [status(
            CAT_SECURITY, SRC_REQUESTING_LMX, USER_LACKS_RIGHTS, refusal)])


def _by_tag(session: SimSession, server_handle: int, tags: list[str],
            action: Callable[[str], Item]) -> Result:
    results = []
    for tag in tags:
        try:
            checked(session, tag)
            item = action(tag)
        except CommandFailure as failure:
            results.append(pb.SubscribeResult(server_handle=server_handle, tag_address=tag,
                                              was_successful=False, error_message=str(failure)))
        else:
            results.append(pb.SubscribeResult(server_handle=server_handle, tag_address=tag,
                                              item_handle=item.handle, was_successful=True))
    return _subscribe_reply(results)


def _by_handle(session: SimSession, server_handle: int, handles_: list[int],
               action: Callable[[Item], None]) -> Result:
    results = []
    for handle in handles_:
        tag = ""
        try:
            item = session.item(server_handle, handle)
            tag = item.reference
            action(item)
        except CommandFailure as failure:
            results.append(pb.SubscribeResult(server_handle=server_handle, tag_address=tag,
                                              item_handle=handle, was_successful=False,
                                              error_message=str(failure)))
        else:
            results.append(pb.SubscribeResult(server_handle=server_handle, tag_address=tag,
                                              item_handle=handle, was_successful=True))
    return _subscribe_reply(results)


@handles(K.ADD_ITEM_BULK)
async def _add_item_bulk(session: SimSession, cmd: pb.AddItemBulkCommand) -> Result:
    return _by_tag(session, cmd.server_handle, cmd.tag_addresses,
                   lambda tag: session.add_item(cmd.server_handle, tag))


@handles(K.SUBSCRIBE_BULK)
async def _subscribe_bulk(session: SimSession, cmd: pb.SubscribeBulkCommand) -> Result:
    def subscribe(tag: str) -> Item:
        item = session.add_item(cmd.server_handle, tag)
        session.advise(item, supervisory=False)
        return item
    return _by_tag(session, cmd.server_handle, cmd.tag_addresses, subscribe)


@handles(K.ADVISE_ITEM_BULK)
async def _advise_bulk(session: SimSession, cmd: pb.AdviseItemBulkCommand) -> Result:
    return _by_handle(session, cmd.server_handle, cmd.item_handles,
                      lambda item: session.advise(item, supervisory=False))


@handles(K.UN_ADVISE_ITEM_BULK)
async def _unadvise_bulk(session: SimSession, cmd: pb.UnAdviseItemBulkCommand) -> Result:
    return _by_handle(session, cmd.server_handle, cmd.item_handles, session.unadvise)


@handles(K.REMOVE_ITEM_BULK)
async def _remove_bulk(session: SimSession, cmd: pb.RemoveItemBulkCommand) -> Result:
    return _by_handle(session, cmd.server_handle, cmd.item_handles,
                      lambda item: session.remove_item(cmd.server_handle, item.handle))


@handles(K.UNSUBSCRIBE_BULK)
async def _unsubscribe_bulk(session: SimSession, cmd: pb.UnsubscribeBulkCommand) -> Result:
    def unsubscribe(item: Item) -> None:
        session.unadvise(item)
        session.remove_item(cmd.server_handle, item.handle)
    return _by_handle(session, cmd.server_handle, cmd.item_handles, unsubscribe)


# ---------------------------------------------------------------- write bulks

def _write_bulk(session: SimSession, server_handle: int, entries: list[Any], *, secured: bool,
                timed: bool) -> Result:
    results = []
    for entry in entries:
        try:
            write_one(session, server_handle, entry, secured=secured, timed=timed)
        except CommandFailure as failure:
            results.append(pb.BulkWriteResult(
                item_handle=entry.item_handle, was_successful=False,
                error_message=str(failure), hresult=failure.hresult,
                statuses=failure.statuses))
        else:
            results.append(pb.BulkWriteResult(item_handle=entry.item_handle,
                                              was_successful=True, statuses=[status()]))
    return None, pb.BulkWriteReply(results=results)


@handles(K.WRITE_BULK)
async def _write_bulk1(session: SimSession, cmd: pb.WriteBulkCommand) -> Result:
    return _write_bulk(session, cmd.server_handle, cmd.entries, secured=False, timed=False)


@handles(K.WRITE2_BULK)
async def _write_bulk2(session: SimSession, cmd: pb.Write2BulkCommand) -> Result:
    return _write_bulk(session, cmd.server_handle, cmd.entries, secured=False, timed=True)


@handles(K.WRITE_SECURED_BULK)
async def _write_secured_bulk(session: SimSession, cmd: pb.WriteSecuredBulkCommand) -> Result:
    return _write_bulk(session, cmd.server_handle, cmd.entries, secured=True, timed=False)


@handles(K.WRITE_SECURED2_BULK)
async def _write_secured2_bulk(session: SimSession, cmd: pb.WriteSecured2BulkCommand) -> Result:
    return _write_bulk(session, cmd.server_handle, cmd.entries, secured=True, timed=True)


# ---------------------------------------------------------------- read bulk

def _read_result(session: SimSession, tag: str, item: Item, cached: bool) -> pb.BulkReadResult:
    value, quality, timestamp, statuses = session.current(item)
    good = quality == QUALITY_GOOD
    return pb.BulkReadResult(
        tag_address=tag, was_successful=good, was_cached=cached, value=value, quality=quality,
        source_timestamp=timestamp, statuses=statuses,
        error_message="" if good else (statuses[0].diagnostic_text if statuses else "bad"),
    )


def _read_failure(tag: str, message: str, status: pb.MxStatusProxy,
                  quality: int = QUALITY_BAD) -> pb.BulkReadResult:
    return pb.BulkReadResult(tag_address=tag, was_successful=False, value=null_value(),
                             quality=quality, statuses=[status], error_message=message)


@handles(K.READ_BULK)
async def _read_bulk(session: SimSession, cmd: pb.ReadBulkCommand) -> Result:
    """Cached values for tags advised in the session; otherwise add, advise, wait for the
    first value (up to timeout_ms) and remove again (no events reach the stream)."""
    if cmd.timeout_ms < 0:
        raise InvalidRequest("timeout_ms must be >= 0 (0: the gateway's default)")
    config = session.runtime.config
    timeout = (cmd.timeout_ms or config.read_timeout_ms) / 1000.0
    results: list[pb.BulkReadResult | None] = [None] * len(cmd.tag_addresses)
    waiting: list[tuple[int, Item]] = []
    try:
        session.server_handle(cmd.server_handle)
    except CommandFailure as failure:
        return None, pb.BulkReadReply(results=[
            _read_failure(tag, str(failure), failure.statuses[0])
            for tag in cmd.tag_addresses])
    advised = session.advised_items()
    for index, tag in enumerate(cmd.tag_addresses):
        refusal = refused_reference(session.runtime.galaxy, tag)
        if refusal is not None:
            results[index] = _read_failure(tag, refusal, status(
                CAT_SECURITY, SRC_REQUESTING_LMX, USER_LACKS_RIGHTS, refusal))
            continue
        cached = advised.get(tag.strip().lower())
        if cached is not None:
            results[index] = _read_result(session, tag, cached, True)
            continue
        try:
            resolved = session.runtime.galaxy.resolve(tag)
        except ResolveError as exc:
            results[index] = _read_failure(tag, str(exc), status(
                CAT_CONFIGURATION, SRC_RESPONDING_LMX, exc.detail, str(exc)))
            continue
        probe = Item(0, cmd.server_handle, tag, "", resolved, None,
                     state=session.runtime.tags.state(resolved.obj, resolved.attribute))
        waiting.append((index, probe))
    if waiting:
        delay = config.first_value_delay
        await asyncio.sleep(min(delay, timeout))
        for index, probe in waiting:
            if delay > timeout:
                message = f"no first value within {round(timeout * 1000)} ms"
                results[index] = _read_failure(probe.reference, message, status(
                    CAT_COMMUNICATION, SRC_REQUESTING_LMX, 1, message), QUALITY_WAITING)
            else:
                results[index] = _read_result(session, probe.reference, probe, False)
    return None, pb.BulkReadReply(results=[r for r in results if r is not None])
