"""`sim`: serve the simulated gateway."""

import asyncio
import logging
import signal
import ssl
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
    api_key: list[str] = field(default_factory=list, metadata={
        "nargs": "*", "type": str, "action": "extend", "metavar": "KEY[=SCOPE,...]",
        "help": "accepted API key, with its scopes (default: every scope); repeatable. "
                "Without it one key with every scope is generated and printed once"})
    json: bool = field(default=False, metadata={"help": "announce the endpoint as JSON"})


def _server_tls(flags: SimFlags) -> Optional[ssl.SSLContext]:
    if flags.plaintext:
        if flags.tls_cert or flags.tls_key:
            raise UsageError("--plaintext contradicts --tls-cert/--tls-key")
        return None
    if not (flags.tls_cert and flags.tls_key):
        raise UsageError("TLS is the default: give --tls-cert and --tls-key, or --plaintext")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(flags.tls_cert, flags.tls_key)
    context.set_alpn_protocols(["h2"])
    return context


@command("sim", "Serve the simulated MXAccess Gateway until SIGINT/SIGTERM.",
         "mxgw sim --port 0 --plaintext --api-key mxgw_dev_secret=session:open,events:read",
         SimFlags, connects=False, streams=True)
async def sim(ctx: Context, conn: ConnectionFlags, flags: SimFlags) -> Any:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = SimConfig(host=flags.host, port=flags.port, api_keys=list(flags.api_key),
                           ssl_context=_server_tls(flags))
        server = SimServer(config)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
            pass
    async with server:
        announcement = {"endpoint": server.endpoint, "apiKey": server.generated_key,
                        "tls": server.tls}
        if flags.json:
            print(dumps(announcement), flush=True)
        else:
            print(server.endpoint, flush=True)
            if server.generated_key:
                print(f"api key (every scope): {server.generated_key}", flush=True)
        await stop.wait()
    return None
