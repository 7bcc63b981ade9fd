"""The contract check: how a gateway's wire matches our protos/, read-only.

    async with GatewayClient.connect(...) as client:
        report = await check_contract(client, item="TestMachine_001.TestChangingInt")
        report.differs, report.differences, report.observations

Two sources, each optional:

- **reflection**, when the gateway serves it: its own descriptors, compared with ours
  message by message (`mxgw.contract.schema_diff`);
- **the wire**: the safe RPCs (OpenSession and CloseSession, Register, AddItem and
  Advise of the test item, a short StreamEvents, ReadBulk, the Galaxy reads), every
  reply walked for fields we do not know, enum values outside our enums and fields
  whose wire type is not ours (`mxgw.contract.drift`).

Nothing is written unless `allow_write` names the test item: then the value read from it
is written back once and its OnWriteComplete awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import betterproto2

from ._proto.galaxy_repository import v1 as gr
from ._proto.mxaccess_gateway import v1 as pb
from .client import GatewayClient
from .contract import commands
from .contract.descriptors import Schema, our_schema
from .contract.drift import DriftLog, Observation
from .contract.schema_diff import Difference, diff
from .contract.values import TYPES
from .errors import ConfigurationError, MxGatewayError, UnimplementedError
from .reflection import ReflectionClient

T = TypeVar("T")

CLIENT_NAME = "mxgw-contract-check"
GALAXY_PAGE = 10
"""Objects asked for in each Galaxy page (one page is read)."""


@dataclass
class Call:
    """One RPC (or command) the wire check made."""

    rpc: str
    messages: int = 0
    """Replies (or streamed messages) received and walked."""
    failure: MxGatewayError | None = None
    """Why it failed, if it did."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rpc": self.rpc, "messages": self.messages}
        if self.failure is not None:
            # the CLI's error envelope
            out["error"] = {"error": str(self.failure), "type": "error",
                            "category": self.failure.kind, "code": self.failure.code}
        return out


@dataclass
class ContractReport:
    """What `check_contract` found."""

    endpoint: str
    item: str = ""
    """The test item of the wire check."""
    reflection: str = "not asked"
    """`v1` or `v1alpha` (what the gateway served), `not served` or `not asked`."""
    services: list[str] = field(default_factory=list)
    """The services the gateway's reflection lists."""
    differences: list[Difference] = field(default_factory=list)
    """How the gateway's descriptors differ from ours (by reflection)."""
    reflection_errors: list[str] = field(default_factory=list)
    """Files or symbols the gateway's reflection could not give."""
    files: dict[str, bytes] = field(default_factory=dict)
    """The gateway's serialized FileDescriptorProtos, by name (by reflection)."""
    wire: bool = False
    """Whether the wire check ran."""
    calls: list[Call] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    """Drift seen on the wire."""
    messages: int = 0
    """Replies and events walked on the wire."""
    wrote: bool = False
    """Whether the test item was written (only with `allow_write`)."""

    @property
    def differs(self) -> bool:
        """Whether anything differs from our contract."""
        return bool(self.differences or self.observations)

    @property
    def failures(self) -> list[MxGatewayError]:
        """The calls of the wire check that failed, in order."""
        return [c.failure for c in self.calls if c.failure is not None]

    def gateway_schema(self) -> Schema:
        """The gateway's descriptors (empty without reflection)."""
        return Schema.from_files(self.files.values())

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (for JSON)."""
        return {
            "endpoint": self.endpoint,
            "item": self.item,
            "differs": self.differs,
            "reflection": {"served": self.reflection, "services": self.services,
                           "files": sorted(self.files), "errors": self.reflection_errors,
                           "differences": [d.to_dict() for d in self.differences]},
            "wire": {"ran": self.wire, "messages": self.messages, "wrote": self.wrote,
                     "calls": [c.to_dict() for c in self.calls],
                     "observations": [o.to_dict() for o in self.observations]},
        }


async def check_contract(
    client: GatewayClient, *, item: str, reflection: bool = True, wire: bool = True,
    max_events: int = 3, event_seconds: float = 5.0, allow_write: str | None = None,
    client_name: str = CLIENT_NAME, require_reflection: bool = False,
) -> ContractReport:
    """Compare the gateway behind `client` with our contract (see the module docstring).

    Reflection that is not served is noted, not an error (UnimplementedError, before the
    wire check, with `require_reflection`); a failing call of the wire check is recorded
    in `calls` and the check goes on with the next. `allow_write` must be `item` itself
    (ConfigurationError before anything is sent otherwise).
    """
    if allow_write is not None and allow_write != item:
        raise ConfigurationError(
            f"allow_write names {allow_write!r}, not the test item {item!r}: the check "
            "writes only to the test item")
    report = ContractReport(client.options.endpoint, item)
    if reflection:
        await _reflection(client, report)
        if require_reflection and report.reflection == "not served":
            raise UnimplementedError("UNIMPLEMENTED", "the gateway serves no gRPC server "
                                     "reflection (v1 or v1alpha)", "ServerReflectionInfo")
    if wire:
        await _Wire(client, report, item, max_events, event_seconds,
                    allow_write is not None, client_name).run()
    return report


async def _reflection(client: GatewayClient, report: ContractReport) -> None:
    served = await ReflectionClient.on(client).fetch()
    if served is None:
        report.reflection = "not served"
        return
    report.reflection = served.version
    report.services = served.services
    report.files = served.files
    report.reflection_errors = served.errors
    report.differences = diff(our_schema(), report.gateway_schema())


async def _close(messages: AsyncIterator[Any]) -> None:
    """Close a server stream's generator (its HTTP/2 stream is reset at once)."""
    close = getattr(messages, "aclose", None)
    if close is not None:
        with contextlib.suppress(MxGatewayError):
            await close()


