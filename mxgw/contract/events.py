"""Facts of the event stream."""

from __future__ import annotations

from .._proto.mxaccess_gateway import v1 as pb


def is_replay_gap(event: pb.MxEvent) -> bool:
    """True for the gap sentinel: the gateway no longer holds the events asked for.

    It carries `replay_gap` and no family; the events after it are live again, so the
    consumer must take a fresh snapshot of its items."""
    return event.replay_gap is not None and event.family == pb.MxEventFamily.UNSPECIFIED
