"""The blocking gateway client, and `connect`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from .. import client as _client
from .. import galaxy as _galaxy
from ..connection import Connection
from ..options import ClientOptions
from .alarms import AlarmView
from .durable import DurableSession
from .facade import ClientFacade, blocking, wrapping
from .galaxy import Galaxy
from .loop import Loop, check_no_running_loop
from .session import Session
from .streams import stream_of

AsyncClient = _client.GatewayClient

P = ParamSpec("P")
C = TypeVar("C", bound=Connection)
S = TypeVar("S")


def _galaxy_of(client: Client, galaxy: _galaxy.GalaxyRepositoryClient) -> Galaxy:
    return Galaxy(client._loop, galaxy)


def _sharing(client: Client, other: AsyncClient) -> Client:
    return Client(client._loop, other)


class Client(ClientFacade[AsyncClient]):
    """A connection to an MXAccess Gateway, blocking: `GatewayClient`'s calls without
    `await`, on an event loop of its own (see `mxgw.sync`).

        with mxgw.sync.connect("host:5001", api_key=key, ca_file="ca.pem") as client:
            with client.open_session("my-script") as session:
                ...
    """

    @property
    def options(self) -> ClientOptions:
        """How this client reaches the gateway."""
        return self._async.options

    def alarm_view(self, filter_prefix: str = "", *, max_reconnect_attempts: int | None = 10,
                   reconnect_backoff: float = 0.2, max_reconnect_delay: float = 5.0,
                   timeout: float | None = None) -> AlarmView:
        """The active alarms kept current, reconnecting after a lost connection (see
        `mxgw.AlarmView`); `timeout` ends its `for` loop after that many seconds without
        a change."""
        return AlarmView(self._loop, self._async.alarm_view(
            filter_prefix, max_reconnect_attempts=max_reconnect_attempts,
            reconnect_backoff=reconnect_backoff, max_reconnect_delay=max_reconnect_delay),
            timeout)

    ensure_connected = blocking(AsyncClient.ensure_connected)
    with_timeout = wrapping(AsyncClient.with_timeout, _sharing)
    galaxy = wrapping(AsyncClient.galaxy, _galaxy_of)

    open_session = blocking(AsyncClient.open_session, Session)
    session = wrapping(AsyncClient.session, Session)
    durable_session = blocking(AsyncClient.durable_session, DurableSession)

    open_session_raw = blocking(AsyncClient.open_session_raw)
    close_session_raw = blocking(AsyncClient.close_session_raw)
    invoke_raw = blocking(AsyncClient.invoke_raw)
    invoke_bulk_raw = blocking(AsyncClient.invoke_bulk_raw)
    stream_events_raw = wrapping(AsyncClient.stream_events_raw, stream_of)

    stream_alarms = wrapping(AsyncClient.stream_alarms, stream_of)
    query_active_alarms = blocking(AsyncClient.query_active_alarms)
    acknowledge_alarm = blocking(AsyncClient.acknowledge_alarm)


def _connector(factory: Callable[P, Awaitable[C]], wrap: Callable[[Loop, C], S],
               doc: str) -> Callable[P, S]:
    """A blocking `connect` with the parameters of the async `factory`."""

    def connect(*args: P.args, **kwargs: P.kwargs) -> S:
        check_no_running_loop()
        connecting = factory(*args, **kwargs)  # bad options raise here, before any loop
        loop = Loop()
        try:
            client = loop.run(connecting)
            loop.owned_by(client)
            return wrap(loop, client)
        except BaseException:
            loop.close()
            raise

    functools.update_wrapper(connect, factory)
    connect.__doc__ = doc
    # help() shows the factory's parameters, returning the facade
    connect.__signature__ = inspect.signature(factory).replace(  # type: ignore[attr-defined]
        return_annotation=getattr(wrap, "__name__", inspect.Signature.empty))
    return connect


connect = _connector(AsyncClient.connect, Client, """Connect to a gateway, blocking.

    The parameters of `GatewayClient.connect` (TLS unless `plaintext=True`; without an
    endpoint, the MXGATEWAY_* variables). Returns a Client: use it as
    `with mxgw.sync.connect(...) as client:`, or call `client.close()`.
    """)

connect_galaxy = _connector(_galaxy.GalaxyRepositoryClient.connect, Galaxy, """
    Connect to the Galaxy Repository service alone, blocking.

    The parameters of `GatewayClient.connect`. Returns a Galaxy (`client.galaxy()` gives
    one on a Client's connection).
    """)
