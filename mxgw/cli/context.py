"""The per-process context of the CLI: output, the cached connections, the in-process
simulator (`--sim`), and the session attached by id that the commands use."""

import sys
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Optional, TextIO

from .._proto.mxaccess_gateway import v1 as pb
from ..client import GatewayClient
from ..galaxy import GalaxyRepositoryClient
from ..options import ClientOptions
from ..session import Session
from .flags import ConnectionFlags
from .redaction import Redactor

if TYPE_CHECKING:
    from ..sim import SimServer


class CliSession(Session):
    """A Session attached by id that keeps the last command reply, so the CLI prints it whole."""

    last_reply: Optional[pb.MxCommandReply] = None

    async def invoke(self, cmd: pb.MxCommand, *, timeout: Optional[float] = None
                     ) -> pb.MxCommandReply:
        self.last_reply = None
        reply = await super().invoke(cmd, timeout=timeout)
        self.last_reply = reply
        return reply

    def reply(self) -> pb.MxCommandReply:
        """The reply of the last command (which succeeded)."""
        assert self.last_reply is not None, "no command was invoked"
        return self.last_reply


class Context:
    """Owns the output, the connections (and an in-process simulator) of one CLI process.

    Connections are cached per distinct set of connection flags, so a batch of commands
    pays connection set-up once.
    """

    def __init__(self, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.in_batch = False
        self.redact = Redactor()
        self._stack = AsyncExitStack()
        self._connections: dict[tuple[Any, ...], GatewayClient] = {}
        self._sim: Optional[SimServer] = None

    async def simulator(self) -> "SimServer":
        """The in-process simulated gateway (one per process, started on first use)."""
        if self._sim is None:
            from ..sim import SimConfig, SimServer  # only --sim pays for importing it

            self._sim = await self._stack.enter_async_context(SimServer(SimConfig()))
            self.redact.add(self._sim.api_key)
        return self._sim

    async def _options(self, flags: ConnectionFlags) -> ClientOptions:
        flags.check()
        if flags.sim:
            sim = await self.simulator()
            return ClientOptions(sim.endpoint, api_key=sim.api_key,
                                 plaintext=True)
        return flags.client_options(self.redact)

    async def _connection(self, flags: ConnectionFlags) -> GatewayClient:
        """The one connection for these flags' endpoint, TLS and key (opened once)."""
        key = flags.connection_key()
        if key not in self._connections:
            options = await self._options(flags)
            client = await GatewayClient.connect(options=options.with_changes(
                timeout=ClientOptions.timeout))
            self._connections[key] = await self._stack.enter_async_context(client)
        return self._connections[key]

    @staticmethod
    def _deadline(options: ClientOptions, flags: ConnectionFlags) -> ClientOptions:
        if flags.timeout is None or flags.timeout == options.timeout:
            return options
        return options.with_changes(timeout=flags.timeout)

    async def client(self, flags: ConnectionFlags) -> GatewayClient:
        """A gateway client for these flags, on the cached connection (`--timeout` applied)."""
        base = await self._connection(flags)
        options = self._deadline(base.options, flags)
        # Same HTTP/2 channel, other default deadline; only the base client closes it.
        return base if options is base.options else GatewayClient(options, base._channel)

    async def galaxy(self, flags: ConnectionFlags) -> GalaxyRepositoryClient:
        """A Galaxy Repository client for these flags, on the same cached connection."""
        base = await self._connection(flags)
        return GalaxyRepositoryClient(self._deadline(base.options, flags), base._channel)

    async def session(self, flags: ConnectionFlags, session_id: str) -> CliSession:
        """Attach to a session opened earlier (by this process or another one)."""
        client = await self.client(flags)
        session = client.session(session_id)
        return CliSession(client, session.id, None)

    def write(self, text: str) -> None:
        """Print a line (redacted) on stdout and flush it."""
        self.out.write(self.redact(text) + "\n")
        self.out.flush()

    def note(self, text: str) -> None:
        """Print a line (redacted) on stderr."""
        self.err.write(self.redact(text) + "\n")
        self.err.flush()

    async def aclose(self) -> None:
        await self._stack.aclose()
