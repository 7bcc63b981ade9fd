"""Session: one helper per MXAccess command, with failure detection on every helper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import bulk
from ._proto.mxaccess_gateway import v1 as pb
from .contract import commands
from .contract.bulk_replies import BulkReply, BulkResults
from .contract.commands import Operator, WriteItem
from .errors import ConfigurationError, MxAccessError
from .events import EventStream, ResumeCursor
from .failures import mxaccess_failure, raise_for_mxaccess
from .log import logger

if TYPE_CHECKING:
    from .client import GatewayClient

K = pb.MxCommandKind

log = logger("mxgw.session")


class Session:
    """An open gateway session. Helpers raise MxAccessError on MXAccess failures;
    `invoke_raw` leaves those in the reply."""

    def __init__(
        self, client: GatewayClient, session_id: str, open_reply: pb.OpenSessionReply | None
    ) -> None:
        self.client = client
        self.id = session_id
        self.open_reply = open_reply
        self.close_reply: pb.CloseSessionReply | None = None
        self.events_cursor = ResumeCursor()
        """Where this session's event stream stands (shared by its EventStreams)."""

    def __repr__(self) -> str:
        return f"Session(id={self.id!r})"

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> pb.CloseSessionReply:
        """Close the session on the gateway (idempotent)."""
        if self.close_reply is None:
            self.close_reply = await self.client.close_session_raw(self.id)
            log.info("session %s closed", self.id)
        return self.close_reply

    # ------------------------------------------------------------------ invoke

    async def invoke_raw(
        self, cmd: pb.MxCommand, *, timeout: float | None = None
    ) -> pb.MxCommandReply:
        """Invoke; MXAccess failures stay in the reply (protocol failures raise)."""
        return await self.client.invoke_raw(self.id, cmd, timeout=timeout)

    async def invoke(self, cmd: pb.MxCommand, *, timeout: float | None = None) -> pb.MxCommandReply:
        """Invoke and raise MxAccessError if MXAccess reports a failure."""
        return raise_for_mxaccess(await self.invoke_raw(cmd, timeout=timeout))

    # ------------------------------------------------------------------ events

    def events(
        self, after_worker_sequence: int = 0, *, resume: bool = True,
        max_resume_attempts: int = 5, resume_backoff: float = 0.2,
    ) -> EventStream:
        """This session's events, in order, resuming after dropped connections.

            async with session.events() as events:
                async for event in events:
                    ...

        The gateway streams a session's events to one subscriber at a time: a new stream
        on this Session first closes the previous one if it is still open, and (unless
        `after_worker_sequence` is given, or the previous one hit a replay gap) carries
        on after the last event the previous one delivered, so none is lost in between.
        After a lost connection it retries `max_resume_attempts` times, waiting
        `resume_backoff` seconds more each time (the first retry at once).
        """
        return EventStream(self.client, self.id, self.events_cursor,
                           after_worker_sequence or None, resume=resume,
                           max_resume_attempts=max_resume_attempts,
                           resume_backoff=resume_backoff)

    # ------------------------------------------------------------------ commands

    async def _result(self, cmd: pb.MxCommand, field: str) -> int:
        """Invoke, then the integer `field` of the typed result (or the return value)."""
        reply = await self.invoke(cmd)
        typed = commands.result_of(reply, cmd.kind)
        return int(getattr(typed, field)) if typed else commands.return_int(reply)

    async def register(self, client_name: str) -> int:
        """Register with MXAccess; returns the server handle."""
        return await self._result(commands.register(client_name), "server_handle")

    async def unregister(self, server_handle: int) -> pb.MxCommandReply:
        """Unregister a server handle."""
        return await self.invoke(commands.unregister(server_handle))

    async def add_item(self, server_handle: int, item: str) -> int:
        """Add an item by reference (`Tag.Attribute`); returns the item handle."""
        return await self._result(commands.add_item(server_handle, item), "item_handle")

    async def add_item2(self, server_handle: int, item: str, context: str) -> int:
        """Add an item with a context string; returns the item handle."""
        return await self._result(commands.add_item2(server_handle, item, context),
                                  "item_handle")

    async def remove_item(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Remove an item."""
        return await self.invoke(commands.remove_item(server_handle, item_handle))

    async def advise(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Start OnDataChange events for an item."""
        return await self.invoke(commands.advise(server_handle, item_handle))

    async def advise_supervisory(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Start a supervisory subscription (writes attributed to the client)."""
        return await self.invoke(commands.advise_supervisory(server_handle, item_handle))

    async def unadvise(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Stop an item's events."""
        return await self.invoke(commands.unadvise(server_handle, item_handle))

    async def suspend(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Pause an item's updates (completion arrives as OperationComplete)."""
        return await self.invoke(commands.suspend(server_handle, item_handle))

    async def activate(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Resume an item's updates (completion arrives as OperationComplete)."""
        return await self.invoke(commands.activate(server_handle, item_handle))

    async def write(
        self, server_handle: int, item_handle: int, value: Any, *,
        type_name: str | None = None, user_id: int = 0,
    ) -> pb.MxCommandReply:
        """Write a value; the result arrives as OnWriteComplete."""
        return await self.invoke(commands.write(server_handle, item_handle, value,
                                                type_name=type_name, user_id=user_id))

    async def write2(
        self, server_handle: int, item_handle: int, value: Any, timestamp: dt.datetime, *,
        type_name: str | None = None, user_id: int = 0,
    ) -> pb.MxCommandReply:
        """Write a value with a source timestamp."""
        return await self.invoke(commands.write2(server_handle, item_handle, value, timestamp,
                                                 type_name=type_name, user_id=user_id))

    async def write_secured(
        self, server_handle: int, item_handle: int, value: Any, *,
        current_user_id: int, verifier_user_id: int = 0, type_name: str | None = None,
    ) -> pb.MxCommandReply:
        """Write a SecuredWrite / VerifiedWrite attribute as authenticated users."""
        return await self.invoke(commands.write_secured(
            server_handle, item_handle, value, current_user_id=current_user_id,
            verifier_user_id=verifier_user_id, type_name=type_name))

    async def write_secured2(
        self, server_handle: int, item_handle: int, value: Any, timestamp: dt.datetime, *,
        current_user_id: int, verifier_user_id: int = 0, type_name: str | None = None,
    ) -> pb.MxCommandReply:
        """WriteSecured with a source timestamp."""
        return await self.invoke(commands.write_secured2(
            server_handle, item_handle, value, timestamp, current_user_id=current_user_id,
            verifier_user_id=verifier_user_id, type_name=type_name))

    async def authenticate_user(self, server_handle: int, user_name: str, password: str) -> int:
        """Authenticate a user (`DOMAIN\\user` allowed); returns the user id."""
        return await self._result(
            commands.authenticate_user(server_handle, user_name, password), "user_id")

    async def archestra_user_to_id(self, server_handle: int, user_guid: str) -> int:
        """Map an ArchestrA user GUID to a user id."""
        return await self._result(commands.archestra_user_to_id(server_handle, user_guid),
                                  "user_id")

    async def add_buffered_item(self, server_handle: int, item: str, context: str = "") -> int:
        """Add a buffered item (updates arrive as OnBufferedDataChange); returns its handle."""
        return await self._result(commands.add_buffered_item(server_handle, item, context),
                                  "item_handle")

    async def set_buffered_update_interval(
        self, server_handle: int, interval_ms: int
    ) -> pb.MxCommandReply:
        """Set how often buffered updates are delivered."""
        return await self.invoke(commands.set_buffered_update_interval(server_handle,
                                                                       interval_ms))

    # ------------------------------------------------------------------ alarms

    async def subscribe_alarms(
        self, subscription_expression: str = "", *,
        forced_mode: pb.AlarmProviderMode = pb.AlarmProviderMode.UNSPECIFIED,
        watch_list: Iterable[pb.AlarmSubtagTarget] = (), failover: bool = False,
    ) -> pb.MxCommandReply:
        """Subscribe this session to alarms: transitions then arrive on its event stream
        (`session.events()`) as family ON_ALARM_TRANSITION, body `on_alarm_transition`.
        The session-less `client.stream_alarms` / `client.alarm_view` need no session."""
        return await self.invoke(commands.subscribe_alarms(
            subscription_expression, forced_mode=forced_mode, watch_list=watch_list,
            failover=failover))

    async def unsubscribe_alarms(self) -> pb.MxCommandReply:
        """Stop this session's alarm transitions."""
        return await self.invoke(commands.unsubscribe_alarms())

    async def _acknowledged(self, cmd: pb.MxCommand, what: str) -> pb.MxCommandReply:
        reply = await self.invoke(cmd)
        # Both acknowledge kinds answer in the `acknowledge_alarm` arm (arm 34).
        result = reply.acknowledge_alarm
        native = result.native_status if result is not None else 0
        if native:
            raise MxAccessError(f"the gateway refused to acknowledge {what}: native status "
                                f"0x{native & 0xFFFFFFFF:08X}", reply)
        return reply

    async def acknowledge_alarm(self, alarm_guid: str, comment: str,
                                operator: Operator | str) -> pb.MxCommandReply:
        """Acknowledge an alarm by its provider GUID (the worker-facing command; a client
        normally uses `client.acknowledge_alarm` by reference). MxAccessError when the
        native status is not 0."""
        return await self._acknowledged(
            commands.acknowledge_alarm(alarm_guid, comment, _operator(operator)),
            f"alarm {alarm_guid}")

    async def acknowledge_alarm_by_name(self, reference: str, comment: str,
                                        operator: Operator | str) -> pb.MxCommandReply:
        """Acknowledge an alarm by its reference `Provider!Group.Tag` in this session.
        MxAccessError when the native status is not 0."""
        return await self._acknowledged(
            commands.acknowledge_alarm_by_name(reference, comment, _operator(operator)),
            reference)

    async def query_active_alarms(self, filter_prefix: str = "") -> list[pb.ActiveAlarmSnapshot]:
        """The active alarms whose reference starts with `filter_prefix`, through this
        session (the session-less `client.query_active_alarms` is the usual way)."""
        cmd = commands.query_active_alarms(filter_prefix)
        result = commands.result_of(await self.invoke(cmd), cmd.kind)
        return list(result.snapshots) if result is not None else []

    # ------------------------------------------------------------------ bulk

    async def bulk(self, cmd: pb.MxCommand, *, timeout: float | None = None
                   ) -> BulkResults[Any]:
        """Invoke a bulk command (from `mxgw.contract.commands`), split by count and size;
        one result per entry, in input order."""
        options = self.client.options
        arm = commands.arm(cmd.kind)
        if arm.entries is None:
            raise ConfigurationError(f"{cmd.kind.proto_name} is not a bulk command")
        if not getattr(getattr(cmd, arm.name), arm.entries):
            return bulk.no_results(cmd.kind)
        return await bulk.run(self._invoke_for_bulk, cmd, max_entries=options.max_bulk_entries,
                              max_bytes=options.bulk_byte_budget, timeout=timeout)

    async def _write_bulk(self, write: commands.EncodedBulk) -> BulkResults[Any]:
        """A bulk write built straight to bytes (the same checks and bytes as its command
        builder's, without a message per entry), split as `bulk` splits."""
        if not write.entries:
            return bulk.no_results(write.kind)
        options = self.client.options
        return await bulk.run_encoded(self._invoke_for_bulk, write,
                                      max_entries=options.max_bulk_entries,
                                      max_bytes=options.bulk_byte_budget)

    async def _invoke_for_bulk(self, cmd: pb.MxCommand, timeout: float | None) -> BulkReply:
        reply = await self.client.invoke_bulk_raw(self.id, cmd, timeout=timeout)
        failure = mxaccess_failure(reply.reply)
        if failure is not None:
            reply.complete()  # the error's reply is whole
            raise failure
        return reply

    async def add_item_bulk(
        self, server_handle: int, tag_addresses: Iterable[str]
    ) -> BulkResults[pb.SubscribeResult]:
        """AddItem for each tag address; one result (with its item handle) per address."""
        return await self.bulk(commands.add_item_bulk(server_handle, tag_addresses))

    async def advise_item_bulk(
        self, server_handle: int, item_handles: Iterable[int]
    ) -> BulkResults[pb.SubscribeResult]:
        """Advise each item handle; one result per handle."""
        return await self.bulk(commands.advise_item_bulk(server_handle, item_handles))

    async def remove_item_bulk(
        self, server_handle: int, item_handles: Iterable[int]
    ) -> BulkResults[pb.SubscribeResult]:
        """RemoveItem for each item handle; one result per handle."""
        return await self.bulk(commands.remove_item_bulk(server_handle, item_handles))

    async def unadvise_item_bulk(
        self, server_handle: int, item_handles: Iterable[int]
    ) -> BulkResults[pb.SubscribeResult]:
        """UnAdvise each item handle; one result per handle."""
        return await self.bulk(commands.unadvise_item_bulk(server_handle, item_handles))

    async def subscribe_bulk(
        self, server_handle: int, tag_addresses: Iterable[str]
    ) -> BulkResults[pb.SubscribeResult]:
        """AddItem + Advise per tag address; each item's first value arrives as an event."""
        return await self.bulk(commands.subscribe_bulk(server_handle, tag_addresses))

    async def unsubscribe_bulk(
        self, server_handle: int, item_handles: Iterable[int]
    ) -> BulkResults[pb.SubscribeResult]:
        """UnAdvise + RemoveItem per item handle; one result per handle."""
        return await self.bulk(commands.unsubscribe_bulk(server_handle, item_handles))

    async def write_bulk(
        self, server_handle: int, items: Iterable[WriteItem | tuple[int, Any]], *,
        type_name: str | None = None, user_id: int = 0,
    ) -> BulkResults[pb.BulkWriteResult]:
        """Write many items; `items` are WriteItem or (item_handle, value) tuples.

        One result per item, in order; a failed item is `was_successful = False`
        (`results.failures()` finds them without decoding the others)."""
        return await self._write_bulk(commands.encoded_write_bulk(
            K.WRITE_BULK, server_handle, items, type_name=type_name, user_id=user_id))

    async def write2_bulk(
        self, server_handle: int, items: Iterable[WriteItem | tuple[int, Any]], *,
        timestamp: dt.datetime | None = None, type_name: str | None = None, user_id: int = 0,
    ) -> BulkResults[pb.BulkWriteResult]:
        """Write2 many items; each needs a timestamp (its own or `timestamp=`)."""
        return await self._write_bulk(commands.encoded_write_bulk(
            K.WRITE2_BULK, server_handle, items, timestamp=timestamp, type_name=type_name,
            user_id=user_id))

    async def write_secured_bulk(
        self, server_handle: int, items: Iterable[WriteItem | tuple[int, Any]], *,
        current_user_id: int = 0, verifier_user_id: int = 0, type_name: str | None = None,
    ) -> BulkResults[pb.BulkWriteResult]:
        """WriteSecured many items as authenticated users."""
        return await self._write_bulk(commands.encoded_write_bulk(
            K.WRITE_SECURED_BULK, server_handle, items, current_user_id=current_user_id,
            verifier_user_id=verifier_user_id, type_name=type_name))

    async def write_secured2_bulk(
        self, server_handle: int, items: Iterable[WriteItem | tuple[int, Any]], *,
        current_user_id: int = 0, verifier_user_id: int = 0,
        timestamp: dt.datetime | None = None, type_name: str | None = None,
    ) -> BulkResults[pb.BulkWriteResult]:
        """WriteSecured2 many items; each needs a timestamp (its own or `timestamp=`)."""
        return await self._write_bulk(commands.encoded_write_bulk(
            K.WRITE_SECURED2_BULK, server_handle, items, current_user_id=current_user_id,
            verifier_user_id=verifier_user_id, timestamp=timestamp, type_name=type_name))

    async def read_bulk(
        self, server_handle: int, tag_addresses: Iterable[str], *, timeout_ms: int = 0
    ) -> BulkResults[pb.BulkReadResult]:
        """Read tags once: the cached value when already advised in this session
        (`was_cached`), else add, advise, wait up to `timeout_ms` (0: the gateway's
        default) and remove. One result per address, in order."""
        cmd = commands.read_bulk(server_handle, tag_addresses, timeout_ms=timeout_ms)
        base = self.client.options.timeout
        deadline = None if base is None else base + timeout_ms / 1000.0
        return await self.bulk(cmd, timeout=deadline)


def _operator(operator: Operator | str) -> Operator:
    return operator if isinstance(operator, Operator) else Operator(operator)
