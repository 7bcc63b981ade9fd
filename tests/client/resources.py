"""What a test leaves behind in this process: open fds, asyncio tasks, RSS, and the
warnings and loop errors raised meanwhile."""

from __future__ import annotations

import asyncio
import gc
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..conftest import eventually


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def other_tasks(test: asyncio.Task[Any] | None = None) -> set[asyncio.Task[Any]]:
    """The loop's tasks other than the test's (by default: the one asking) and the one
    asking (`eventually` polls in a task of its own)."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and t is not test}


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


@dataclass
class Baseline:
    test: asyncio.Task[Any] | None
    fds: int
    tasks: set[asyncio.Task[Any]]
    rss_kib: int
    warnings: list[warnings.WarningMessage] = field(default_factory=list)
    loop_errors: list[dict[str, Any]] = field(default_factory=list)

    def figures(self) -> str:
        return (f"fds {self.fds} -> {open_fds()}, tasks {len(self.tasks)} -> "
                f"{len(other_tasks(self.test))}, RSS {self.rss_kib} -> {rss_kib()} KiB")

    async def restored(self, timeout: float = 10.0) -> None:
        """Wait until the fds and tasks are back where they were (failing with what is
        left), then collect garbage: no ResourceWarning, no loop error."""
        def back() -> bool:
            return open_fds() <= self.fds and other_tasks(self.test) <= self.tasks
        try:
            await eventually(back, timeout)
        except asyncio.TimeoutError:
            left = [repr(t) for t in other_tasks(self.test) - self.tasks]
            raise AssertionError(f"not back to baseline: {self.figures()}; "
                                 f"tasks left: {left[:5]}") from None
        gc.collect()
        await asyncio.sleep(0)  # let finalizers' callbacks (and their complaints) run
        gc.collect()
        problems = [f"{w.category.__name__}: {w.message}" for w in self.warnings]
        problems += [str(e.get("message")) + " " + repr(e.get("exception"))
                     for e in self.loop_errors]
        assert not problems, problems


@contextmanager
def watched() -> Iterator[Baseline]:
    """A Baseline taken now; every warning (ResourceWarning included) and every error the
    loop reports until the block ends is recorded in it."""
    gc.collect()
    loop = asyncio.get_running_loop()
    baseline = Baseline(asyncio.current_task(), open_fds(), other_tasks(), rss_kib())
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: baseline.loop_errors.append(context))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            baseline.warnings = caught
            yield baseline
    finally:
        loop.set_exception_handler(previous)
