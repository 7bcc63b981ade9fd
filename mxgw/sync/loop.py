"""The private event loop a blocking facade runs its calls on, one call at a time.

No thread: each call runs the loop (`run_until_complete`) until its task is done, and the
async objects (connection, sessions, streams) wait on that loop between calls.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import types
import warnings
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConfigurationError, RunningLoopError

if TYPE_CHECKING:
    from ..connection import Connection
    from .streams import Stream

T = TypeVar("T")

_Handler = Callable[[int, "types.FrameType | None"], Any]


async def _awaiting(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _settle(task: asyncio.Task[Any]) -> None:
    """Mark a finished task's outcome as seen (the caller has its own exception)."""
    if not task.cancelled():
        task.exception()


class Loop:
    """An event loop of the facade's own, run once per blocking call."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._interrupted = 0
        self.streams: weakref.WeakSet[Stream[Any]] = weakref.WeakSet()
        """The streams open on this loop, closed before the connection is."""
        self._unclosed: weakref.finalize[Any, Any] | None = None

    def owned_by(self, owner: Connection) -> None:
        """Release `owner` (the connection this loop was made for) if it is never closed:
        when the last object using it is dropped, or at interpreter exit."""
        # A finalizer rather than __del__: weakref callbacks run before any __del__ of
        # the garbage they belong to, so the connection is closed before grpclib's
        # Channel finalizer would report it (and atexit closes what is still open).
        self._unclosed = weakref.finalize(self, _release_unclosed, self._loop, owner,
                                          self.streams)

    @property
    def closed(self) -> bool:
        return self._loop.is_closed()

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run `awaitable` to its end on this loop and return its result.

        Ctrl-C cancels the call's task, waits until it has unwound (streams reset, the
        loop idle) and raises KeyboardInterrupt: the objects stay usable."""
        try:
            check_no_running_loop()
            if self._loop.is_closed():
                raise ConfigurationError("the client is closed")
        except ConfigurationError:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # never started: no "was never awaited" warning
            raise
        task = self._loop.create_task(_awaiting(awaitable))
        self._interrupted = 0
        previous = self._install_sigint(task)
        try:
            return self._loop.run_until_complete(task)
        except asyncio.CancelledError:
            if self._interrupted:
                raise KeyboardInterrupt from None
            raise
        except KeyboardInterrupt:
            # Ctrl-C under another SIGINT handler (ours was not installed) arrived as an
            # exception out of the loop: the call's task must not be left half way.
            self._unwind(task)
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            if task.done():
                _settle(task)
            if self._interrupted and not task.cancelled() and task.done():
                # Ctrl-C came as the call finished: the user still asked to stop.
                self._interrupted = 0
                raise KeyboardInterrupt

    def _install_sigint(self, task: asyncio.Task[Any]) -> _Handler | None:
        """While the call runs, Ctrl-C cancels its task instead of raising wherever the
        loop happens to be (only where Python's own handler is in place, as
        `asyncio.Runner` does)."""
        if threading.current_thread() is not threading.main_thread():
            return None
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return None  # ignored, or the application's own handler

        def on_sigint(signum: int, frame: types.FrameType | None) -> None:
            self._interrupted += 1
            if self._interrupted == 1 and not task.done():
                task.cancel()
                self._loop.call_soon_threadsafe(lambda: None)  # wake a waiting select()
                return
            raise KeyboardInterrupt  # a second Ctrl-C: stop at once

        try:
            signal.signal(signal.SIGINT, on_sigint)
        except ValueError:
            return None
        return signal.default_int_handler

    def _unwind(self, task: asyncio.Task[Any]) -> None:
        """Cancel `task` and run the loop until it has finished."""
        task.cancel()
        while not task.done():
            try:
                self._loop.run_until_complete(asyncio.wait({task}))
            except KeyboardInterrupt:
                continue  # Ctrl-C again while unwinding: finish unwinding first

    def call_soon(self, awaitable: Awaitable[Any]) -> None:
        """Start `awaitable` on this loop without running it now (it runs with the next
        call): for cleanup asked for while the loop is running or cannot be run."""
        if not self._loop.is_closed():
            self._loop.call_soon(self._loop.create_task, _awaiting(awaitable))

    @property
    def running(self) -> bool:
        """True while one of this loop's calls is running (cleanup from a finalizer)."""
        return self._loop.is_running()

    def close(self) -> None:
        """Finish what is pending (closed streams' resets), then close the loop."""
        if self._unclosed is not None:
            self._unclosed.detach()  # closed as it should be: nothing to release
        if self._loop.is_closed():
            return
        try:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            self._loop.close()


def _release_unclosed(loop: asyncio.AbstractEventLoop, owner: Connection,
                      streams: weakref.WeakSet[Stream[Any]]) -> None:
    """Close a client nobody closed, as Python does an unclosed file: a ResourceWarning
    (shown with `-W default` or `-X dev`), and the connection released anyway, quietly.
    Left alone, grpclib's Channel finalizer prints "Unclosed connection" through the
    loop's exception handler whenever it runs before the loop's own."""
    if loop.is_closed():
        return
    warnings.warn(f"unclosed mxgw.sync connection to {owner.options.endpoint}: close the "
                  "client (`with mxgw.sync.connect() as client:`, or client.close())",
                  ResourceWarning, stacklevel=1)
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: nothing runs here, so ours can run the close
        try:
            for stream in list(streams):  # only at exit: a stream holds its loop
                stream.close()
            loop.run_until_complete(owner.close())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
        return
    # Dropped inside a running event loop (async code), where ours cannot run: closed,
    # it leaves the sockets to their transports' finalizers, and grpclib's finalizer
    # stays quiet.
    loop.close()


def close_client(loop: Loop, client: Connection) -> None:
    """Close a facade's client; the connection's owner first closes the streams still
    open (each resets its HTTP/2 stream), then the connection, then the loop."""
    if loop.closed:
        return
    check_no_running_loop()  # before anything is closed
    if client.owner is not client:
        loop.run(client.close())
        return
    try:
        for stream in list(loop.streams):
            stream.close()
        loop.run(client.close())
    finally:
        loop.close()


def check_no_running_loop() -> None:
    """Raise RunningLoopError when called from a running event loop (async code, or a
    notebook cell, which runs inside the kernel's loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RunningLoopError(
        "mxgw.sync blocks, so it cannot run inside a running event loop (async code, or "
        "a Jupyter cell): use the async API there instead (`await "
        "mxgw.GatewayClient.connect(...)`; notebooks accept top-level await)")
