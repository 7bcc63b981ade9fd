"""A server stream (or any async iterator) as a blocking iterator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from ..errors import ConfigurationError, MxGatewayError, RunningLoopError
from .facade import Facade
from .loop import Loop, check_no_running_loop

T = TypeVar("T")
StreamT = TypeVar("StreamT", bound="Stream[Any]")


class Stream(Generic[T]):
    """An async iterator read with a plain `for`, each step run on the facade's loop.

        with session.events(timeout=10) as events:
            for event in events:
                ...

    Like a file: leaving a `for` loop (break) leaves the stream open, so another `for`
    carries on with the next item; the `with` block, `close()`, or dropping the last
    reference to it (a bare `for item in session.events(): ... break`) closes it,
    resetting the HTTP/2 stream at once; the session stays usable. With `timeout`, a
    `for` loop ends (`timed_out` True, the stream still open) when no item came for that
    many seconds.
    """

    def __init__(self, loop: Loop, source: AsyncIterator[T], *, timeout: float | None = None,
                 aclose: Callable[[], Awaitable[None]] | None = None) -> None:
        if timeout is not None and not timeout > 0:
            raise ConfigurationError("timeout must be > 0 seconds (or None: no limit)")
        self._loop = loop
        self._source = source
        self._timeout = timeout
        self._aclose = aclose if aclose is not None else getattr(source, "aclose", None)
        self._closed = False
        loop.streams.add(self)
        self.timed_out = False
        """True when the last step ended because no item came within `timeout`."""

    def __repr__(self) -> str:
        return f"mxgw.sync.{type(self).__name__}({self._source!r})"

    @property
    def closed(self) -> bool:
        """True once the stream was closed or ended."""
        return self._closed

    def __iter__(self: StreamT) -> StreamT:
        return self

    def __next__(self) -> T:
        """The next item; StopIteration at the end, once closed, or after `timeout`."""
        self.timed_out = False
        if self._closed:
            raise StopIteration
        try:
            return self._loop.run(self._step())
        except StopAsyncIteration:
            self.close()
            raise StopIteration from None
        except asyncio.TimeoutError as exc:
            if isinstance(exc, MxGatewayError):  # a call's deadline: a failure
                self._close_if_ended()
                raise
            self.timed_out = True
            raise StopIteration from None
        except BaseException:
            self._close_if_ended()
            raise

    async def _step(self) -> T:
        if self._timeout is None:
            return await self._source.__anext__()
        return await asyncio.wait_for(self._source.__anext__(), self._timeout)

    def _ended(self) -> bool:
        """True when the async iterator has ended on its own (after a failure)."""
        return bool(getattr(self._source, "closed", False))

    def _close_if_ended(self) -> None:
        if self._ended():
            self.close()

    def close(self) -> None:
        """Close the stream now (idempotent); the session stays open."""
        if self._closed:
            return
        if self._aclose is not None and not self._loop.closed and not self._loop.running:
            check_no_running_loop()  # before anything changes
        self._closed = True
        self._loop.streams.discard(self)
        if self._aclose is None or self._loop.closed:
            return
        if self._loop.running:  # collected while a call runs: close it within that call
            self._loop.call_soon(self._aclose())
        else:
            self._loop.run(self._aclose())

    def __del__(self) -> None:
        # The last reference went (a bare `for` over `session.events()` left with break):
        # reset the stream now rather than when the connection closes.
        if getattr(self, "_closed", True) or self._aclose is None or self._loop.closed:
            return  # (or __init__ refused its arguments)
        try:
            self.close()
        except RunningLoopError:  # collected inside another event loop: at our next call
            self._closed = True
            self._loop.call_soon(self._aclose())

    def __enter__(self: StreamT) -> StreamT:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def stream_of(facade: Facade[Any], source: AsyncIterator[T]) -> Stream[T]:
    """A raw stream of `facade`'s async object (`wrapping`'s wrapper of every method that
    returns one), on the facade's loop."""
    return Stream(facade._loop, source)
