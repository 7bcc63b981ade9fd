"""The typed markers a durable event stream yields between events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SessionReplaced:
    """The gateway session was lost (gateway restarted, session faulted, closed or
    expired) and a new one took its place: registrations, items and advises were
    replayed in order. Yielded once per replacement, before the new session's events.

    Events of the old session after `last_sequence` were never delivered: they are lost.
    Each advised item's first value in the new session follows (a fresh snapshot); as in
    any new session, MXAccess refuses writes to an item until its first value.

    The handles a DurableSession gave you stay valid, and the events it yields carry
    them: it translates to the gateway's new handles. `server_handles` and
    `item_handles` say how the gateway's own handles changed (old -> new), for code that
    also uses `durable.session` directly or correlates with the gateway's logs.
    """

    old_session_id: str
    new_session_id: str
    reason: str
    """Why the old session was given up, e.g. `NOT_FOUND: no session ...`."""
    last_sequence: int
    """The worker_sequence of the last event delivered from the old session."""
    server_handles: Mapping[int, int]
    """The gateway's server handles, old -> new."""
    item_handles: Mapping[int, int]
    """The gateway's item handles, old -> new."""
    unrestored_items: tuple[int, ...] = ()
    """Your item handles that the new session refused (no events come for them)."""


@dataclass(frozen=True)
class EventsLost:
    """The gateway no longer held the events missed while the connection was down (a
    replay gap): the events after `after_sequence` and before `oldest_available` are
    gone. The session itself is fine; every advised item was advised again, so its
    current value follows (a fresh snapshot)."""

    session_id: str
    after_sequence: int
    oldest_available: int
