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
    one before was taken; up to the first that is not all there, or is compressed
    (`recv_message` reads and refuses that one).

    The one function reading grpclib's private stream state (`Stream._stream.buffer`, the
    buffer's `_acked` and `_acked_size`, `Stream._codec`): there is no public way to take
    several messages per read. grpclib 0.4.8 and 0.4.9 (the range allowed) have it;
    tests/client/test_received.py fails if what this relies on changes."""
    buffer = stream._stream.buffer
    acked = buffer._acked
    if len(acked) != 1:  # the rest of one frame, or nothing
        return
    view, size = acked[0]
    taken: list[bytes] = []
    at = 0
    while size - at >= 5 and not view[at]:
        end = at + 5 + int.from_bytes(view[at + 1:at + 5], "big")
        if end > size:
            break
        taken.append(view[at + 5:end].tobytes())
        at = end
    if not at:
        return
    # The buffer is left as if recv_message had read them all (before the first is
    # decoded: a malformed one ends the stream, as from recv_message).
    if at == size:
        acked.popleft()
    else:
        acked[0] = AckedData(view[at:], size - at)
    buffer._acked_size -= at
    codec = stream._codec
    for data in taken:
        yield codec.decode(data, reply_type)
