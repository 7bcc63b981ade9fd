"""How a blocking class mirrors an async one without restating its methods.

    class Session(Facade[mxgw.Session]):
        register = blocking(mxgw.Session.register)

`session.register("x")` then runs `await async_session.register("x")` on the facade's
loop. The ParamSpec carries the async method's parameters (names, defaults, keywords),
so a type checker sees `register(client_name: str) -> int`, and its docstring is the
async method's.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from .loop import Loop, close_client

if TYPE_CHECKING:
    from ..connection import Connection

A = TypeVar("A")
"""The async class a facade mirrors (or a base of it that defines the method)."""
A_co = TypeVar("A_co", covariant=True)
F = TypeVar("F", bound="Facade[Any]")
P = ParamSpec("P")
R = TypeVar("R")
W = TypeVar("W")


class Facade(Generic[A_co]):
    """A blocking view of the async object `_async`, run on the loop `_loop`. Covariant:
    a facade of a GalaxyRepositoryClient has the methods mirrored from its base class."""

    def __init__(self, loop: Loop, wrapped: A_co) -> None:
        self._loop = loop
        self._async = wrapped

    def __repr__(self) -> str:
        return f"mxgw.sync.{type(self).__name__}({self._async!r})"


C_co = TypeVar("C_co", bound="Connection", covariant=True)
ClientT = TypeVar("ClientT", bound="ClientFacade[Any]")


class ClientFacade(Facade[C_co]):
    """A facade of a client (GatewayClient, GalaxyRepositoryClient): closing it, as a
    `with` block or with `close()`."""

    @property
    def closed(self) -> bool:
        """True once closed (this client, or the connection's owner)."""
        return self._async.closed

    def __enter__(self: ClientT) -> ClientT:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: types.TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close this client; the connection's owner also closes its open streams, the
        connection and its loop. Idempotent."""
        close_client(self._loop, self._async)


class Method(Generic[F, P, R]):
    """A method of a facade class: `impl(facade, *args, **kwargs)` bound to the instance."""

    def __init__(self, impl: Callable[Concatenate[F, P], R], like: Callable[..., Any]) -> None:
        self._impl = impl
        self.__doc__ = like.__doc__
        self.__wrapped__ = like  # inspect.signature and help() show the async parameters
        functools.update_wrapper(impl, like)  # the same for the bound method

    def __call__(self, facade: F, /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Called on the class, as a plain method is: `Session.register(session, name)`."""
        return self._impl(facade, *args, **kwargs)

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> Method[F, P, R]: ...
    @overload
    def __get__(self, obj: F, owner: type[Any] | None = None) -> Callable[P, R]: ...
    def __get__(self, obj: F | None, owner: type[Any] | None = None
                ) -> Method[F, P, R] | Callable[P, R]:
        if obj is None:
            return self
        bound: Callable[P, R] = types.MethodType(self._impl, obj)
        return bound


@overload
def blocking(method: Callable[Concatenate[A, P], Awaitable[R]]
             ) -> Method[Facade[A], P, R]: ...
@overload
def blocking(method: Callable[Concatenate[A, P], Awaitable[R]],
             wrap: Callable[[F, R], W]) -> Method[F, P, W]: ...
def blocking(method: Callable[Concatenate[A, P], Awaitable[R]],
             wrap: Callable[[Any, R], Any] | None = None) -> Method[Any, P, Any]:
    """The async `method` as a blocking one; with `wrap`, its result is wrapped as
    `wrap(facade, result)` (an async object returned as its facade)."""

    def impl(facade: Facade[A], /, *args: P.args, **kwargs: P.kwargs) -> Any:
        result = facade._loop.run(method(facade._async, *args, **kwargs))
        return result if wrap is None else wrap(facade, result)

    return Method(impl, method)


def wrapping(method: Callable[Concatenate[A, P], R],
             wrap: Callable[[F, R], W]) -> Method[F, P, W]:
    """The plain `method` (one returning an async object, such as a stream) with its
    result as `wrap(facade, result)`."""

    def impl(facade: F, /, *args: P.args, **kwargs: P.kwargs) -> W:
        return wrap(facade, method(facade._async, *args, **kwargs))

    return Method(impl, method)
