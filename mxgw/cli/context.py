"""The per-process context of the CLI: output, the cached connections, the in-process
simulator (`--sim`), and the sessions attached by id that the commands use.

The client library is imported by the first connection, not here: every command module
imports this one, and `mxgw version` (or a usage error) opens no connection."""

from __future__ import annotations

import io
import signal
import sys
from collections import OrderedDict
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Optional, TextIO

from .flags import ConnectionFlags
from .logs import StderrLog
from .redaction import Redactor

if TYPE_CHECKING:
    from .._proto.mxaccess_gateway import v1 as pb
    from ..client import GatewayClient
    from ..galaxy import GalaxyRepositoryClient
    from ..options import ClientOptions
    from ..session import Session
    from ..sim import SimServer
    from .received import Received

MAX_CONNECTIONS = 8
"""Connections a process keeps open at once: a batch that goes through many keys or
endpoints closes the least recently used one rather than holding a socket per set of
flags for its whole life."""


class Context:
    """Owns the output, the connections (and an in-process simulator) of one CLI process.

    Connections are cached per distinct set of connection flags, so a batch of commands
    pays connection set-up once; at most MAX_CONNECTIONS stay open (least recently used
    closed first).
    """

    def __init__(self, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> None:
        self.out = out or sys.stdout
        raw = getattr(self.out, "buffer", None)
        # An unbuffered stdout (PYTHONUNBUFFERED=1, python -u) is a TextIOWrapper over a
        # FileIO, which drops what a write(2) cut short by a signal did not take (SIGTERM
        # while a long --json array goes to a slow pipe): `write` then writes every byte.
        self._unbuffered: Optional[io.RawIOBase] = raw if isinstance(raw, io.RawIOBase) \
            else None
        self._held = ""
        """Unbuffered stdout: the line written with flush=False, not written yet."""
        self.err = err or sys.stderr
        self.in_batch = False
        self.received: Optional[Received] = None
        """What the running streaming command has received (see received.py)."""
        self.interrupted: Optional[signal.Signals] = None
        """The signal (SIGINT, SIGTERM) that stopped the process's command, once one came."""
        self.redact = Redactor()
        self._stack = AsyncExitStack()
        self._connections: OrderedDict[tuple[Any, ...], GatewayClient] = OrderedDict()
        self._sim: Optional[SimServer] = None
        self.log = StderrLog(self.err, self.redact)
        """The library's log records on stderr, once -v or --log-level asks for them."""

    async def simulator(self) -> SimServer:
        """The in-process simulated gateway (one per process, started on first use)."""
        if self._sim is None:
            from ..sim import SimConfig, SimServer  # only --sim pays for importing it

            # Its generated key is shaped like a gateway key: the Redactor hides it.
            self._sim = await self._stack.enter_async_context(SimServer(SimConfig()))
        return self._sim

    async def _options(self, flags: ConnectionFlags) -> ClientOptions:
        flags.check()
        if flags.sim:
            from ..options import ClientOptions

            sim = await self.simulator()
            return ClientOptions(sim.endpoint, api_key=sim.api_key,
                                 plaintext=True)
        return flags.client_options()

    async def _connection(self, flags: ConnectionFlags) -> GatewayClient:
        """The one connection for these flags' endpoint, TLS and key (opened once)."""
        key = flags.connection_key()
        if key in self._connections:
            self._connections.move_to_end(key)
            return self._connections[key]
        from ..client import GatewayClient  # see the module's docstring

        client = await GatewayClient.connect(options=await self._options(flags))
        # Commands run one at a time, so the connections closed here serve no command.
        while len(self._connections) >= MAX_CONNECTIONS:
            _, oldest = self._connections.popitem(last=False)
            await oldest.close()
        self._connections[key] = client
        return client

    async def client(self, flags: ConnectionFlags) -> GatewayClient:
        """A gateway client for these flags, on the cached connection (`--timeout` applied)."""
        base = await self._connection(flags)
        if flags.timeout is None or flags.timeout == base.options.timeout:
            return base
        return base.with_timeout(flags.timeout)  # same connection, other default deadline

    async def galaxy(self, flags: ConnectionFlags) -> GalaxyRepositoryClient:
        """A Galaxy Repository client for these flags, on the same cached connection."""
        return (await self.client(flags)).galaxy()

    async def session(self, flags: ConnectionFlags, session_id: str) -> Session:
        """Attach to a session opened earlier (by this process or another one)."""
        return (await self.client(flags)).session(session_id)

    async def invoke(self, flags: ConnectionFlags, session_id: str,
                     cmd: pb.MxCommand) -> pb.MxCommandReply:
        """Invoke a built command in a session; the whole reply (MxAccessError when
        MXAccess reports a failure)."""
        return await (await self.session(flags, session_id)).invoke(cmd)

    def write(self, text: str, *, flush: bool = True) -> None:
        """Print a line (redacted) on stdout and flush it (unless told not to: batch
        flushes a command's result with its end-of-record marker, in one write)."""
        line = self.redact(text) + "\n"
        raw = self._unbuffered
        if raw is None:
            self.out.write(line)
            if flush:
                self.out.flush()
            return
        line, self._held = self._held + line, ""
        if not flush:  # as a buffered stdout would: written with the next line, or flush()
            self._held = line
            return
        self._write_unbuffered(raw, line)

    def _write_unbuffered(self, raw: io.RawIOBase, text: str) -> None:
        self.out.flush()
        data = memoryview(text.encode(self.out.encoding, self.out.errors or "strict"))
        while data:
            data = data[raw.write(data) or 0:]

    def flush(self) -> None:
        """Write out the line `write(..., flush=False)` held back (unbuffered stdout)."""
        held, self._held = self._held, ""
        if held and self._unbuffered is not None:
            self._write_unbuffered(self._unbuffered, held)

    def note(self, text: str) -> None:
        """Print a line (redacted) on stderr."""
        self.err.write(self.redact(text) + "\n")
        self.err.flush()

    async def aclose(self) -> None:
        try:
            self.flush()
            try:
                while self._connections:
                    await self._connections.popitem()[1].close()
            finally:
                await self._stack.aclose()
        finally:
            self.log.remove()
