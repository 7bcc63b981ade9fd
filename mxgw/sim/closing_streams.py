"""Server streams that always run their handler's cleanup when the stream ends."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from betterproto2.casing import snake_case
from grpclib.const import Cardinality, Handler
from grpclib.server import Stream

StreamHandler = Callable[[Stream[Any, Any]], Awaitable[None]]


class ClosingServerStreams:
    """Mixin for generated service bases: close each server-stream generator explicitly.

    betterproto2's base iterates the handler's generator and sends each message; when a
    send fails (the peer went away, a GOAWAY) the generator is left suspended and its
    `finally` (detaching the subscriber) runs only when the garbage collector finds it.
    Until then the session looks subscribed and every resume gets ALREADY_EXISTS. So the
    server-stream routes of grpclib's public `__mapping__` are served here instead: the
    method named after the RPC (`StreamEvents` -> `stream_events`) is iterated, and its
    generator closed however the stream ends.
    """

    def __mapping__(self) -> dict[str, Handler]:
        mapping: dict[str, Handler] = super().__mapping__()  # type: ignore[misc]
        for route, handler in mapping.items():
            if handler.cardinality is Cardinality.UNARY_STREAM:
                method = getattr(self, snake_case(route.rsplit("/", 1)[1]))
                mapping[route] = handler._replace(func=_closing(method))
        return mapping


def _closing(method: Callable[[Any], Any]) -> StreamHandler:
    async def serve(stream: Stream[Any, Any]) -> None:
        request = await stream.recv_message()
        responses = method(request)
        if not isinstance(responses, AsyncGenerator):
            return
        try:
            async for message in responses:
                await stream.send_message(message)
        finally:
            await responses.aclose()
    return serve
