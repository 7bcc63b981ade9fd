"""SimServer: the simulated gateway served over TCP (optionally TLS), both services."""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from grpclib.events import RecvRequest, listen

from .._proto.galaxy_repository import v1 as gr
from .._proto.grpc.reflection.v1 import services as v1_services
from .._proto.grpc.reflection.v1alpha import services as v1alpha_services
from ..hpack_logging import keep_secrets_out_of_hpack_logs
from ..log import logger
from .auth import KeyStore, generate_key, parse_key_spec
from .connections import TrackingServer
from .faults import FaultConfig
from .galaxy import DEFAULT_OBJECTS, GalaxyModel, GalaxyService
from .gateway_service import GatewayService
from .message_codec import SizeLimitedCodec
from .reflection import ReflectionV1, ReflectionV1Alpha
from .runtime import GatewayRuntime, RuntimeConfig
from .tls import check_sim_tls, sim_server_context

if TYPE_CHECKING:  # descriptors cost an import only a simulator asked for them pays
    from ..contract.descriptors import Schema
    from .variant import ContractVariant

log = logger("mxgw.sim")


@dataclass
class SimConfig:
    """What to serve and how."""

    host: str = "127.0.0.1"
    port: int = 0
    api_keys: list[str] = field(default_factory=list)
    """`KEY` or `KEY=scope,scope`; empty: one key with every scope is generated."""
    no_auth: bool = False
    """Accept every call without a key, as a gateway with `Authentication:Mode=Disabled`
    does (no scope is checked)."""
    ssl_context: ssl.SSLContext | None = None
    """A ready server TLS context (programmatic use; set ALPN h2 on it)."""
    tls_cert: str | None = None
    """PEM server certificate (chain) to serve TLS with; goes with `tls_key`."""
    tls_key: str | None = None
    self_signed_ca: str | None = None
    """Generate a CA and a server certificate at start-up (pure Python, ~1-3 s) and write
    the CA certificate to this path, for clients' `ca_file`."""
    client_ca: str | None = None
    """PEM CA file: require client certificates signed by it (mutual TLS)."""
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    galaxy_objects: int = DEFAULT_OBJECTS
    """Objects in the generated Galaxy (at least the ten upstream test objects)."""
    seed: int = 0
    """Seed of the generated Galaxy and of its redeploys."""
    redeploy_interval: float | None = None
    """Redeploy the Galaxy every so many seconds (None: only on `SimServer.redeploy()`)."""
    faults: FaultConfig = field(default_factory=FaultConfig)
    """Injected faults; change `sim.faults` fields while serving to switch them."""
    reflection: bool = True
    """Serve gRPC server reflection (v1 and v1alpha) of the contract."""
    contract: ContractVariant | None = None
    """Serve a variant of our contract: its descriptors by reflection, its extra fields
    in the replies and events (see `mxgw.sim.variant`)."""


