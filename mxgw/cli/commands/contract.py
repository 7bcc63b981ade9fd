"""`contract-check`: how a gateway's wire matches our protos/, read-only (exit 9 when it
differs)."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ...errors import MalformedMessageError
from ..context import Context
from ..flags import ConnectionFlags
from ..output import EXIT_CONTRACT_DRIFT, EXIT_OK, Outcome, UsageError, exit_code
from . import command

if TYPE_CHECKING:
    from ...contract_check import ContractReport

TEST_ITEM_ENV = "MXGATEWAY_TEST_ITEM"
DEFAULT_ITEM = "TestMachine_001.TestChangingInt"


@dataclass
class ContractCheckFlags:
    item: Optional[str] = field(default=None, metadata={
        "help": f"the test item to add, advise and read (default: ${TEST_ITEM_ENV}, else "
                f"{DEFAULT_ITEM})"})
    no_reflection: bool = field(default=False, metadata={
        "help": "do not ask for the gateway's descriptors; only check the wire"})
    reflection_only: bool = field(default=False, metadata={
        "help": "only compare the gateway's descriptors (fails when it serves no reflection)"})
    write_protos: Optional[str] = field(default=None, metadata={
        "metavar": "DIR", "help": "write the gateway's own .proto files (from its "
                                  "reflection) into DIR, for tools/gen.py"})
    allow_write: Optional[str] = field(default=None, metadata={
        "metavar": "ITEM", "help": "also write the value read back to the test item and "
                                   "await its OnWriteComplete (ITEM must be the test item)"})
    max_events: int = field(default=3, metadata={
        "help": "events to read from StreamEvents (and WatchDeployEvents: one)"})
    event_timeout: float = field(default=5.0, metadata={
        "help": "seconds to wait for each stream's events"})
    client_name: str = field(default="mxgw-contract-check", metadata={
        "help": "OpenSession and Register client name"})


def check_text(result: dict[str, Any]) -> str:
    """The report as readable lines."""
    reflection, wire = result["reflection"], result["wire"]
    lines = [f"gateway     {result['endpoint']}"]
    served = reflection["served"]
    if served in ("v1", "v1alpha"):
        lines.append(f"reflection  {served}: {len(reflection['services'])} services, "
                     f"{len(reflection['files'])} files")
        differences = reflection["differences"]
        lines += [f"  {d['text']}" for d in differences] or ["  no difference from ours"]
        lines += [f"  could not fetch: {e}" for e in reflection["errors"]]
    else:
        lines.append(f"reflection  {served}")
    if wire["ran"]:
        lines.append(f"wire        {len(wire['calls'])} calls, {wire['messages']} messages "
                     f"walked{', the test item written back' if wire['wrote'] else ''}")
        lines += [f"  {c['rpc']}: failed: {c['error']['error']}" for c in wire["calls"]
                  if "error" in c]
        lines += [f"  {o['text']}" for o in wire["observations"]] or ["  no drift seen"]
    for path in result.get("protosWritten", []):
        lines.append(f"wrote       {path}")
    verdict = ("differs from our contract" if result["differs"]
               else "matches our contract" if not result["failed"]
               else "no difference seen, but some calls failed")
    lines.append(f"result      {verdict} (exit {result['exitCode']})")
    return "\n".join(lines)


@command("contract-check", "Compare the gateway with our protos/, read-only: its own "
         "descriptors by gRPC server reflection when it serves them (field names, numbers, "
         "types, enum values, RPCs), and the replies of the safe RPCs (fields we do not "
         "know, enum values outside ours, wire types not ours). Exit 0 when nothing "
         "differs, 9 when something does.",
         "mxgw contract-check --endpoint gw:5001 --api-key-env MXGATEWAY_API_KEY --json",
         ContractCheckFlags, text=check_text)
async def contract_check(ctx: Context, conn: ConnectionFlags, flags: ContractCheckFlags) -> Any:
    from ...contract_check import check_contract  # only this command pays for descriptors

    item = flags.item or os.environ.get(TEST_ITEM_ENV) or DEFAULT_ITEM
    needs_reflection = flags.reflection_only or flags.write_protos is not None
    if flags.no_reflection and needs_reflection:
        raise UsageError("--no-reflection contradicts --reflection-only and --write-protos")
    client = await ctx.client(conn)
    report = await check_contract(
        client, item=item, reflection=not flags.no_reflection, wire=not flags.reflection_only,
        max_events=flags.max_events, event_seconds=flags.event_timeout,
        allow_write=flags.allow_write, client_name=flags.client_name,
        require_reflection=needs_reflection)
    result = report.to_dict()
    for d, shown in zip(report.differences, result["reflection"]["differences"], strict=True):
        shown["text"] = d.text()
    for o, shown in zip(report.observations, result["wire"]["observations"], strict=True):
        shown["text"] = o.text()
    if flags.write_protos is not None:
        result["protosWritten"] = _write_protos(report, Path(flags.write_protos))
    failures = report.failures
    result["failed"] = bool(failures)
    code = (EXIT_CONTRACT_DRIFT if report.differs
            else exit_code(failures[0]) if failures else EXIT_OK)
    result["exitCode"] = code
    return Outcome(result, code)


def _write_protos(report: "ContractReport", into: Path) -> list[str]:
    """Write the gateway's contract files (not gRPC's or protobuf's own) as .proto text."""
    from ...contract.descriptors import is_infrastructure
    from ...contract.proto_text import render

    schema = report.gateway_schema()
    written = []
    for name, file in sorted(schema.files.items()):
        if is_infrastructure(file.package):
            continue
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise MalformedMessageError("FileDescriptorProto", 0,
                                        f"file name {name!r} would be written outside {into}")
        path = into / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(file, schema), encoding="utf-8")
        written.append(str(path))
    return written
