"""Streamed messages packed several to a DATA frame (as gRPC servers that coalesce their
writes send them) arrive whole, in order and once each, and a failure status after them
is still raised: `mxgw/received.py` takes the complete ones of a frame without a wait each,
from grpclib's private buffer state, and this fails if the pinned grpclib changes it."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt

import grpclib
import pytest
from grpclib.protocol import AckedData, Buffer, UnackedData

import mxgw
from mxgw import GatewayClient, pb
from mxgw.connection import Connecting

from ..conftest import TEST_KEY
from .peers import packed_stream

WHEN = dt.datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)


def event(sequence: int) -> pb.MxEvent:
    return pb.MxEvent(
        session_id="s", worker_sequence=sequence, family=pb.MxEventFamily.ON_DATA_CHANGE,
        item_handle=7, worker_timestamp=WHEN,
        on_data_change=pb.OnDataChangeEvent(value=mxgw.to_mx_value(sequence), quality=192,
                                            statuses=[pb.MxStatusProxy(success=-1)]))


EVENTS = [event(n) for n in range(1, 1201)]  # ~70 bytes each: 200 to a 16 KiB frame


def client_of(endpoint: str) -> Connecting[GatewayClient]:
    return GatewayClient.connect(endpoint, api_key=TEST_KEY, plaintext=True, timeout=30)


def test_the_grpclib_state_read_is_the_pinned_one() -> None:
    """grpclib 0.4.8 and 0.4.9 (the range pyproject allows) have the same Buffer."""
    assert grpclib.__version__ in ("0.4.8", "0.4.9"), "check mxgw/received.py against it"
    assert AckedData._fields == ("data", "data_size")
    assert UnackedData._fields == ("data", "data_size", "ack_size")
    acks: list[int] = []
    buffer = Buffer(acks.append)
    assert isinstance(buffer._acked, collections.deque) and buffer._acked_size == 0
    assert isinstance(buffer._unacked, asyncio.Queue) and buffer._ack_callback == acks.append
    buffer.add(b"frame", 9)  # a frame's data and the window it took (padding included)
    buffer.eof()
    assert buffer._unacked.get_nowait() == UnackedData(b"frame", 5, 9)
    assert buffer._unacked.get_nowait().ack_size == 0  # the end of the stream, last


async def test_messages_packed_in_frames_arrive_whole_in_order_once() -> None:
    async with packed_stream([bytes(e) for e in EVENTS]) as endpoint, \
            client_of(endpoint) as client:
        got = [e async for e in client.stream_events_raw("s")]
    assert [e.worker_sequence for e in got] == [e.worker_sequence for e in EVENTS]
    assert got == EVENTS
    assert [bytes(e) for e in got] == [bytes(e) for e in EVENTS]


async def test_a_failure_status_after_packed_messages_is_raised() -> None:
    async with packed_stream([bytes(e) for e in EVENTS], status=14) as endpoint, \
            client_of(endpoint) as client:
        got: list[pb.MxEvent] = []
        with pytest.raises(mxgw.UnavailableError):
            async for e in client.stream_events_raw("s"):
                got.append(e)
    assert got == EVENTS[:len(got)]  # in order, none twice, none skipped


async def test_messages_one_to_a_frame_arrive_whole_in_order_once() -> None:
    """A server that sends each message in a DATA frame of its own (many to one socket
    read): the frames already received are taken without a wait each, and their windows
    given back as they are taken, so a stream longer than the window goes on to its end."""
    long_stream = EVENTS * 4  # ~330 KB: five times the default 64 KiB stream window
    async with packed_stream([bytes(e) for e in long_stream], frame_each=True) as endpoint, \
            client_of(endpoint) as client:
        got = [e async for e in client.stream_events_raw("s")]
    assert [bytes(e) for e in got] == [bytes(e) for e in long_stream]


async def test_a_failure_status_after_messages_one_to_a_frame_is_raised() -> None:
    async with packed_stream([bytes(e) for e in EVENTS], status=14, frame_each=True) \
            as endpoint, client_of(endpoint) as client:
        got: list[pb.MxEvent] = []
        with pytest.raises(mxgw.UnavailableError):
            async for e in client.stream_events_raw("s"):
                got.append(e)
    assert got == EVENTS[:len(got)]
