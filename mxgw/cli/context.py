"""Shared connection flags, and the per-process context that owns connections.

No `from __future__ import annotations` here: argparse-dataclass reads field types at run time.
"""


import os
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Optional, TextIO

from .._proto.mxaccess_gateway import v1 as pb
from ..client import GatewayClient
from ..galaxy import GalaxyRepositoryClient
from ..options import ClientOptions
from ..session import Session
from .output import Redactor, UsageError

if TYPE_CHECKING:
    from ..sim import SimServer

ENDPOINT_ENV = "MXGATEWAY_ENDPOINT"


@dataclass
class ConnectionFlags:
    """Flags every subcommand that talks to a gateway takes."""

    endpoint: Optional[str] = field(default=None, metadata={
        "help": f"gateway HOST:PORT (default: ${ENDPOINT_ENV})"})
    api_key: Optional[str] = field(default=None, metadata={
        "help": "API key (prefer --api-key-env: a key on the command line is visible to ps)"})
    api_key_env: Optional[str] = field(default=None, metadata={
        "help": "name of an environment variable holding the API key"})
    plaintext: bool = field(default=False, metadata={
        "help": "unencrypted HTTP/2 (TLS is the default)"})
    tls: bool = field(default=False, metadata={
        "help": "TLS (the default; contradicts --plaintext)"})
    ca_file: Optional[str] = field(default=None, metadata={
        "help": "PEM file of CA certificates to trust instead of the system roots"})
    server_name_override: Optional[str] = field(default=None, metadata={
        "help": "host name to verify in the server certificate"})
    client_cert: Optional[str] = field(default=None, metadata={
        "help": "PEM client certificate for mutual TLS"})
    client_key: Optional[str] = field(default=None, metadata={
        "help": "PEM private key of --client-cert"})
    timeout: Optional[float] = field(default=None, metadata={
        "help": "deadline of each call in seconds (default 30)"})
    json: bool = field(default=False, metadata={"help": "print deterministic JSON"})
    sim: bool = field(default=False, metadata={
        "help": "run against an in-process simulated gateway on a free loopback port"})

    def connection_key(self) -> tuple[Any, ...]:
        """What distinguishes one connection from another (output and deadline excluded)."""
        return tuple(getattr(self, f.name) for f in fields(self)
                     if f.name not in ("json", "timeout"))

    def check(self) -> None:
        """Refuse contradicting flags."""
        if self.plaintext and self.tls:
            raise UsageError("--plaintext and --tls contradict each other")

    def client_options(self, redact: Redactor) -> ClientOptions:
        """The ClientOptions these flags describe (the key read from its variable)."""
        self.check()
        endpoint = self.endpoint or os.environ.get(ENDPOINT_ENV)
        if not endpoint:
            raise UsageError(f"give --endpoint HOST:PORT (or set {ENDPOINT_ENV}), or use --sim")
        key = self.api_key
        if key is None and self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise UsageError(f"environment variable {self.api_key_env} is not set")
        redact.add(key)
        return ClientOptions(
            endpoint, api_key=key, plaintext=self.plaintext, ca_file=self.ca_file,
            server_name_override=self.server_name_override, client_cert=self.client_cert,
            client_key=self.client_key,
            timeout=self.timeout if self.timeout is not None else ClientOptions.timeout,
        )


@dataclass
class SessionFlags:
    """The flag of every command that works in an existing session."""

    session_id: str = field(metadata={
        "metavar": "ID", "help": "the session to use (from open-session)"})


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
