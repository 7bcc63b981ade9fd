"""One session's event stream: gapless sequence, replay ring, bounded delivery queue.

Events are kept as the bytes they encode to, taken when they are emitted: a queue of
bytes is nothing the garbage collector walks, where a queue of messages (five objects an
event) had it spend more CPU than the simulator's own work once thousands were queued
(a 10,000-entry write_bulk queues 20,000 events when nobody streams them).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._proto.mxaccess_gateway import v1 as pb
from ..contract import codec

Encoder = Callable[[pb.MxEvent], bytes]
"""How emitted events are encoded (`codec.encode`)."""
Kept = bytes | pb.MxEvent
"""An event as the log keeps it: its bytes, or the message (without an encoder)."""


class EncodedEvent(pb.MxEvent):
    """An event sent as the bytes it was encoded to (the simulator's codec sends what
    `bytes()` gives for it); none of its fields are set."""

    _mxgw_data = b""

    def __bytes__(self) -> bytes:
        return self._mxgw_data

    def __repr__(self) -> str:
        return f"EncodedEvent({len(self._mxgw_data)} bytes)"


def _sendable(kept: Kept) -> pb.MxEvent:
    if not isinstance(kept, bytes):
        return kept
    event = EncodedEvent.__new__(EncodedEvent)  # no fields: only its bytes are read
    event._mxgw_data = kept
    return event

OVERFLOW_POLICIES = ("fault", "disconnect")


@dataclass(frozen=True)
class EventLimits:
    """Replay ring and queue sizes (the gateway's defaults)."""

    replay_capacity: int = 1024
    replay_seconds: float = 300.0
    queue_capacity: int = 10_000
    overflow_policy: str = "fault"
    """`fault`: a subscriber that falls behind faults the session; `disconnect`: it is
    disconnected (RESOURCE_EXHAUSTED) and may resume from the replay ring."""

    def __post_init__(self) -> None:
        if self.overflow_policy not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow_policy must be one of {', '.join(OVERFLOW_POLICIES)}")
        if self.replay_capacity < 0 or self.queue_capacity < 1 or self.replay_seconds < 0:
            raise ValueError("event limits must be positive")


class EventLog:
    """Assigns sequence numbers, keeps the replay ring and feeds at most one subscriber.

    `pending` holds what the subscriber has not been sent yet (also while nobody is
    attached, up to the queue capacity); the ring holds the last events for resumption.
    """

    def __init__(self, session_id: str, limits: EventLimits,
                 encode: Encoder | None = codec.encode) -> None:
        self.session_id = session_id
        self.limits = limits
        self._encode = encode
        """None: keep the messages (a variant contract adds its fields as they are sent)."""
        self.sequence = 0
        self._ring: deque[tuple[float, int, Kept]] = deque(maxlen=limits.replay_capacity)
        """(monotonic time, sequence, event) of the last events, for resumption."""
        self._pending: deque[tuple[int, Kept]] = deque()
        """(sequence, event) of what the subscriber has not been sent yet."""
        self._wakeup = asyncio.Event()
        self.subscribed = False
        self._failure: GRPCError | None = None
        self._ended = False
        self.overflowed = False
        """Set when the queue overflowed under the `fault` policy: the session must fault."""

    def emit(self, event: pb.MxEvent) -> None:
        """Number, timestamp, record and queue one event."""
        self.sequence += 1
        sequence = self.sequence
        now = dt.datetime.now(dt.timezone.utc)
        event.session_id = self.session_id
        event.worker_sequence = sequence
        if event.worker_timestamp is None:
            event.worker_timestamp = now
        event.gateway_receive_timestamp = now
        kept: Kept = event if self._encode is None else self._encode(event)
        if self.limits.replay_capacity:
            self._ring.append((time.monotonic(), sequence, kept))
        if len(self._pending) >= self.limits.queue_capacity:
            if self.subscribed:
                self._overflow()
            else:
                self._pending.popleft()  # nobody listens: keep the newest
        self._pending.append((sequence, kept))
        self._wakeup.set()

    def _overflow(self) -> None:
        if self.limits.overflow_policy == "disconnect":
            self.fail(GRPCError(Status.RESOURCE_EXHAUSTED,
                                "event subscriber fell behind: disconnected; resume from the "
                                "last worker_sequence seen"))
            self._pending.clear()
        else:
            self.fail(GRPCError(Status.RESOURCE_EXHAUSTED,
                                "event queue overflow: the session is faulted"))
            self.overflowed = True

    def _available(self) -> list[tuple[int, Kept]]:
        horizon = time.monotonic() - self.limits.replay_seconds
        while self._ring and self._ring[0][0] < horizon:
            self._ring.popleft()
        return [(sequence, event) for _, sequence, event in self._ring]

    def attach(self, after: int) -> None:
        """Attach the one subscriber, replaying after `after` (0: what is queued)."""
        if self.subscribed:
            raise GRPCError(Status.ALREADY_EXISTS, "another subscriber streams this session")
        self.subscribed = True
        self._failure = None
        if after <= 0:
            self._wakeup.set()
            return
        merged = dict(self._available())
        merged.update(self._pending)
        replay = [(s, merged[s]) for s in sorted(merged) if s > after]
        self._pending = deque(replay)
        oldest = replay[0][0] if replay else self.sequence + 1
        if after < self.sequence and oldest > after + 1:
            self._pending.appendleft((0, pb.MxEvent(
                session_id=self.session_id,
                family=pb.MxEventFamily.UNSPECIFIED,
                replay_gap=pb.ReplayGap(requested_after_sequence=after,
                                        oldest_available_sequence=oldest),
                gateway_receive_timestamp=dt.datetime.now(dt.timezone.utc),
            )))
        self._wakeup.set()

    def detach(self) -> None:
        self.subscribed = False
        self._failure = None

    async def next_event(self) -> pb.MxEvent | None:
        """The next event for the subscriber (waits); None when the stream has ended.

        Raises the failure that cuts the subscriber off (overflow, fault).
        """
        while True:
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            if self._pending:
                return _sendable(self._pending.popleft()[1])
            if self._ended:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()

    async def wait_cut(self) -> None:
        """Wait (without taking events) until the subscriber is cut off or the stream ends."""
        while self._failure is None and not self._ended:
            self._wakeup.clear()
            await self._wakeup.wait()

    def fail(self, error: GRPCError) -> None:
        """End the current subscriber's stream with `error` (the first failure wins)."""
        if self._failure is None:
            self._failure = error
        self._wakeup.set()

    def end(self) -> None:
        """No more events: the subscriber's stream ends normally once drained."""
        self._ended = True
        self._wakeup.set()
