"""Durable sessions: a session that outlives lost connections and gateway restarts.

`await client.durable_session(name)` opens one (`DurableSession`); its `events()`
(`DurableEvents`) yield MxEvents and the markers `SessionReplaced` and `EventsLost`;
`health()` is a `DurableHealth` snapshot. The pieces, one job each:

    backoff.py   delays between failed attempts (doubling, jittered, capped)
    memory.py    what was set up (to replay it), and the caller's <-> the live handles
    replay.py    a new session set up as the old one was; re-advise after a replay gap
    recovery.py  the live session, and what each kind of failure leads to
    health.py    state and counters
    markers.py   SessionReplaced, EventsLost
    stream.py    DurableEvents
    session.py   DurableSession: the commands that are remembered
"""

from .health import DurableHealth, DurableState
from .markers import EventsLost, SessionReplaced
from .session import DurableSession
from .stream import DurableEvent, DurableEvents

__all__ = ["DurableEvent", "DurableEvents", "DurableHealth", "DurableSession", "DurableState",
           "EventsLost", "SessionReplaced"]
