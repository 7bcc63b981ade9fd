"""The messages of a stream already received in full, taken without a wait each.

grpclib's `Stream.recv_message` reads one message in two awaited `Buffer.read` calls (its
5-byte prefix, then its bytes) under two more coroutine layers and an event dispatch: a
fifth of a streamed event's client CPU, when each DATA frame holds dozens of messages.
`Buffer.read` moves a whole DATA frame into the buffer's acknowledged part (its window
given back) and reads from there; what is left of that frame after one message is taken
here, every complete message of it in one pass. `recv_message` still reads every message
that starts in one frame and ends in another (it waits, and gives the window back).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from grpclib.protocol import AckedData

ReplyT = TypeVar("ReplyT")


def received(stream: Any, reply_type: type[ReplyT]) -> Iterator[ReplyT]:
    """The messages of `stream` (a grpclib client Stream) whose bytes are all in its
    buffer's acknowledged part, in order, each decoded (by the stream's codec) when the
    one before was taken; stops at the first that is not all there, or is compressed
    (`recv_message` reads and refuses that one).

    The one function reading grpclib's private stream state (`Stream._stream.buffer`, the
    buffer's `_acked` and `_acked_size`, `Stream._codec`): there is no public way to take
    several messages per read. grpclib is pinned; tests/client/test_received.py fails if
    what this relies on changes."""
    buffer = stream._stream.buffer
    acked = buffer._acked
    codec = stream._codec
    while len(acked) == 1:  # the rest of one frame (more: left to recv_message)
        view, size = acked[0]
        if size < 5 or view[0]:
            return
        length = int.from_bytes(view[1:5], "big")
        end = 5 + length
        if end > size:
            return
        data = view[5:end].tobytes()
        if end == size:
            acked.popleft()
        else:
            acked[0] = AckedData(view[end:], size - end)
        buffer._acked_size -= end
        yield codec.decode(data, reply_type)