class SimServer:
    """A running simulated gateway.

        async with SimServer(SimConfig()) as sim:
            sim.endpoint, sim.api_key
    """

    def __init__(self, config: SimConfig | None = None, galaxy: GalaxyModel | None = None) -> None:
        self.config = config or SimConfig()
        check_sim_tls(self.config)
        self.ca_file: str | None = None
        """The CA certificate written for clients (with `self_signed_ca`), once started."""
        self.galaxy = galaxy or GalaxyModel.default(self.config.galaxy_objects, self.config.seed)
        specs = list(self.config.api_keys)
        if self.config.no_auth and specs:
            raise ValueError("no_auth takes no api_keys")
        self.generated_key = None if specs or self.config.no_auth else generate_key()
        if self.generated_key:
            specs = [self.generated_key]
        keys = dict(parse_key_spec(spec) for spec in specs)
        self.api_key: str | None = next(iter(keys), None)
        """The first accepted key (the generated one when none was given; None without
        authentication)."""
        self.keys = KeyStore(keys)
        self.config.faults.validate()
        self.faults = self.config.faults
        self.runtime = GatewayRuntime(self.galaxy, self.config.runtime, faults=self.faults)
        self.gateway = GatewayService(
            self.runtime, drop_peer=lambda peer: self._server.drop(peer, flush=True),
            liveness=lambda peer: self._server.liveness(peer))
        self.galaxy_service = GalaxyService(self.galaxy)
        self._schema: Schema | None = None
        services: list[Any] = [self.gateway, self.galaxy_service]
        if self.config.reflection:
            services += [ReflectionV1(self.schema), ReflectionV1Alpha(self.schema)]
        else:
            # The generated bases answer UNIMPLEMENTED, as a gateway's host does for a
            # service it does not map; grpclib's answer to an unknown route lacks the
            # content-type, which grpclib's client then reports as UNKNOWN instead.
            services += [v1_services.ServerReflectionBase(),
                         v1alpha_services.ServerReflectionBase()]
        extras = None
        if self.config.contract is not None:
            from .variant import Extras

            extras = Extras(self.config.contract.extras)
            self.runtime.encode_events = False  # the extras are added as they are sent
        self._server = TrackingServer(
            services, codec=SizeLimitedCodec(self.config.runtime.max_message_bytes, extras))
        if self.config.no_auth:
            keep_secrets_out_of_hpack_logs()  # clients may still send a key
        else:
            self.keys.install(self._server)
        listen(self._server, RecvRequest, self._server.record_peer)
        self.port = 0

    def schema(self) -> Schema:
        """The contract this simulator serves by reflection (ours, or the variant's)."""
        if self._schema is None:  # read on first use: most simulators are never asked
            from ..contract.descriptors import our_schema

            variant = self.config.contract
            self._schema = variant.schema() if variant is not None else our_schema()
        return self._schema

    @property
    def endpoint(self) -> str:
        host = self.config.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def tls(self) -> bool:
        c = self.config
        return bool(c.ssl_context or c.tls_cert or c.self_signed_ca)

    async def start(self) -> SimServer:
        context, self.ca_file = sim_server_context(self.config)
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        # proto=IPPROTO_TCP: grpclib sets TCP_NODELAY only on sockets that say TCP; with
        # proto 0 every reply waited ~40 ms for the client's delayed ACK (Nagle).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.config.host, self.config.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        await self._server.start(sock=sock, ssl=context)
        self.galaxy_service.start(self.config.redeploy_interval)
        self.runtime.start()
        log.info("simulated gateway on %s (%s)", self.endpoint,
                 "TLS" if self.tls else "plaintext")
        return self

    async def drop_connections(self) -> int:
        """Abruptly close every client TCP connection (no GOAWAY); returns how many."""
        count = self._server.drop()
        log.info("dropped %d connection(s)", count)
        await asyncio.sleep(0)  # let the transports report the loss
        return count

    async def send_goaway(self, close_after: float | None = None) -> int:
        """Send HTTP/2 GOAWAY on every connection (closing each `close_after` s later)."""
        count = self._server.goaway(close_after)
        log.info("sent GOAWAY on %d connection(s)", count)
        await asyncio.sleep(0)
        return count

    @property
    def connection_count(self) -> int:
        """How many client connections are open."""
        return len(self._server.live())

    def redeploy(self, changes: int | None = None) -> gr.DeployEvent:
        """Redeploy the Galaxy now (some objects removed and added; watchers are told)."""
        return self.galaxy_service.redeploy(changes)

    async def stop(self) -> None:
        """Shut down as a gateway does: stop listening, end every call, send GOAWAY and
        close every connection. (grpclib's `Server.close` alone leaves accepted
        connections open, so a client's stream would wait on them until its keepalive
        noticed; and from Python 3.12 on `wait_closed` waits for them to close.)"""
        await self.galaxy_service.stop()
        self.runtime.shutdown()
        self._server.close()
        self._server.goaway()
        self._server.drop(flush=True)
        await self._server.wait_closed()

    async def __aenter__(self) -> SimServer:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()
