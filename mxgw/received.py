"""The messages of a stream already received in full, taken without a wait each.

grpclib's `Stream.recv_message` reads one message in two awaited `Buffer.read` calls (its
5-byte prefix, then its bytes) under two more coroutine layers and an event dispatch: a
fifth of a streamed event's client CPU. `Buffer.read` moves a whole DATA frame into the
buffer's acknowledged part (its window given back) and reads from there. Here, what is
left of that frame after one message, and then each whole frame the buffer already holds
(one socket read brings dozens, from a server that sends a message per frame), are taken
in one pass each. `recv_message` still reads every message that starts in one frame and
ends in another (it waits, and gives the window back).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from grpclib.protocol import AckedData

ReplyT = TypeVar("ReplyT")


def received(stream: Any, reply_type: type[ReplyT]) -> Iterator[ReplyT]:
    """The messages of `stream` (a grpclib client Stream) whose bytes are all received, in
    order, each decoded (by the stream's codec) when the one before was taken: the rest of
    the frame `recv_message` last read from, then each whole frame already received (as
    servers that send a message per DATA frame send them, many to one socket read); up to
    the first message that is not all in its frame, or is compressed (`recv_message`
    reads and refuses that one), or the end of the stream.

    A frame is taken, and its flow-control window given back, only once every message
    before it was taken, as `Buffer.read` does: the window still bounds what waits.

    The one function reading grpclib's private stream state (`Stream._stream.buffer`, the
    buffer's `_acked`, `_acked_size`, `_unacked` and `_ack_callback`, `Stream._codec`):
    there is no public way to take several messages per read. grpclib 0.4.8 and 0.4.9
    (the range allowed) have it; tests/client/test_received.py fails if what this relies
    on changes."""
    buffer = stream._stream.buffer
    codec = stream._codec
    acked = buffer._acked
    while True:
        if not acked:  # the frame before was taken whole: the next, if it is here
            unacked = buffer._unacked
            if unacked.empty():
                return
            frame = unacked.get_nowait()
            if not frame.ack_size:  # the end of the stream, always last: put back
                unacked.put_nowait(frame)
                return
            buffer._ack_callback(frame.ack_size)
            if not frame.data_size:  # padding only
                continue
            acked.append(AckedData(memoryview(frame.data), frame.data_size))
            buffer._acked_size += frame.data_size
        elif len(acked) != 1:  # a message across frames: recv_message joins them
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
        for data in taken:
            yield codec.decode(data, reply_type)
        if at != size:
            return
