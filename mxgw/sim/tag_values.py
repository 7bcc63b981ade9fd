"""Attribute values over time, shared by every session of one simulated gateway."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .galaxy import (
    MX_BOOLEAN,
    MX_DOUBLE,
    MX_FLOAT,
    MX_INTEGER,
    MX_STRING,
    MX_TIME,
    AttributeDef,
    GalaxyObjectDef,
)
from .mx_values import default_value

Listener = Callable[[], None]


@dataclass
class TagState:
    """One attribute's current value; changing attributes advance lazily with time."""

    attribute: AttributeDef
    value: Any
    timestamp: dt.datetime
    period: float
    last_step: float
    seed: int = 0
    steps: int = 0
    version: int = 0
    """Bumped on every change (own or written), so a watcher can tell it changed."""
    listeners: set[Listener] = field(default_factory=set)


def _step(attribute: AttributeDef, value: Any, steps: int, seed: int) -> Any:
    if attribute.data_type == MX_INTEGER:
        return (value + steps) % 1_000_000 if not isinstance(value, list) else [
            (v + steps) % 1_000_000 for v in value]
    if attribute.data_type in (MX_DOUBLE, MX_FLOAT):
        return round(50.0 + 40.0 * math.sin((seed + steps) / 10.0), 3)
    if attribute.data_type == MX_BOOLEAN:
        return bool((seed + steps) % 2)
    if attribute.data_type == MX_STRING:
        return f"value {seed + steps}"
    if attribute.data_type == MX_TIME:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return value


class TagStore:
    """Current values of every attribute, created on first use."""

    def __init__(self, rate: float = 1.0) -> None:
        self.rate = rate
        """Multiplier of change rates: 2.0 changes twice as often."""
        self._states: dict[str, TagState] = {}

    def state(self, obj: GalaxyObjectDef, attribute: AttributeDef) -> TagState:
        key = f"{obj.tag_name}.{attribute.name}".lower()
        state = self._states.get(key)
        if state is None:
            seed = obj.gobject_id
            initial: Any = default_value(attribute.data_type)
            if attribute.data_type == MX_INTEGER:
                initial = seed * 10
            if attribute.is_array:
                initial = [initial] * attribute.array_length
            period = attribute.change_period_ms / 1000.0 / self.rate if self.rate > 0 else 0.0
            state = TagState(attribute, initial, dt.datetime.now(dt.timezone.utc), period,
                             time.monotonic(), seed=seed)
            self._states[key] = state
        self.refresh(state)
        return state

    def refresh(self, state: TagState) -> TagState:
        """Advance a changing attribute to now."""
        if state.period <= 0:
            return state
        now = time.monotonic()
        steps = int((now - state.last_step) / state.period)
        if steps > 0:
            state.steps += steps
            state.version += 1
            state.value = _step(state.attribute, state.value, steps, state.seed + state.steps)
            state.last_step += steps * state.period
            state.timestamp = dt.datetime.now(dt.timezone.utc)
        return state

    def next_change_in(self, state: TagState) -> float | None:
        """Seconds until a changing attribute changes next (None if it only changes on writes)."""
        if state.period <= 0:
            return None
        return max(0.0, state.last_step + state.period - time.monotonic())

    def write(self, state: TagState, value: Any) -> None:
        """Set a value (whole) and tell every listener."""
        state.value = value
        state.version += 1
        state.timestamp = dt.datetime.now(dt.timezone.utc)
        state.last_step = time.monotonic()
        for listener in list(state.listeners):
            listener()
