"""The blocking durable session."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from .. import durable as _durable
from ..durable import DurableEvent, DurableHealth, DurableState
from .facade import Facade, blocking
from .session import Session
from .streams import Stream

if TYPE_CHECKING:
    from .client import Client

AsyncDurable = _durable.DurableSession


class DurableSession(Facade[AsyncDurable]):
    """A session that outlives connection losses and gateway restarts (see
    `mxgw.DurableSession`), blocking.

        with client.durable_session("my-script") as durable:
            server = durable.register("my-script")
            durable.subscribe_bulk(server, ["TestMachine_001.TestChangingInt"])
            for event in durable.events(timeout=30):
                ...   # an MxEvent, or a SessionReplaced / EventsLost marker
    """

    def __init__(self, client: Client, durable: AsyncDurable) -> None:
        super().__init__(client._loop, durable)
        self.client = client

    @property
    def session(self) -> Session:
        """The live gateway session (another one after each replacement)."""
        return Session(self.client, self._async.session)

    @property
    def id(self) -> str:
        """The live gateway session's id."""
        return self._async.id

    @property
    def state(self) -> DurableState:
        """connected, reconnecting, replacing or closed."""
        return self._async.state

    @property
    def closed(self) -> bool:
        return self._async.closed

    def health(self) -> DurableHealth:
        """A snapshot of the state and counters (see `mxgw.DurableSession.health`)."""
        return self._async.health()

    def __enter__(self) -> DurableSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def events(self, *, timeout: float | None = None) -> Stream[DurableEvent]:
        """The events, with markers, for a plain `for`; it ends when closed, when the
        `for` loop ends, or after `timeout` seconds without an event (None: never)."""
        return Stream(self._loop, self._async.events(), timeout=timeout)

    close = blocking(AsyncDurable.close)
    register = blocking(AsyncDurable.register)
    unregister = blocking(AsyncDurable.unregister)
    set_buffered_update_interval = blocking(AsyncDurable.set_buffered_update_interval)
    add_item = blocking(AsyncDurable.add_item)
    add_item2 = blocking(AsyncDurable.add_item2)
    add_buffered_item = blocking(AsyncDurable.add_buffered_item)
    remove_item = blocking(AsyncDurable.remove_item)
    advise = blocking(AsyncDurable.advise)
    advise_supervisory = blocking(AsyncDurable.advise_supervisory)
    unadvise = blocking(AsyncDurable.unadvise)
    suspend = blocking(AsyncDurable.suspend)
    activate = blocking(AsyncDurable.activate)
    add_item_bulk = blocking(AsyncDurable.add_item_bulk)
    subscribe_bulk = blocking(AsyncDurable.subscribe_bulk)
    advise_item_bulk = blocking(AsyncDurable.advise_item_bulk)
    unadvise_item_bulk = blocking(AsyncDurable.unadvise_item_bulk)
    remove_item_bulk = blocking(AsyncDurable.remove_item_bulk)
    unsubscribe_bulk = blocking(AsyncDurable.unsubscribe_bulk)
    write = blocking(AsyncDurable.write)
    write2 = blocking(AsyncDurable.write2)
    write_secured = blocking(AsyncDurable.write_secured)
    write_bulk = blocking(AsyncDurable.write_bulk)
    authenticate_user = blocking(AsyncDurable.authenticate_user)
    read_bulk = blocking(AsyncDurable.read_bulk)
