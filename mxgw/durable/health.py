"""The health view of a durable session: its state and counters, for an embedding
service to export."""

from __future__ import annotations

import datetime as dt
import enum
import logging
import time
from dataclasses import dataclass
from typing import Any

from ..log import logger

log = logger("mxgw.durable")


def describe(exc: BaseException) -> str:
    """A failure in one line, for the log and the health (mxgw errors never hold the API
    key)."""
    code = getattr(exc, "code", None)
    return f"{code}: {exc}" if isinstance(code, str) else f"{type(exc).__name__}: {exc}"


class DurableState(str, enum.Enum):
    """Where a durable session stands."""

    CONNECTED = "connected"
    """The gateway is reached and the session's stream is open (or being opened)."""
    RECONNECTING = "reconnecting"
    """The connection was lost; the stream will resume in the same session."""
    REPLACING = "replacing"
    """The session was lost; a new one is being opened and set up."""
    CLOSED = "closed"
    """`close()` was called."""


def _utc(stamp: float | None) -> dt.datetime | None:
    return None if stamp is None else dt.datetime.fromtimestamp(stamp, dt.timezone.utc)


@dataclass(frozen=True)
class DurableHealth:
    """A snapshot of a durable session's health (`DurableSession.health()`)."""

    state: DurableState
    session_id: str
    """The gateway session in use now."""
    since: dt.datetime
    """When `state` was entered (UTC)."""
    last_event_at: dt.datetime | None
    """When the last event was delivered (UTC); None before the first."""
    reconnects: int
    """Times the gateway was reached again after a lost connection (the stream then
    resumed, or the session turned out to be lost: see `replacements`)."""
    replacements: int
    """Sessions replaced by a new one (each announced by one SessionReplaced)."""
    failures: int
    """Failed attempts in a row (0 while connected)."""
    last_error: str | None
    """The last failure (class: message), kept after recovery."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as RFC 3339, the state as its value."""
        return {
            "state": self.state.value, "sessionId": self.session_id,
            "since": self.since.isoformat(),
            "lastEventAt": self.last_event_at.isoformat() if self.last_event_at else None,
            "reconnects": self.reconnects, "replacements": self.replacements,
            "failures": self.failures, "lastError": self.last_error,
        }


class Health:
    """The state machine's bookkeeping: state changes are logged (INFO) and counted.
    `what` and `logger` name what is kept (a durable session, a deploy watch) in the log."""

    def __init__(self, what: str = "durable session", logger: logging.Logger = log) -> None:
        self.what = what
        self.log = logger
        self.state = DurableState.CONNECTED
        self.since = time.time()
        self.last_event: float | None = None
        self.reconnects = 0
        self.replacements = 0
        self.last_error: str | None = None

    def enter(self, state: DurableState, session_id: str, why: str) -> None:
        if state is not self.state:
            self.log.info("%s (%s): %s -> %s: %s", self.what, session_id, self.state.value,
                          state.value, why)
            self.state = state
            self.since = time.time()

    def failed(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"

    def delivered(self) -> None:
        self.last_event = time.time()

    @property
    def last_event_at(self) -> dt.datetime | None:
        """When the last event was delivered (UTC); None before the first."""
        return _utc(self.last_event)

    def snapshot(self, session_id: str, failures: int) -> DurableHealth:
        since = _utc(self.since)
        assert since is not None
        if self.state is DurableState.CONNECTED:
            failures = 0  # what backoff still counts until events flow is no outage
        return DurableHealth(self.state, session_id, since, _utc(self.last_event),
                             self.reconnects, self.replacements, failures, self.last_error)
