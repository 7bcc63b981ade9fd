"""The blocking alarm view."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from .. import alarms as _alarms
from .._proto.mxaccess_gateway import v1 as pb
from ..durable.health import DurableState
from .loop import Loop
from .streams import Stream

AsyncAlarmView = _alarms.AlarmView
AlarmChange = _alarms.AlarmChange


class AlarmView(Stream[AlarmChange]):
    """The active alarms kept current (see `mxgw.AlarmView`), for a plain `for`.

        with client.alarm_view("Galaxy!Plant") as view:   # the first snapshot is taken here
            print(len(view.active), "active")
            for change in view:                         # then every change, in order
                print(change.kind.name, change.reference)

    The `for` loop closes the view when it ends (see Stream); `timeout` ends it after that
    many seconds without a change.
    """

    def __init__(self, loop: Loop, view: AsyncAlarmView, timeout: float | None = None) -> None:
        super().__init__(loop, view, timeout=timeout)
        self._view = view

    def open(self) -> AlarmView:
        """Take the first snapshot now, unless done (`with` and the first step do it)."""
        self._loop.run(self._view.open())
        return self

    def __enter__(self) -> AlarmView:
        try:
            return self.open()
        except BaseException:
            self.close()
            raise

    @property
    def filter_prefix(self) -> str:
        return self._view.filter_prefix

    @property
    def active(self) -> Mapping[str, pb.ActiveAlarmSnapshot]:
        """The active alarms by full reference, as the changes delivered leave them."""
        return self._view.active

    def by_urgency(self) -> list[pb.ActiveAlarmSnapshot]:
        """The active alarms, most urgent first."""
        return self._view.by_urgency()

    @property
    def provider(self) -> pb.AlarmProviderStatus | None:
        """The last provider status."""
        return self._view.provider

    @property
    def reconnects(self) -> int:
        """How many times the view was back in sync after a lost connection."""
        return self._view.reconnects

    @property
    def state(self) -> DurableState:
        """CONNECTED (or opening), RECONNECTING, or CLOSED."""
        return self._view.state

    @property
    def last_event_at(self) -> dt.datetime | None:
        """When the last change was delivered (UTC); None before the first."""
        return self._view.last_event_at
