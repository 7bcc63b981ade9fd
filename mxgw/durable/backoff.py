"""How long a durable session waits between failed attempts: doubling, jittered, capped."""

from __future__ import annotations

import random
from collections.abc import Callable

from ..errors import ConfigurationError


class Backoff:
    """Delays between consecutive failed attempts.

    The first retry is at once (a dropped connection usually comes straight back); then
    `initial` seconds, doubling up to `cap`, each drawn from [delay/2, delay] so that many
    clients cut off by one gateway restart do not come back in step.
    """

    def __init__(self, initial: float, cap: float, max_attempts: int | None = None, *,
                 rng: Callable[[], float] = random.random) -> None:
        if not (initial > 0 and cap >= initial):
            raise ConfigurationError("backoff must be > 0 and max_backoff >= backoff")
        if max_attempts is not None and max_attempts < 1:
            raise ConfigurationError("max_attempts must be >= 1 (None: retry forever)")
        self.initial = initial
        self.cap = cap
        self.max_attempts = max_attempts
        self.failures = 0
        """Failed attempts in a row."""
        self._rng = rng

    def failed(self) -> float | None:
        """Count one failed attempt: the seconds to wait before the next one, or None
        when `max_attempts` failed attempts in a row are spent."""
        self.failures += 1
        if self.max_attempts is not None and self.failures >= self.max_attempts:
            return None
        if self.failures == 1:
            return 0.0
        delay = min(self.cap, self.initial * 2.0 ** min(self.failures - 2, 64))  # no overflow
        return delay * (0.5 + self._rng() / 2)

    def reset(self) -> None:
        """An attempt succeeded: the next failure starts over."""
        self.failures = 0
