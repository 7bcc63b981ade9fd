"""One StreamAlarms subscriber's queue: what the monitor pushed that the stream has not sent."""

from __future__ import annotations

import asyncio
from collections import deque

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._proto.mxaccess_gateway import v1 as pb


def matches(reference: str, prefix: str) -> bool:
    """Whether an alarm reference starts with a filter prefix (any case, as Galaxy names)."""
    return reference.lower().startswith(prefix.lower())


class AlarmFeed:
    """A bounded queue of feed messages for one StreamAlarms call.

    The monitor fills it with the snapshot, the marker and the provider status in the
    same step that registers it, so nothing raised meanwhile can fall between the
    snapshot and the live part. A subscriber that falls `capacity` messages behind is cut
    off with RESOURCE_EXHAUSTED (it reconnects and takes a new snapshot).
    """

    def __init__(self, prefix: str, capacity: int) -> None:
        self.prefix = prefix
        self.capacity = capacity
        self._queue: deque[pb.AlarmFeedMessage] = deque()
        self._wakeup = asyncio.Event()
        self._failure: GRPCError | None = None
        self._ended = False

    def wants(self, reference: str) -> bool:
        return matches(reference, self.prefix)

    @property
    def closed(self) -> bool:
        """Ended or failed: the monitor pushes nothing more."""
        return self._ended or self._failure is not None

    def push(self, message: pb.AlarmFeedMessage) -> None:
        if self.closed:
            return
        if len(self._queue) >= self.capacity:
            self._queue.clear()
            self._failure = GRPCError(Status.RESOURCE_EXHAUSTED,
                                      "alarm subscriber fell behind: disconnected; stream "
                                      "again for a new snapshot")
        else:
            self._queue.append(message)
        self._wakeup.set()

    def end(self) -> None:
        """No more messages: the stream ends normally once drained."""
        self._ended = True
        self._wakeup.set()

    async def next(self) -> pb.AlarmFeedMessage | None:
        """The next message (waits); None once ended and drained; raises the failure."""
        while True:
            if self._failure is not None:
                raise self._failure
            if self._queue:
                return self._queue.popleft()
            if self._ended:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
