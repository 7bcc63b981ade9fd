"""`sim`: serve the simulated gateway.

`mxgw.sim` is imported when the command runs, not with this module: every command line loads
the registry, and only `sim` (and `--sim`, see Context.simulator) pays for the simulator.
"""

import asyncio
import logging
import signal
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from ...log import logger
from ..context import Context
from ..flags import ConnectionFlags
from ..output import UsageError, dumps
from . import command

if TYPE_CHECKING:
    from ...sim import RuntimeConfig, SimServer
    from ...sim.faults import FaultConfig
    from ...sim.variant import ContractVariant

log = logger("mxgw.sim")


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
    no_auth: bool = field(default=False, metadata={
        "help": "accept every call without a key (a gateway with Authentication:Mode="
                "Disabled); clients then need no --api-key"})
    json: bool = field(default=False, metadata={"help": "announce the endpoint as JSON"})
    objects: Optional[int] = field(default=None, metadata={  # None: the simulator's default
        "metavar": "N", "help": "objects in the generated Galaxy (at least the 10 upstream "
                                "test objects; 100000 is fine)"})
    seed: int = field(default=0, metadata={"metavar": "S", "help": "seed of the generated Galaxy"})
    redeploy_every: Optional[float] = field(default=None, metadata={
        "metavar": "SECONDS", "help": "redeploy the Galaxy every SECONDS (default: never)"})
    event_rate: float = field(default=1.0, metadata={
        "metavar": "X", "help": "how fast changing attributes change (2: twice as often)"})
    first_value_delay: float = field(default=0.05, metadata={
        "metavar": "SECONDS", "help": "delay from Advise to the first value (a real cold "
                                      "binding takes 3-8 s)"})
    write_pending_first: bool = field(default=False, metadata={
        "help": "report each write as Pending before its result (as MXAccess may)"})
    replay_capacity: int = field(default=1024, metadata={
        "metavar": "N", "help": "events kept per session for resumption"})
    replay_seconds: float = field(default=300.0, metadata={
        "metavar": "SECONDS", "help": "how long events are kept for resumption"})
    queue_capacity: int = field(default=10_000, metadata={
        "metavar": "N", "help": "events queued per session for a slow subscriber"})
    overflow: str = field(default="fault", metadata={
        "choices": ["fault", "disconnect"],
        "help": "when the queue overflows: fault the session, or disconnect the subscriber"})
    max_sessions: int = field(default=64, metadata={"metavar": "N", "help": "sessions at once"})
    max_bulk: int = field(default=5000, metadata={
        "metavar": "N", "help": "entries per bulk command (more: INVALID_REQUEST)"})
    lease_seconds: float = field(default=1800.0, metadata={
        "metavar": "SECONDS", "help": "session lease, renewed by calls and an attached stream"})
    detach_grace: float = field(default=30.0, metadata={
        "metavar": "SECONDS", "help": "how long a session outlives its last event stream"})
    fault_latency_ms: float = field(default=0.0, metadata={
        "metavar": "MS", "help": "fault: added latency of every unary call"})
    fault_fail_fraction: float = field(default=0.0, metadata={
        "metavar": "F", "help": "fault: fraction (0..1) of commands that fail"})
    fault_fail_status: str = field(default="WORKER_UNAVAILABLE", metadata={
        "metavar": "STATUS", "help": "fault: protocol status of failing commands "
                                     "(e.g. TIMEOUT, WORKER_UNAVAILABLE)"})
    fault_drop_after_events: int = field(default=0, metadata={
        "metavar": "N", "help": "fault: drop a stream's connection after N events"})
    fault_stall_after_events: int = field(default=0, metadata={
        "metavar": "N", "help": "fault: a stream stops sending after N events"})
    fault_session_after_commands: int = field(default=0, metadata={
        "metavar": "N", "help": "fault: a session faults after N commands"})
    alarm_rate: float = field(default=0.2, metadata={
        "metavar": "PER_SECOND", "help": "automatic alarm transitions (raise, clear, "
                                         "retrigger) a second; 0: none"})
    no_alarms: bool = field(default=False, metadata={
        "help": "run without the alarm monitor: the alarm RPCs answer UNAVAILABLE"})
    fault_alarm_failover_every: float = field(default=0.0, metadata={
        "metavar": "SECONDS", "help": "fault: the alarm provider fails over to SUBTAG "
                                      "(degraded) and back every SECONDS"})
    fault_seed: Optional[int] = field(default=None, metadata={
        "metavar": "S", "help": "fault: seed of the random choice of failing commands"})
    no_reflection: bool = field(default=False, metadata={
        "help": "serve no gRPC server reflection"})
    variant_contract: Optional[str] = field(default=None, metadata={
        "metavar": "FILE", "help": "act as a gateway whose protos differ from ours: a "
                                   "FileDescriptorSet (protoc --descriptor_set_out FILE "
                                   "--include_imports) served by reflection, its extra "
                                   "fields sent in the replies and events"})