def _handle(reply: pb.MxCommandReply, cmd: pb.MxCommand, name: str) -> int:
    """The handle a reply gives: its typed result's, else its integer return value."""
    typed = commands.result_of(reply, cmd.kind)
    return int(getattr(typed, name)) if typed else commands.return_int(reply)


class _Wire:
    """The wire check: the safe calls, each reply walked."""

    def __init__(self, client: GatewayClient, report: ContractReport, item: str,
                 max_events: int, event_seconds: float, write: bool, client_name: str) -> None:
        self.client = client
        self.report = report
        self.item = item
        self.max_events = max_events
        self.event_seconds = event_seconds
        self.write = write
        self.client_name = client_name
        self.log = DriftLog()

    async def call(self, rpc: str, reply: Awaitable[T]) -> T | None:
        """Await one call's reply, walk it and record the call; None if it failed."""
        record = Call(rpc)
        self.report.calls.append(record)
        try:
            result = await reply
        except MxGatewayError as exc:
            record.failure = exc
            failed = getattr(exc, "reply", None)  # a protocol failure still has its reply
            if isinstance(failed, betterproto2.Message):
                self.log.walk(failed)
                record.messages += 1
            return None
        if isinstance(result, betterproto2.Message):
            self.log.walk(result)
            record.messages += 1
        return result

    async def read(self, record: Call, messages: AsyncIterator[Any],
                   until: Callable[[Any], bool], seconds: float) -> None:
        """Read a server stream until a message satisfies `until`, it ends or `seconds`
        pass, walking each message (the stream is left open: close it after)."""
        async def read() -> None:
            async for message in messages:
                self.log.walk(message)
                record.messages += 1
                if until(message):
                    return

        if record.failure is not None:
            return
        try:
            await asyncio.wait_for(read(), seconds)
        except asyncio.TimeoutError:
            pass  # a quiet stream is not a failure: what came was walked
        except MxGatewayError as exc:
            record.failure = exc

    async def stream(self, rpc: str, messages: AsyncIterator[Any], limit: int,
                     seconds: float) -> None:
        """Read a server stream for `limit` messages or `seconds`, then close it."""
        record = Call(rpc)
        self.report.calls.append(record)
        try:
            await self.read(record, messages, lambda _: record.messages >= limit, seconds)
        finally:
            await _close(messages)

    async def run(self) -> None:
        self.report.wire = True
        try:
            await self._gateway()
            await self._galaxy()
        finally:
            self.report.observations = self.log.observations()
            self.report.messages = self.log.messages

    async def _gateway(self) -> None:
        client = self.client
        opened = await self.call("OpenSession", client.open_session_raw(self.client_name))
        if opened is None or not opened.session_id:
            return
        session = opened.session_id
        try:
            await self._session(session)
        finally:
            await self.call("CloseSession", client.close_session_raw(session))

    async def _invoke(self, session: str, name: str, cmd: pb.MxCommand
                      ) -> pb.MxCommandReply | None:
        return await self.call(f"Invoke {name}", self.client.invoke_raw(session, cmd))

    async def _session(self, session: str) -> None:
        cmd = commands.register(self.client_name)
        registered = await self._invoke(session, "Register", cmd)
        if registered is None:
            return
        server = _handle(registered, cmd, "server_handle")
        cmd = commands.add_item(server, self.item)
        added = await self._invoke(session, "AddItem", cmd)
        if added is None:
            return
        item = _handle(added, cmd, "item_handle")
        await self._invoke(session, "Advise", commands.advise(server, item))
        # One event stream for the whole check: a gateway may still hold a stream that
        # just went, and answer the next one ALREADY_EXISTS.
        events = self.client.stream_events_raw(session)
        record = Call("StreamEvents")
        self.report.calls.append(record)
        try:
            await self.read(record, events, lambda _: record.messages >= self.max_events,
                            self.event_seconds)
            read = await self._invoke(session, "ReadBulk",
                                      commands.read_bulk(server, [self.item]))
            if self.write and read is not None and await self._write_back(
                    session, server, item, read):
                await self.read(record, events, lambda e: e.on_write_complete is not None
                                and e.item_handle == item, self.event_seconds)
        finally:
            await _close(events)

    async def _write_back(self, session: str, server: int, item: int,
                          read: pb.MxCommandReply) -> bool:
        """Write the value just read back to the test item; whether the gateway took it."""
        results = read.bulk_read.results if read.bulk_read is not None else []
        value = results[0].value if results else None
        kind = next((t for t in TYPES.values()
                     if value is not None and getattr(value, t.scalar_field) is not None), None)
        if value is None or kind is None:
            self.report.calls.append(Call("Invoke Write", failure=ConfigurationError(
                f"{self.item} has no scalar value to write back: nothing written")))
            return False
        cmd = commands.write(server, item, getattr(value, kind.scalar_field),
                             type_name=kind.name)
        self.report.wrote = await self._invoke(session, "Write", cmd) is not None
        return self.report.wrote

    async def _galaxy(self) -> None:
        galaxy = self.client.galaxy()
        await self.call("TestConnection", galaxy.test_connection_raw())
        await self.call("GetLastDeployTime", galaxy.get_last_deploy_time_raw())
        await self.call("DiscoverHierarchy", galaxy.discover_hierarchy_page(
            gr.DiscoverHierarchyRequest(page_size=GALAXY_PAGE)))
        await self.call("BrowseChildren", galaxy.browse_children_page(
            gr.BrowseChildrenRequest(parent_gobject_id=0, page_size=GALAXY_PAGE)))
        await self.stream("WatchDeployEvents", galaxy.watch_deploy_events(), 1,
                          self.event_seconds)
