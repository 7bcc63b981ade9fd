"""Session: one helper per MXAccess command, with failure detection on every helper."""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import bulk
from ._proto.mxaccess_gateway import v1 as pb
from .bulk import WriteDefaults, WriteItem
from .errors import ConfigurationError
from .events import EventStream
from .failures import check_reply
from .values import to_mx_value

if TYPE_CHECKING:
    from .client import GatewayClient

K = pb.MxCommandKind
INT32_MAX = 2**31 - 1


def _handle(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= INT32_MAX:
        raise ConfigurationError(f"{name} must be a positive int32, got {value!r}")
    return value


def _user_id(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT32_MAX:
        raise ConfigurationError(f"{name} must be an int32 >= 0, got {value!r}")
    return value


def _text(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty string")
    return value


def _timestamp(value: dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ConfigurationError("timestamp must be a timezone-aware datetime")
    return value.astimezone(dt.timezone.utc)


def command(kind: pb.MxCommandKind, arm: str, payload: Any) -> pb.MxCommand:
    """An MxCommand of `kind` with its payload in oneof arm `arm`."""
    return pb.MxCommand(kind=kind, **{arm: payload})


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
        self._events: weakref.ref[EventStream] | None = None
        """The last stream opened (weakly: an abandoned one is closed when collected)."""

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
        return self.close_reply

    # ------------------------------------------------------------------ invoke

    async def invoke_raw(
        self, cmd: pb.MxCommand, *, timeout: float | None = None
    ) -> pb.MxCommandReply:
        """Invoke; MXAccess failures stay in the reply (protocol failures raise)."""
        return await self.client.invoke_raw(self.id, cmd, timeout=timeout)

    async def invoke(self, cmd: pb.MxCommand, *, timeout: float | None = None) -> pb.MxCommandReply:
        """Invoke and raise MxAccessError if MXAccess reports a failure."""
        return check_reply(await self.invoke_raw(cmd, timeout=timeout))

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
        previous = self._events() if self._events is not None else None
        if after_worker_sequence == 0 and previous is not None and not previous.replay_gap:
            after_worker_sequence = previous.last_sequence
        stream = EventStream(self.client, self.id, after_worker_sequence, resume=resume,
                             max_resume_attempts=max_resume_attempts,
                             resume_backoff=resume_backoff, supersedes=previous)
        self._events = weakref.ref(stream)
        return stream

    # ------------------------------------------------------------------ commands

    async def register(self, client_name: str) -> int:
        """Register with MXAccess; returns the server handle."""
        reply = await self.invoke(
            command(K.REGISTER, "register_command",
                    pb.RegisterCommand(client_name=_text("client_name", client_name)))
        )
        return reply.register.server_handle if reply.register else reply_int(reply)

    async def unregister(self, server_handle: int) -> pb.MxCommandReply:
        """Unregister a server handle."""
        return await self.invoke(
            command(K.UNREGISTER, "unregister_command",
                    pb.UnregisterCommand(server_handle=_handle("server_handle", server_handle)))
        )

    async def add_item(self, server_handle: int, item: str) -> int:
        """Add an item by reference (`Tag.Attribute`); returns the item handle."""
        reply = await self.invoke(
            command(K.ADD_ITEM, "add_item_command", pb.AddItemCommand(
                server_handle=_handle("server_handle", server_handle),
                item_definition=_text("item", item)))
        )
        return reply.add_item.item_handle if reply.add_item else reply_int(reply)

    async def add_item2(self, server_handle: int, item: str, context: str) -> int:
        """Add an item with a context string; returns the item handle."""
        reply = await self.invoke(
            command(K.ADD_ITEM2, "add_item2_command", pb.AddItem2Command(
                server_handle=_handle("server_handle", server_handle),
                item_definition=_text("item", item), item_context=context))
        )
        return reply.add_item2.item_handle if reply.add_item2 else reply_int(reply)

    async def _item_command(
        self, kind: pb.MxCommandKind, arm: str, cls: Any, server_handle: int, item_handle: int
    ) -> pb.MxCommandReply:
        payload = cls(server_handle=_handle("server_handle", server_handle),
                      item_handle=_handle("item_handle", item_handle))
        return await self.invoke(command(kind, arm, payload))

    async def remove_item(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Remove an item."""
        return await self._item_command(
            K.REMOVE_ITEM, "remove_item_command", pb.RemoveItemCommand, server_handle, item_handle)

    async def advise(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Start OnDataChange events for an item."""
        return await self._item_command(
            K.ADVISE, "advise_command", pb.AdviseCommand, server_handle, item_handle)

    async def advise_supervisory(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Start a supervisory subscription (writes attributed to the client)."""
        return await self._item_command(
            K.ADVISE_SUPERVISORY, "advise_supervisory_command", pb.AdviseSupervisoryCommand,
            server_handle, item_handle)

    async def unadvise(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Stop an item's events."""
        return await self._item_command(
            K.UN_ADVISE, "un_advise_command", pb.UnAdviseCommand, server_handle, item_handle)

    async def suspend(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Pause an item's updates (completion arrives as OperationComplete)."""
        return await self._item_command(
            K.SUSPEND, "suspend_command", pb.SuspendCommand, server_handle, item_handle)

    async def activate(self, server_handle: int, item_handle: int) -> pb.MxCommandReply:
        """Resume an item's updates (completion arrives as OperationComplete)."""
        return await self._item_command(
            K.ACTIVATE, "activate_command", pb.ActivateCommand, server_handle, item_handle)

    async def write(
        self, server_handle: int, item_handle: int, value: Any, *,
        type_name: str | None = None, user_id: int = 0,
    ) -> pb.MxCommandReply:
        """Write a value; the result arrives as OnWriteComplete."""
        return await self.invoke(command(K.WRITE, "write_command", pb.WriteCommand(
            server_handle=_handle("server_handle", server_handle),
            item_handle=_handle("item_handle", item_handle),
            value=to_mx_value(value, type_name), user_id=_user_id("user_id", user_id))))

    async def write2(
        self, server_handle: int, item_handle: int, value: Any, timestamp: dt.datetime, *,
        type_name: str | None = None, user_id: int = 0,
    ) -> pb.MxCommandReply:
        """Write a value with a source timestamp."""
        return await self.invoke(command(K.WRITE2, "write2_command", pb.Write2Command(
            server_handle=_handle("server_handle", server_handle),
            item_handle=_handle("item_handle", item_handle),
            value=to_mx_value(value, type_name), user_id=_user_id("user_id", user_id),
            timestamp_value=_timestamp(timestamp))))

    async def write_secured(
        self, server_handle: int, item_handle: int, value: Any, *,
        current_user_id: int, verifier_user_id: int = 0, type_name: str | None = None,
    ) -> pb.MxCommandReply:
        """Write a SecuredWrite / VerifiedWrite attribute as authenticated users."""
        return await self.invoke(command(
            K.WRITE_SECURED, "write_secured_command", pb.WriteSecuredCommand(
                server_handle=_handle("server_handle", server_handle),
                item_handle=_handle("item_handle", item_handle),
                current_user_id=_user_id("current_user_id", current_user_id),
                verifier_user_id=_user_id("verifier_user_id", verifier_user_id),
                value=to_mx_value(value, type_name))))

    async def write_secured2(
        self, server_handle: int, item_handle: int, value: Any, timestamp: dt.datetime, *,
        current_user_id: int, verifier_user_id: int = 0, type_name: str | None = None,
    ) -> pb.MxCommandReply:
        """WriteSecured with a source timestamp."""
        return await self.invoke(command(
            K.WRITE_SECURED2, "write_secured2_command", pb.WriteSecured2Command(
                server_handle=_handle("server_handle", server_handle),
                item_handle=_handle("item_handle", item_handle),
                current_user_id=_user_id("current_user_id", current_user_id),
                verifier_user_id=_user_id("verifier_user_id", verifier_user_id),
                value=to_mx_value(value, type_name), timestamp_value=_timestamp(timestamp))))

    async def authenticate_user(self, server_handle: int, user_name: str, password: str) -> int:
        """Authenticate a user (`DOMAIN\\user` allowed); returns the user id."""
        reply = await self.invoke(command(
            K.AUTHENTICATE_USER, "authenticate_user_command", pb.AuthenticateUserCommand(
                server_handle=_handle("server_handle", server_handle),
                user_name=_text("user_name", user_name), password=password)))
        return reply.authenticate_user.user_id if reply.authenticate_user else reply_int(reply)

    async def archestra_user_to_id(self, server_handle: int, user_guid: str) -> int:
        """Map an ArchestrA user GUID to a user id."""
        reply = await self.invoke(command(
            K.ARCHESTRA_USER_TO_ID, "archestra_user_to_id_command", pb.ArchestrAUserToIdCommand(
                server_handle=_handle("server_handle", server_handle),
                user_guid=_text("user_guid", user_guid))))
        return (reply.archestra_user_to_id.user_id if reply.archestra_user_to_id
                else reply_int(reply))

    async def add_buffered_item(self, server_handle: int, item: str, context: str = "") -> int:
        """Add a buffered item (updates arrive as OnBufferedDataChange); returns its handle."""
        reply = await self.invoke(command(
            K.ADD_BUFFERED_ITEM, "add_buffered_item_command", pb.AddBufferedItemCommand(
                server_handle=_handle("server_handle", server_handle),
                item_definition=_text("item", item), item_context=context)))
        return (reply.add_buffered_item.item_handle if reply.add_buffered_item
                else reply_int(reply))

    async def set_buffered_update_interval(
        self, server_handle: int, interval_ms: int
    ) -> pb.MxCommandReply:
        """Set how often buffered updates are delivered."""
        if isinstance(interval_ms, bool) or not isinstance(interval_ms, int) or interval_ms <= 0:
            raise ConfigurationError("interval_ms must be a positive int")
        return await self.invoke(command(
            K.SET_BUFFERED_UPDATE_INTERVAL, "set_buffered_update_interval_command",
            pb.SetBufferedUpdateIntervalCommand(
                server_handle=_handle("server_handle", server_handle), interval_ms=interval_ms)))


    # ------------------------------------------------------------------ bulk

    async def _bulk(self, spec: bulk.BulkSpec, server_handle: int, entries: list[Any],
                    sizes: list[int], timeout: float | None = None,
                    **payload_fields: Any) -> list[Any]:
        server_handle = _handle("server_handle", server_handle)
        if not entries:
            return []
        options = self.client.options
        return await bulk.run(
            self._invoke_for_bulk, spec, server_handle, entries,
            sizes, max_entries=options.max_bulk_entries, max_bytes=options.bulk_byte_budget,
            timeout=timeout, **payload_fields)

    async def _invoke_for_bulk(
        self, cmd: pb.MxCommand, timeout: float | None
    ) -> pb.MxCommandReply:
        return await self.invoke(cmd, timeout=timeout)

    async def _handles_bulk(self, spec: bulk.BulkSpec, server_handle: int,
                            item_handles: Iterable[int]) -> list[pb.SubscribeResult]:
        handles, sizes = bulk.check_handles(item_handles)
        return await self._bulk(spec, server_handle, handles, sizes)

    async def _addresses_bulk(self, spec: bulk.BulkSpec, server_handle: int,
                              tag_addresses: Iterable[str]) -> list[pb.SubscribeResult]:
        addresses, sizes = bulk.check_addresses(tag_addresses)
        return await self._bulk(spec, server_handle, addresses, sizes)

    async def add_item_bulk(
        self, server_handle: int, tag_addresses: Iterable[str]
    ) -> list[pb.SubscribeResult]:
        """AddItem for each tag address; one result (with its item handle) per address."""
        return await self._addresses_bulk(bulk.ADD_ITEM, server_handle, tag_addresses)

    async def advise_item_bulk(
        self, server_handle: int, item_handles: Iterable[int]
    ) -> list[pb.SubscribeResult]:
        """Advise each item handle; one result per handle."""
        return await self._handles_bulk(bulk.ADVISE_ITEM, server_handle, item_handles)

    async def remove_item_bulk(
        self, server_handle: int, item_handles: Iterable[int]
    ) -> list[pb.SubscribeResult]:
        """RemoveItem for each item handle; one result per handle."""
        return await self._handles_bulk(bulk.REMOVE_ITEM, server_handle, item_handles)

    async def unadvise_item_bulk(
        self, server_handle: int, item_handles: Iterable[int]
    ) -> list[pb.SubscribeResult]:
        """UnAdvise each item handle; one result per handle."""
        return await self._handles_bulk(bulk.UNADVISE_ITEM, server_handle, item_handles)

    async def subscribe_bulk(
        self, server_handle: int, tag_addresses: Iterable[str]
    ) -> list[pb.SubscribeResult]:
        """AddItem + Advise per tag address; each item's first value arrives as an event."""
        return await self._addresses_bulk(bulk.SUBSCRIBE, server_handle, tag_addresses)

    async def unsubscribe_bulk(
        self, server_handle: int, item_handles: Iterable[int]
    ) -> list[pb.SubscribeResult]:
        """UnAdvise + RemoveItem per item handle; one result per handle."""
        return await self._handles_bulk(bulk.UNSUBSCRIBE, server_handle, item_handles)

    async def _write_bulk(self, spec: bulk.BulkSpec, server_handle: int,
                          items: Iterable[WriteItem | tuple[int, Any]],
                          defaults: WriteDefaults) -> list[pb.BulkWriteResult]:
        entries, sizes = bulk.write_entries(spec, items, defaults)
        return await self._bulk(spec, server_handle, entries, sizes)

    async def write_bulk(
        self, server_handle: int, items: Iterable[WriteItem | tuple[int, Any]], *,
        type_name: str | None = None, user_id: int = 0,
    ) -> list[pb.BulkWriteResult]:
        """Write many items; `items` are WriteItem or (item_handle, value) tuples.

        One result per item, in order; a failed item is `was_successful = False`."""
        return await self._write_bulk(bulk.WRITE, server_handle, items,
                                      WriteDefaults(type_name=type_name, user_id=user_id))

    async def write2_bulk(
        self, server_handle: int, items: Iterable[WriteItem | tuple[int, Any]], *,
        timestamp: dt.datetime | None = None, type_name: str | None = None, user_id: int = 0,
    ) -> list[pb.BulkWriteResult]:
        """Write2 many items; each needs a timestamp (its own or `timestamp=`)."""
        return await self._write_bulk(
            bulk.WRITE2, server_handle, items,
            WriteDefaults(type_name=type_name, user_id=user_id, timestamp=timestamp))

    async def write_secured_bulk(
        self, server_handle: int, items: Iterable[WriteItem | tuple[int, Any]], *,
        current_user_id: int = 0, verifier_user_id: int = 0, type_name: str | None = None,
    ) -> list[pb.BulkWriteResult]:
        """WriteSecured many items as authenticated users."""
        return await self._write_bulk(
            bulk.WRITE_SECURED, server_handle, items,
            WriteDefaults(type_name=type_name, current_user_id=current_user_id,
                          verifier_user_id=verifier_user_id))

    async def write_secured2_bulk(
        self, server_handle: int, items: Iterable[WriteItem | tuple[int, Any]], *,
        current_user_id: int = 0, verifier_user_id: int = 0,
        timestamp: dt.datetime | None = None, type_name: str | None = None,
    ) -> list[pb.BulkWriteResult]:
        """WriteSecured2 many items; each needs a timestamp (its own or `timestamp=`)."""
        return await self._write_bulk(
            bulk.WRITE_SECURED2, server_handle, items,
            WriteDefaults(type_name=type_name, current_user_id=current_user_id,
                          verifier_user_id=verifier_user_id, timestamp=timestamp))

    async def read_bulk(
        self, server_handle: int, tag_addresses: Iterable[str], *, timeout_ms: int = 0
    ) -> list[pb.BulkReadResult]:
        """Read tags once: the cached value when already advised in this session
        (`was_cached`), else add, advise, wait up to `timeout_ms` (0: the gateway's
        default) and remove. One result per address, in order."""
        if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or not (
            0 <= timeout_ms <= INT32_MAX
        ):
            raise ConfigurationError(f"timeout_ms must be an int32 >= 0, got {timeout_ms!r}")
        addresses, sizes = bulk.check_addresses(tag_addresses)
        base = self.client.options.timeout
        deadline = None if base is None else base + timeout_ms / 1000.0
        return await self._bulk(bulk.READ, server_handle, addresses, sizes, deadline,
                                timeout_ms=timeout_ms)


def reply_int(reply: pb.MxCommandReply) -> int:
    """The integer return value of a reply without a typed result."""
    value = reply.return_value
    if value is not None:
        for name in ("int32_value", "int64_value"):
            found = getattr(value, name)
            if found is not None:
                return int(found)
    return 0
