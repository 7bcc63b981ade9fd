"""A server stream (or any async iterator) as a blocking iterator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

from ..errors import ConfigurationError, MxGatewayError
from .loop import Loop

T = TypeVar("T")


class Stream(Generic[T]):
    """An async iterator read with a plain `for`, each step run on the facade's loop.

        with session.events(timeout=10) as events:
            for event in events:
                ...

    The `for` loop ends the stream when it ends (break, an exception, Ctrl-C): the HTTP/2
    stream is reset at once and the session stays usable. `next(stream)` reads one item
    and leaves it open; `close()` or the `with` block closes it. With `timeout`, the
    iteration ends (StopIteration, `timed_out` True, the stream closed) when no item came
    for that many seconds.
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
        """True when the iteration ended because no item came within `timeout`."""

    def __repr__(self) -> str:
        return f"mxgw.sync.{type(self).__name__}({self._source!r})"

    @property
    def closed(self) -> bool:
        """True once the stream was closed or ended."""
        return self._closed

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                try:
                    item = self.__next__()
                except StopIteration:
                    return
                yield item
        finally:
            self.close()

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        try:
            return self._loop.run(self._step())
        except StopAsyncIteration:
            self.close()
            raise StopIteration from None
        except asyncio.TimeoutError as exc:
            if isinstance(exc, MxGatewayError):  # a call's deadline: a failure, raised
                raise
            self.timed_out = True
            self.close()
            raise StopIteration from None
        except BaseException:
            if self._closed_underneath():
                self.close()
            raise

    async def _step(self) -> T:
        if self._timeout is None:
            return await self._source.__anext__()
        return await asyncio.wait_for(self._source.__anext__(), self._timeout)

    def _closed_underneath(self) -> bool:
        return bool(getattr(self._source, "closed", False))

    def close(self) -> None:
        """Close the stream now (idempotent); the session stays open."""
        if self._closed:
            return
        self._closed = True
        self._loop.streams.discard(self)
        if self._aclose is None:
            return
        if self._loop.running:  # collected while another call runs: close after it
            self._loop.call_soon(self._aclose())
        elif not self._loop.closed:
            self._loop.run(self._aclose())

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
