"""Fault injection: switched on per run (SimConfig.faults) and changeable while serving.

Every field is read at the moment it applies, so a test may change `sim.faults.<field>`
between calls. Connection-level faults (drop, GOAWAY) are methods of SimServer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .._proto.mxaccess_gateway import v1 as pb


def parse_status(name: str) -> pb.ProtocolStatusCode:
    """`TIMEOUT` or `PROTOCOL_STATUS_CODE_TIMEOUT` -> the code; ValueError if unknown."""
    short = name.strip().upper()
    if short.startswith("PROTOCOL_STATUS_CODE_"):
        short = short[len("PROTOCOL_STATUS_CODE_"):]
    try:
        return pb.ProtocolStatusCode[short]
    except KeyError:
        raise ValueError(f"unknown protocol status {name!r}") from None


@dataclass
class FaultConfig:
    """What to break, and how often."""

    latency_ms: float = 0.0
    """Added before every unary reply (OpenSession, CloseSession, Invoke)."""
    fail_fraction: float = 0.0
    """Fraction (0..1) of Invoke commands answered with `fail_status` instead of running."""
    fail_status: pb.ProtocolStatusCode = pb.ProtocolStatusCode.WORKER_UNAVAILABLE
    """The protocol status of an injected command failure."""
    drop_after_events: int = 0
    """>0: abort an event stream's TCP connection after it has sent this many events."""
    stall_after_events: int = 0
    """>0: an event stream stops sending (but stays open) after this many events."""
    fault_after_commands: int = 0
    """>0: a session faults when it has run this many commands."""
    alarm_failover_every: float = 0.0
    """>0: the alarm provider fails over to SUBTAG mode, and back, every so many seconds
    (read at start-up and at each switch; 0 then ends it in ALARMMGR mode)."""
    seed: int | None = None
    """Seed of the random choice of failing commands (None: unseeded)."""
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._random.seed(self.seed)

    def validate(self) -> None:
        """Raise ValueError for out-of-range settings."""
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if not 0.0 <= self.fail_fraction <= 1.0:
            raise ValueError("fail_fraction must be between 0 and 1")
        if self.fail_status in (pb.ProtocolStatusCode.OK, pb.ProtocolStatusCode.UNSPECIFIED):
            raise ValueError("fail_status must be a failing protocol status")
        for name in ("drop_after_events", "stall_after_events", "fault_after_commands",
                     "alarm_failover_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    @property
    def active(self) -> bool:
        """Whether any fault is switched on."""
        return bool(self.latency_ms or self.fail_fraction or self.drop_after_events
                    or self.stall_after_events or self.fault_after_commands
                    or self.alarm_failover_every)

    def should_fail(self) -> bool:
        """Whether this command is one of the injected failures."""
        if self.fail_fraction <= 0:
            return False
        return self.fail_fraction >= 1 or self._random.random() < self.fail_fraction