def _variant(path: Optional[str]) -> "Optional[ContractVariant]":
    """The variant contract of --variant-contract FILE, if given."""
    if path is None:
        return None
    from ...errors import MalformedMessageError
    from ...sim.variant import ContractVariant

    try:
        return ContractVariant.load(path)
    except OSError as exc:
        raise UsageError(f"--variant-contract: cannot read {path}: {exc.strerror}") from None
    except MalformedMessageError as exc:
        raise UsageError(f"--variant-contract: {path} is not a FileDescriptorSet: {exc}"
                         ) from None


def _runtime(flags: SimFlags) -> "RuntimeConfig":
    from ...sim import RuntimeConfig
    from ...sim.event_log import EventLimits

    return RuntimeConfig(
        first_value_delay=flags.first_value_delay, event_rate=flags.event_rate,
        write_pending_first=flags.write_pending_first,
        max_sessions=flags.max_sessions, max_bulk=flags.max_bulk,
        lease_seconds=flags.lease_seconds, detach_grace_seconds=flags.detach_grace,
        alarms=not flags.no_alarms, alarm_rate=flags.alarm_rate,
        events=EventLimits(replay_capacity=flags.replay_capacity,
                           replay_seconds=flags.replay_seconds,
                           queue_capacity=flags.queue_capacity, overflow_policy=flags.overflow))


def _faults(flags: SimFlags) -> "FaultConfig":
    from ...sim.faults import FaultConfig, parse_status

    try:
        status = parse_status(flags.fault_fail_status)
    except ValueError as exc:
        raise UsageError(f"--fault-fail-status: {exc}") from None
    faults = FaultConfig(
        latency_ms=flags.fault_latency_ms, fail_fraction=flags.fault_fail_fraction,
        fail_status=status, drop_after_events=flags.fault_drop_after_events,
        stall_after_events=flags.fault_stall_after_events,
        fault_after_commands=flags.fault_session_after_commands,
        alarm_failover_every=flags.fault_alarm_failover_every, seed=flags.fault_seed)
    faults.validate()
    return faults


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
    from ...sim import SimConfig, SimServer
    from ...sim.galaxy import DEFAULT_OBJECTS

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    objects = DEFAULT_OBJECTS if flags.objects is None else flags.objects
    try:
        _check_tls(flags)
        if objects < 0 or (flags.redeploy_every is not None and flags.redeploy_every <= 0):
            raise UsageError("--objects must be >= 0 and --redeploy-every > 0")
        config = SimConfig(host=flags.host, port=flags.port, api_keys=list(flags.api_key),
                           no_auth=flags.no_auth,
                           tls_cert=flags.tls_cert, tls_key=flags.tls_key,
                           self_signed_ca=flags.self_signed, client_ca=flags.client_ca,
                           galaxy_objects=objects, seed=flags.seed,
                           redeploy_interval=flags.redeploy_every,
                           runtime=_runtime(flags), faults=_faults(flags),
                           reflection=not flags.no_reflection,
                           contract=_variant(flags.variant_contract))
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
            elif flags.no_auth:
                print("no authentication: calls need no key", flush=True)
        if config.faults.active:
            log.warning("fault injection on: %s", config.faults)
        await stop.wait()
        log.info("stopping on signal")
    finally:
        await server.stop()
    return None


def _tls_line(server: "SimServer", flags: SimFlags) -> str:
    if not server.tls:
        return "tls: off (plaintext: clients need --plaintext)"
    mutual = ", client certificates required" if flags.client_ca else ""
    if server.ca_file:
        return f"tls: on{mutual} (self-signed; clients use --ca-file {server.ca_file})"
    return f"tls: on{mutual}"
