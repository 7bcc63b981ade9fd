"""Server streams that always run their handler's cleanup when the stream ends."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from grpclib.server import Stream


class ClosingServerStreams:
    """Mixin for generated service bases: close each server-stream generator explicitly.

    betterproto2's base iterates the handler's generator and sends each message; when a
    send fails (the peer went away, a GOAWAY) the generator is left suspended and its
    `finally` (detaching the subscriber) runs only when the garbage collector finds it.
    Until then the session looks subscribed and every resume gets ALREADY_EXISTS.
    """

    async def _call_rpc_handler_server_stream(
        self, handler: Callable[[Any], Any], stream: Stream[Any, Any], request: Any
    ) -> None:
        responses = handler(request)
        if not isinstance(responses, AsyncGenerator):
            return
        try:
            async for message in responses:
                await stream.send_message(message)
        finally:
            await responses.aclose()
