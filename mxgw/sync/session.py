"""The blocking Session and its event iterator."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from .. import session as _session
from .._proto.mxaccess_gateway import v1 as pb
from ..events import EventStream
from .facade import Facade, blocking
from .streams import Stream

if TYPE_CHECKING:
    from .client import Client

AsyncSession = _session.Session


class Events(Stream[pb.MxEvent]):
    """A session's events for a plain `for` (see Stream): resumes after dropped
    connections as `Session.events` does, and ends the stream when the loop ends."""

    def __init__(self, session: Session, stream: EventStream, timeout: float | None) -> None:
        super().__init__(session._loop, stream, timeout=timeout)
        self._events = stream

    @property
    def last_sequence(self) -> int:
        """The worker_sequence of the last event delivered."""
        return self._events.last_sequence

    @property
    def resumes(self) -> int:
        """How many times the stream was reopened after a dropped connection."""
        return self._events.resumes

    @property
    def session_id(self) -> str:
        """The session whose events these are."""
        return self._events.session_id

    @property
    def replay_gap(self) -> pb.ReplayGap | None:
        """The gap reported by the gateway, once ReplayGapError was raised."""
        return self._events.replay_gap


class Session(Facade[AsyncSession]):
    """An open gateway session, blocking: `mxgw.Session`'s helpers without `await`.

        with client.open_session("my-script") as session:
            server = session.register("my-script")
    """

    def __init__(self, client: Client, session: AsyncSession) -> None:
        super().__init__(client._loop, session)
        self.client = client

    @property
    def id(self) -> str:
        """The session id."""
        return self._async.id

    @property
    def open_reply(self) -> pb.OpenSessionReply | None:
        """The OpenSession reply (None for `client.session(id)`)."""
        return self._async.open_reply

    @property
    def close_reply(self) -> pb.CloseSessionReply | None:
        """The CloseSession reply, once closed."""
        return self._async.close_reply

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def events(self, after_worker_sequence: int = 0, *, resume: bool = True,
               max_resume_attempts: int = 5, resume_backoff: float = 0.2,
               timeout: float | None = None) -> Events:
        """This session's events for a plain `for`, as `mxgw.Session.events` (one stream at
        a time per session; a new one carries on after the last event delivered).

            for event in session.events(timeout=5):   # ends after 5 s without an event
                ...

        The `for` loop closes the stream when it ends (break, exception, Ctrl-C); the
        session stays usable. `timeout`: the longest wait for each event (None: no limit)."""
        return Events(self, self._async.events(
            after_worker_sequence, resume=resume, max_resume_attempts=max_resume_attempts,
            resume_backoff=resume_backoff), timeout)

    close = blocking(AsyncSession.close)
    invoke_raw = blocking(AsyncSession.invoke_raw)
    invoke = blocking(AsyncSession.invoke)

    register = blocking(AsyncSession.register)
    unregister = blocking(AsyncSession.unregister)
    add_item = blocking(AsyncSession.add_item)
    add_item2 = blocking(AsyncSession.add_item2)
    remove_item = blocking(AsyncSession.remove_item)
    advise = blocking(AsyncSession.advise)
    advise_supervisory = blocking(AsyncSession.advise_supervisory)
    unadvise = blocking(AsyncSession.unadvise)
    suspend = blocking(AsyncSession.suspend)
    activate = blocking(AsyncSession.activate)
    write = blocking(AsyncSession.write)
    write2 = blocking(AsyncSession.write2)
    write_secured = blocking(AsyncSession.write_secured)
    write_secured2 = blocking(AsyncSession.write_secured2)
    authenticate_user = blocking(AsyncSession.authenticate_user)
    archestra_user_to_id = blocking(AsyncSession.archestra_user_to_id)
    add_buffered_item = blocking(AsyncSession.add_buffered_item)
    set_buffered_update_interval = blocking(AsyncSession.set_buffered_update_interval)

    subscribe_alarms = blocking(AsyncSession.subscribe_alarms)
    unsubscribe_alarms = blocking(AsyncSession.unsubscribe_alarms)
    acknowledge_alarm = blocking(AsyncSession.acknowledge_alarm)
    acknowledge_alarm_by_name = blocking(AsyncSession.acknowledge_alarm_by_name)
    query_active_alarms = blocking(AsyncSession.query_active_alarms)

    bulk = blocking(AsyncSession.bulk)
    add_item_bulk = blocking(AsyncSession.add_item_bulk)
    advise_item_bulk = blocking(AsyncSession.advise_item_bulk)
    remove_item_bulk = blocking(AsyncSession.remove_item_bulk)
    unadvise_item_bulk = blocking(AsyncSession.unadvise_item_bulk)
    subscribe_bulk = blocking(AsyncSession.subscribe_bulk)
    unsubscribe_bulk = blocking(AsyncSession.unsubscribe_bulk)
    write_bulk = blocking(AsyncSession.write_bulk)
    write2_bulk = blocking(AsyncSession.write2_bulk)
    write_secured_bulk = blocking(AsyncSession.write_secured_bulk)
    write_secured2_bulk = blocking(AsyncSession.write_secured2_bulk)
    read_bulk = blocking(AsyncSession.read_bulk)
