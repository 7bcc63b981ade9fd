"""DurableSession: a session that outlives lost connections and lost gateway sessions."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .._proto.mxaccess_gateway import v1 as pb
from ..contract.bulk_replies import BulkResults
from ..contract.commands import WriteItem
from ..errors import BulkEntryError, ConfigurationError, MxGatewayError
from ..session import Session
from .backoff import Backoff
from .health import DurableHealth, DurableState
from .memory import Advise, Handles, Item, Memory, Registration
from .recovery import Recovery
from .stream import DurableEvents

if TYPE_CHECKING:
    from ..client import GatewayClient

ResultT = TypeVar("ResultT", pb.SubscribeResult, pb.BulkWriteResult)


def _no_stream() -> DurableEvents | None:
    return None


class DurableSession:
    """A session for a service that must run for months: open it with
    `await client.durable_session(name)`.

        async with await client.durable_session("my-service") as durable:
            server = await durable.register("my-service")
            await durable.subscribe_bulk(server, ["Tank1.Level", "Tank2.Level"])
            async with durable.events() as events:
                async for event in events:
                    if isinstance(event, mxgw.SessionReplaced):
                        ...  # once per new session; current values follow
                    elif isinstance(event, mxgw.EventsLost):
                        ...  # a replay gap; current values follow
                    else:
                        ...  # an MxEvent

    It remembers what its methods register, add, advise, suspend and subscribe. Its
    `events()` never end on their own: after a lost connection the stream resumes where
    it was (no event lost or repeated); when the session is lost (gateway restart, lease
    or detach-grace expiry, session closed or faulted) a new session is opened, all that
    was set up is replayed in order and one `SessionReplaced` marker is yielded; a
    replay gap yields `EventsLost`. Failed attempts back off (doubling, jittered,
    capped) and are retried forever unless `max_attempts` was given.

    Handles: the ones its methods return stay valid for its whole life, also across
    replacements (it translates them to the live session's); events carry them too.
    Writes are never retried: one during an outage raises (ConnectError,
    ConnectionLostError, DeadlineExceededError..., or SessionLostError while the
    session is being replaced). `health()` is a snapshot for monitoring. Replay is
    driven by `events()`: iterate it.
    """

    def __init__(self, client: GatewayClient, name: str, backoff: Backoff,
                 close_timeout: float = 2.0) -> None:
        if not close_timeout > 0:
            raise ConfigurationError("close_timeout must be > 0")
        self.client = client
        self.name = name
        self._recovery = Recovery(client, name, backoff, close_timeout)
        self._events_ref: Callable[[], DurableEvents | None] = _no_stream

    @classmethod
    async def open(cls, client: GatewayClient, name: str = "mxgw", *,
                   max_attempts: int | None = None, backoff: float = 0.2,
                   max_backoff: float = 10.0, close_timeout: float = 2.0) -> DurableSession:
        """Open the first session (retrying like any recovery); see `durable_session`."""
        durable = cls(client, name, Backoff(backoff, max_backoff, max_attempts), close_timeout)
        await durable._recovery.start()
        return durable

    def __repr__(self) -> str:
        return (f"DurableSession(name={self.name!r}, session_id={self.id!r}, "
                f"state={self.state.value!r})")

    async def __aenter__(self) -> DurableSession:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # ------------------------------------------------------------------ state

    @property
    def session(self) -> Session:
        """The live gateway session (another one after each replacement); its handles
        are the gateway's, not this object's."""
        return self._recovery.current

    @property
    def id(self) -> str:
        """The live gateway session's id."""
        return self._recovery.session_id

    @property
    def state(self) -> DurableState:
        """connected, reconnecting, replacing or closed."""
        return self._recovery.health.state

    @property
    def closed(self) -> bool:
        return self._recovery.closed

    def health(self) -> DurableHealth:
        """A snapshot: state, since when, last event time, reconnects, replacements,
        failures in a row, last error."""
        recovery = self._recovery
        return recovery.health.snapshot(recovery.session_id, recovery.backoff.failures)

    def events(self) -> DurableEvents:
        """The events, with markers; a new stream supersedes the previous one (and, after
        one ended on `max_attempts`, tries again)."""
        if self._recovery.closed:
            raise ConfigurationError("the durable session is closed")
        self._recovery.backoff.reset()
        stream = DurableEvents(self, self._recovery, self._events_ref())
        self._events_ref = weakref.ref(stream)
        return stream

    async def close(self) -> None:
        """Stop everything now: the event stream's reader (in any task), any wait or
        replay; then close the gateway session (within `close_timeout`). Idempotent."""
        recovery = self._recovery
        if recovery.closed:
            return
        recovery.closed = True
        events = self._events_ref()
        if events is not None:
            await events.aclose()
        await recovery.close()

    # ------------------------------------------------------------------ helpers

    @contextlib.asynccontextmanager
    async def _changing(self) -> AsyncIterator[tuple[Session, Handles, Memory]]:
        """The live session for a command that changes what is remembered (one at a
        time, never during a replay)."""
        recovery = self._recovery
        recovery.usable()
        async with recovery.lock:
            session, handles = recovery.usable()
            yield session, handles, recovery.memory

    def _live(self) -> tuple[Session, Handles]:
        return self._recovery.usable()

    async def _item_command(
        self, server_handle: int, item_handle: int,
        call: Callable[[Session, int, int], Awaitable[pb.MxCommandReply]],
        remember: Callable[[Item], None],
    ) -> pb.MxCommandReply:
        async with self._changing() as (session, handles, memory):
            item = memory.item(server_handle, item_handle)
            reply = await call(session, *handles.item(server_handle, item_handle))
            remember(item)
            return reply

    async def _add(self, server_handle: int, reference: str, context: str | None,
                   buffered: bool, call: Callable[[Session, int], Awaitable[int]]) -> int:
        async with self._changing() as (session, handles, memory):
            live = await call(session, handles.server(server_handle))
            handle = memory.new_item(live)
            memory.items[handle] = Item(server_handle, reference, context, buffered)
            handles.bind_item(server_handle, handle, live)
            return handle

    # ------------------------------------------------------------------ set-up

    async def register(self, client_name: str) -> int:
        """Register with MXAccess; returns the server handle (remembered)."""
        async with self._changing() as (session, handles, memory):
            live = await session.register(client_name)
            server = memory.new_server(live)
            memory.servers[server] = Registration(client_name)
            handles.bind_server(server, live)
            return server

    async def unregister(self, server_handle: int) -> pb.MxCommandReply:
        """Unregister; its items are forgotten too."""
        async with self._changing() as (session, handles, memory):
            reply = await session.unregister(handles.server(server_handle))
            memory.forget_server(server_handle)
            handles.unbind_server(server_handle)
            return reply

    async def set_buffered_update_interval(self, server_handle: int,
                                           interval_ms: int) -> pb.MxCommandReply:
        """Set how often buffered updates are delivered (remembered)."""
        async with self._changing() as (session, handles, memory):
            reply = await session.set_buffered_update_interval(handles.server(server_handle),
                                                               interval_ms)
            memory.servers[server_handle].buffered_interval_ms = interval_ms
            return reply

    async def add_item(self, server_handle: int, item: str) -> int:
        """Add an item; returns its handle (remembered)."""
        return await self._add(server_handle, item, None, False,
                               lambda s, server: s.add_item(server, item))

    async def add_item2(self, server_handle: int, item: str, context: str) -> int:
        """Add an item with a context string; returns its handle (remembered)."""
        return await self._add(server_handle, item, context, False,
                               lambda s, server: s.add_item2(server, item, context))

    async def add_buffered_item(self, server_handle: int, item: str, context: str = "") -> int:
        """Add a buffered item; returns its handle (remembered)."""
        return await self._add(server_handle, item, context, True,
                               lambda s, server: s.add_buffered_item(server, item, context))

    async def remove_item(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Remove an item (forgotten)."""
        async with self._changing() as (session, handles, memory):
            memory.item(server_handle, item_handle)
            reply = await session.remove_item(*handles.item(server_handle, item_handle))
            del memory.items[item_handle]
            handles.unbind_item(item_handle)
            return reply

    def _set(self, **changes: Any) -> Callable[[Item], None]:
        def remember(item: Item) -> None:
            for name, value in changes.items():
                setattr(item, name, value)
        return remember

    async def advise(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Start OnDataChange events for an item (remembered)."""
        return await self._item_command(server_handle, item_handle, Session.advise,
                                        self._set(advise=Advise.PLAIN))

    async def advise_supervisory(self, server_handle: int,
                                 item_handle: int) -> pb.MxCommandReply:
        """Start a supervisory subscription (remembered)."""
        return await self._item_command(server_handle, item_handle, Session.advise_supervisory,
                                        self._set(advise=Advise.SUPERVISORY))

    async def unadvise(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Stop an item's events (remembered)."""
        return await self._item_command(server_handle, item_handle, Session.unadvise,
                                        self._set(advise=Advise.NONE, suspended=False))

    async def suspend(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Pause an item's updates (remembered)."""
        return await self._item_command(server_handle, item_handle, Session.suspend,
                                        self._set(suspended=True))

    async def activate(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Resume an item's updates (remembered)."""
        return await self._item_command(server_handle, item_handle, Session.activate,
                                        self._set(suspended=False))

    # ------------------------------------------------------------------ bulk set-up

    async def _bulk(self, call: Awaitable[BulkResults[ResultT]],
                    apply: Callable[[Sequence[ResultT]], None]) -> BulkResults[ResultT]:
        """Run a bulk command; remember what its results (or the part applied before a
        failure) say, in the caller's handles."""
        try:
            results = await call
        except MxGatewayError as exc:
            if exc.partial_results:
                apply(exc.partial_results)
            raise
        apply(results)
        return results

    async def _by_tags(self, server_handle: int, tag_addresses: Iterable[str],
                       subscribe: bool) -> BulkResults[pb.SubscribeResult]:
        tags = list(tag_addresses)
        async with self._changing() as (session, handles, memory):
            live_server = handles.server(server_handle)

            def apply(results: Sequence[pb.SubscribeResult]) -> None:
                for tag, result in zip(tags, results, strict=False):
                    result.server_handle = server_handle
                    if not result.was_successful:
                        continue
                    handle = memory.new_item(result.item_handle)
                    memory.items[handle] = Item(
                        server_handle, tag, advise=Advise.PLAIN if subscribe else Advise.NONE)
                    handles.bind_item(server_handle, handle, result.item_handle)
                    result.item_handle = handle

            call = session.subscribe_bulk if subscribe else session.add_item_bulk
            return await self._bulk(call(live_server, tags), apply)

    async def _by_handles(self, server_handle: int, item_handles: Iterable[int],
                          call: Callable[[Session, int, list[int]],
                                         Awaitable[BulkResults[pb.SubscribeResult]]],
                          remember: Callable[[Memory, Handles, int], None],
                          ) -> BulkResults[pb.SubscribeResult]:
        mine = list(item_handles)
        async with self._changing() as (session, handles, memory):
            live = []
            for index, handle in enumerate(mine):
                try:
                    memory.item(server_handle, handle)
                    live.append(handles.item(server_handle, handle)[1])
                except ConfigurationError as exc:
                    raise BulkEntryError(index, str(exc)) from None

            def apply(results: Sequence[pb.SubscribeResult]) -> None:
                for handle, result in zip(mine, results, strict=False):
                    result.server_handle, result.item_handle = server_handle, handle
                    if result.was_successful:
                        remember(memory, handles, handle)

            return await self._bulk(call(session, handles.server(server_handle), live),
                                    apply)

    async def add_item_bulk(self, server_handle: int,
                            tag_addresses: Iterable[str]) -> BulkResults[pb.SubscribeResult]:
        """AddItem per tag address (remembered); one result per address."""
        return await self._by_tags(server_handle, tag_addresses, subscribe=False)

    async def subscribe_bulk(self, server_handle: int,
                             tag_addresses: Iterable[str]) -> BulkResults[pb.SubscribeResult]:
        """AddItem + Advise per tag address (remembered); one result per address."""
        return await self._by_tags(server_handle, tag_addresses, subscribe=True)

    async def advise_item_bulk(self, server_handle: int,
                               item_handles: Iterable[int]) -> BulkResults[pb.SubscribeResult]:
        """Advise each item (remembered); one result per handle."""
        return await self._by_handles(
            server_handle, item_handles, Session.advise_item_bulk,
            lambda memory, _, h: setattr(memory.items[h], "advise", Advise.PLAIN))

    async def unadvise_item_bulk(self, server_handle: int,
                                 item_handles: Iterable[int]) -> BulkResults[pb.SubscribeResult]:
        """UnAdvise each item (remembered); one result per handle."""
        return await self._by_handles(
            server_handle, item_handles, Session.unadvise_item_bulk,
            lambda memory, _, h: setattr(memory.items[h], "advise", Advise.NONE))

    async def remove_item_bulk(self, server_handle: int,
                               item_handles: Iterable[int]) -> BulkResults[pb.SubscribeResult]:
        """RemoveItem each item (forgotten); one result per handle."""
        return await self._by_handles(server_handle, item_handles, Session.remove_item_bulk,
                                      _forget)

    async def unsubscribe_bulk(self, server_handle: int,
                               item_handles: Iterable[int]) -> BulkResults[pb.SubscribeResult]:
        """UnAdvise + RemoveItem each item (forgotten); one result per handle."""
        return await self._by_handles(server_handle, item_handles, Session.unsubscribe_bulk,
                                      _forget)

    # ------------------------------------------------------------------ writes and reads

    async def write(self, server_handle: int, item_handle: int, value: Any, *,
                    type_name: str | None = None, user_id: int = 0) -> pb.MxCommandReply:
        """Write a value (never retried); the result arrives as OnWriteComplete."""
        session, handles = self._live()
        return await session.write(*handles.item(server_handle, item_handle), value,
                                   type_name=type_name, user_id=user_id)

    async def write2(self, server_handle: int, item_handle: int, value: Any,
                     timestamp: dt.datetime, *, type_name: str | None = None,
                     user_id: int = 0) -> pb.MxCommandReply:
        """Write a value with a source timestamp (never retried)."""
        session, handles = self._live()
        return await session.write2(*handles.item(server_handle, item_handle), value,
                                    timestamp, type_name=type_name, user_id=user_id)

    async def write_secured(self, server_handle: int, item_handle: int, value: Any, *,
                            current_user_id: int, verifier_user_id: int = 0,
                            type_name: str | None = None) -> pb.MxCommandReply:
        """WriteSecured (never retried). User ids belong to one gateway session:
        authenticate again after SessionReplaced."""
        session, handles = self._live()
        return await session.write_secured(
            *handles.item(server_handle, item_handle), value, current_user_id=current_user_id,
            verifier_user_id=verifier_user_id, type_name=type_name)

    async def write_bulk(self, server_handle: int,
                         items: Iterable[WriteItem | tuple[int, Any]], *,
                         type_name: str | None = None,
                         user_id: int = 0) -> BulkResults[pb.BulkWriteResult]:
        """Write many items (never retried); one result per item, in the caller's handles."""
        session, handles = self._live()
        mine, live = _live_entries(handles, server_handle, items)
        results = await session.write_bulk(handles.server(server_handle), live,
                                           type_name=type_name, user_id=user_id)
        for handle, result in zip(mine, results, strict=False):
            result.item_handle = handle
        return results

    async def authenticate_user(self, server_handle: int, user_name: str,
                                password: str) -> int:
        """Authenticate a user; the user id. Not remembered (the password is never kept):
        authenticate again after SessionReplaced."""
        session, handles = self._live()
        return await session.authenticate_user(handles.server(server_handle), user_name,
                                               password)

    async def read_bulk(self, server_handle: int, tag_addresses: Iterable[str], *,
                        timeout_ms: int = 0) -> BulkResults[pb.BulkReadResult]:
        """Read tags once (see Session.read_bulk)."""
        session, handles = self._live()
        return await session.read_bulk(handles.server(server_handle), tag_addresses,
                                       timeout_ms=timeout_ms)


def _forget(memory: Memory, handles: Handles, handle: int) -> None:
    memory.items.pop(handle, None)
    handles.unbind_item(handle)


def _live_entries(
    handles: Handles, server_handle: int, items: Iterable[WriteItem | tuple[int, Any]],
) -> tuple[list[int], list[WriteItem]]:
    """The caller's item handles of bulk write entries, and the entries in live handles."""
    mine: list[int] = []
    live: list[WriteItem] = []
    for index, raw in enumerate(items):
        entry = raw if isinstance(raw, WriteItem) else WriteItem(*raw)
        try:
            _, handle = handles.item(server_handle, entry.item_handle)
        except ConfigurationError as exc:
            raise BulkEntryError(index, str(exc)) from None
        mine.append(entry.item_handle)
        live.append(dataclasses.replace(entry, item_handle=handle))
    return mine, live
