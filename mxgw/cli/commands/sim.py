"""`sim`: serve the simulated gateway."""

import asyncio
import logging
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

from ...sim import SimConfig, SimServer
from ..context import ConnectionFlags, Context
from ..output import UsageError, dumps
from . import command


@dataclass
class SimFlags:
    host: str = field(default="127.0.0.1", metadata={"help": "address to listen on"})
    port: int = field(default=5000, metadata={"help": "port to listen on (0: a free one)"})
    plaintext: bool = field(default=False, metadata={"help": "serve without TLS"})
    tls_cert: Optional[str] = field(default=None, metadata={"help": "PEM server certificate"})
    tls_key: Optional[str] = field(default=None, metadata={"help": "PEM key of --tls-cert"})
    self_signed: Optional[str] = field(default=None, metadata={
        "metavar": "CA_PATH", "help": "generate a CA and a server certificate (localhost, "
        "127.0.0.1, ::1, --host) at start-up and write the CA certificate to CA_PATH, for "
        "clients' --ca-file"})
    client_ca: Optional[str] = field(default=None, metadata={
        "metavar": "PATH", "help": "require client certificates signed by this PEM CA "
                                   "(mutual TLS)"})
    api_key: list[str] = field(default_factory=list, metadata={
        "nargs": "*", "type": str, "action": "extend", "metavar": "KEY[=SCOPE,...]",
        "help": "accepted API key, with its scopes (default: every scope); repeatable. "
                "Without it one key with every scope is generated and printed once"})
    json: bool = field(default=False, metadata={"help": "announce the endpoint as JSON"})


def _check_tls(flags: SimFlags) -> None:
    if flags.plaintext:
        if flags.tls_cert or flags.tls_key or flags.self_signed or flags.client_ca:
            raise UsageError("--plaintext contradicts --tls-cert/--tls-key/--self-signed/"
                             "--client-ca")
        return
    if bool(flags.tls_cert) != bool(flags.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    if flags.tls_cert and flags.self_signed:
        raise UsageError("--self-signed contradicts --tls-cert/--tls-key")
    if not (flags.tls_cert or flags.self_signed):
        raise UsageError("TLS is the default: give --tls-cert and --tls-key, or --self-signed "
                         "CA_PATH, or --plaintext")


@command("sim", "Serve the simulated MXAccess Gateway until SIGINT/SIGTERM.",
         "mxgw sim --port 0 --plaintext --api-key mxgw_dev_secret=session:open,events:read",
         SimFlags, connects=False, streams=True)
async def sim(ctx: Context, conn: ConnectionFlags, flags: SimFlags) -> Any:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        _check_tls(flags)
        config = SimConfig(host=flags.host, port=flags.port, api_keys=list(flags.api_key),
                           tls_cert=flags.tls_cert, tls_key=flags.tls_key,
                           self_signed_ca=flags.self_signed, client_ca=flags.client_ca)
        server = SimServer(config)
        await server.start()  # TLS files are read (or generated) here
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
            pass
    try:
        announcement = {"endpoint": server.endpoint, "apiKey": server.generated_key,
                        "tls": server.tls, "mutualTls": bool(flags.client_ca),
                        "caFile": server.ca_file}
        if flags.json:
            print(dumps(announcement), flush=True)
        else:
            print(server.endpoint, flush=True)
            print(_tls_line(server, flags), flush=True)
            if server.generated_key:
                print(f"api key (every scope): {server.generated_key}", flush=True)
        await stop.wait()
    finally:
        await server.stop()
    return None


def _tls_line(server: SimServer, flags: SimFlags) -> str:
    if not server.tls:
        return "tls: off (plaintext: clients need --plaintext)"
    mutual = ", client certificates required" if flags.client_ca else ""
    if server.ca_file:
        return f"tls: on{mutual} (self-signed; clients use --ca-file {server.ca_file})"
    return f"tls: on{mutual}"
