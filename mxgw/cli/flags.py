"""The connection flags every gateway command shares, and the session-id flag.

No `from __future__ import annotations` here: argparse-dataclass reads field types at run time.
"""


import operator
import os
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from ..options import DEFAULT_CONNECT_TIMEOUT, ENDPOINT_ENV, ClientOptions
from .output import UsageError


@dataclass
class ConnectionFlags:
    """Flags every subcommand that talks to a gateway takes."""

    endpoint: Optional[str] = field(default=None, metadata={
        "help": f"gateway HOST:PORT (default: ${ENDPOINT_ENV})"})
    api_key: Optional[str] = field(default=None, repr=False, metadata={
        "help": "API key (prefer --api-key-env: a key on the command line is visible to ps)"})
    api_key_env: Optional[str] = field(default=None, metadata={
        "help": "name of an environment variable holding the API key (without a key "
                "flag: MXGATEWAY_API_KEY, when set)"})
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
        "help": "deadline of each call in seconds (default 30), and of connecting "
                "(default 10)"})
    json: bool = field(default=False, metadata={"help": "print deterministic JSON"})
    sim: bool = field(default=False, metadata={
        "help": "run against an in-process simulated gateway on a free loopback port"})

    def connection_key(self) -> tuple[Any, ...]:
        """What distinguishes one connection from another (output and deadline excluded)."""
        return _connection_key(self)

    def check(self) -> None:
        """Refuse contradicting flags."""
        if self.plaintext and self.tls:
            raise UsageError("--plaintext and --tls contradict each other")
        if self.timeout is not None and self.timeout <= 0:
            raise UsageError("--timeout must be > 0")

    def client_options(self) -> ClientOptions:
        """The ClientOptions of the connection these flags describe; `--api-key-env` is
        read by ClientOptions itself, so the CLI and the library accept the same values.
        `--timeout` is applied per command, on the cached connection."""
        self.check()
        endpoint = self.endpoint or os.environ.get(ENDPOINT_ENV)
        if not endpoint:
            raise UsageError(f"give --endpoint HOST:PORT (or set {ENDPOINT_ENV}), or use --sim")
        # TLS flags given replace the MXGATEWAY_PLAINTEXT / _CA_FILE / _SERVER_NAME_OVERRIDE
        # variables' choice; without any, the variables decide (TLS with system roots).
        tls: dict[str, Any] = {"plaintext": True if self.plaintext else (
                                   False if self.tls else None),
                               "ca_file": self.ca_file,
                               "server_name_override": self.server_name_override,
                               "client_cert": self.client_cert}
        # --timeout bounds the connect phase too (TCP, TLS, the first HTTP/2 frame). The key
        # variable (--api-key-env, else MXGATEWAY_API_KEY) is read by ClientOptions itself,
        # so the CLI and the library accept the same values.
        connect_timeout = min(DEFAULT_CONNECT_TIMEOUT, self.timeout or DEFAULT_CONNECT_TIMEOUT)
        return ClientOptions.from_env(
            endpoint=endpoint, api_key=self.api_key, api_key_env=self.api_key_env,
            client_key=self.client_key, connect_timeout=connect_timeout,
            **{name: value for name, value in tls.items() if value is not None})


_connection_key = operator.attrgetter(
    *(f.name for f in fields(ConnectionFlags) if f.name not in ("json", "timeout")))


@dataclass
class DurationFlags:
    """The run time of a streaming command: its own flag, so that `--timeout` stays the
    deadline of each call."""

    duration_seconds: Optional[float] = field(default=None, metadata={
        "args": ["--duration-seconds", "--duration"],
        "help": "stop after this many seconds (running out of time is not an error); "
                "without it, --timeout (as the upstream CLIs spell the run time), else the "
                "default"})

    def run_seconds(self, conn: ConnectionFlags, default: Optional[float]) -> Optional[float]:
        """`--duration-seconds`, else `--timeout`, else `default` (None: no end)."""
        if self.duration_seconds is not None:
            if self.duration_seconds <= 0:
                raise UsageError("--duration-seconds must be > 0")
            return self.duration_seconds
        conn.check()  # --timeout > 0
        return default if conn.timeout is None else conn.timeout


@dataclass
class SessionFlags:
    """The flag of every command that works in an existing session."""

    session_id: str = field(metadata={
        "metavar": "ID", "help": "the session to use (from open-session)"})


@dataclass
class ProgressFlags:
    """The progress flags of every streaming command (see mxgw/cli/received.py)."""

    progress: bool = field(default=False, metadata={
        "help": "show progress on stderr (count, total when known, rate, elapsed) even when "
                "it is not a terminal"})
    no_progress: bool = field(default=False, metadata={
        "help": "no progress on stderr (by default it shows when stderr is a terminal, "
                "unless the items already print there as they arrive)"})
