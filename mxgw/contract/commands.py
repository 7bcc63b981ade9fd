"""Commands as values: pure, validated builders of every MxCommand kind.

    commands.write(1, 7, 42)                  -> MxCommand(kind=WRITE, write_command=...)
    commands.subscribe_bulk(1, ["A.X", "B.Y"]) -> MxCommand(kind=SUBSCRIBE_BULK, ...)

Which oneof arm carries which kind is not typed out here: `ARMS` is derived from the
generated `MxCommand` (arm `<name>_command` carries kind `<NAME>`), so a kind added to
the proto is known to the client, the CLI and the simulator's dispatch at once. A
builder checks every input before anything is sent: ConfigurationError (or
ValueConversionError) for a bad argument, BulkEntryError with the entry's index for a
bad bulk entry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import betterproto2

from .._proto.mxaccess_gateway import v1 as pb
from ..errors import BulkEntryError, ConfigurationError, ValueConversionError
from . import checks, codec
from .fields import constructor
from .values import to_mx_value, value_encoder

K = pb.MxCommandKind
_ARM_SUFFIX = "_command"


@dataclass(frozen=True)
class Arm:
    """How one command kind travels: its MxCommand arm and, for a bulk kind, where its
    entries and results are."""

    kind: pb.MxCommandKind
    name: str
    """The MxCommand oneof arm (`write_command`)."""
    payload_type: type[Any]
    entries: str | None
    """The payload's repeated field of entries (bulk kinds), else None."""
    result: str | None
    """The MxCommandReply arm holding the typed result, if the kind has one."""


_BULK_RESULTS = {
    K.ADD_ITEM_BULK: "bulk_subscribe", K.ADVISE_ITEM_BULK: "bulk_subscribe",
    K.REMOVE_ITEM_BULK: "bulk_subscribe", K.UN_ADVISE_ITEM_BULK: "bulk_subscribe",
    K.SUBSCRIBE_BULK: "bulk_subscribe", K.UNSUBSCRIBE_BULK: "bulk_subscribe",
    K.WRITE_BULK: "bulk_write", K.WRITE2_BULK: "bulk_write",
    K.WRITE_SECURED_BULK: "bulk_write", K.WRITE_SECURED2_BULK: "bulk_write",
    K.READ_BULK: "bulk_read",
}
"""The bulk kinds and the reply arm of each (the one fact the generated code does not
carry); a bulk kind's entries are its payload's repeated field."""


def _derive_arms() -> dict[pb.MxCommandKind, Arm]:
    reply_arms = {spec.name for spec in codec.oneof_arms(pb.MxCommandReply, "result")}
    arms: dict[pb.MxCommandKind, Arm] = {}
    for spec in codec.oneof_arms(pb.MxCommand, "payload"):
        base = spec.name.removesuffix(_ARM_SUFFIX)
        kind = pb.MxCommandKind[base.upper()]  # a KeyError here: the proto broke the naming rule
        entries = None
        if kind in _BULK_RESULTS:  # only bulk payloads pay for reading their fields
            repeated = [f.name for f in codec.fields(spec.target) if f.repeated]
            entries = repeated[0] if len(repeated) == 1 else None
        result = _BULK_RESULTS.get(kind) or (base if base in reply_arms else None)
        arms[kind] = Arm(kind, spec.name, spec.target, entries, result)
    return arms


_ARMS: dict[pb.MxCommandKind, Arm] = {}
_BY_PAYLOAD: dict[type[Any], Arm] = {}


def arms() -> dict[pb.MxCommandKind, Arm]:
    """Every command kind the contract carries, with its arm (derived on first use, so
    importing the client costs nothing for it); also `commands.ARMS`."""
    if not _ARMS:
        _ARMS.update(_derive_arms())
        _BY_PAYLOAD.update({arm.payload_type: arm for arm in _ARMS.values()})
    return _ARMS


if TYPE_CHECKING:
    ARMS: dict[pb.MxCommandKind, Arm]
    """Every command kind the contract carries, with its arm."""
else:
    def __getattr__(name: str) -> Any:
        if name == "ARMS":
            return arms()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def arm(kind: pb.MxCommandKind) -> Arm:
    """The arm of a command kind (ConfigurationError for a kind with no payload arm)."""
    found = arms().get(kind)
    if found is None:
        raise ConfigurationError(f"command kind {kind!r} has no payload in this contract")
    return found


def command(payload: betterproto2.Message) -> pb.MxCommand:
    """The MxCommand carrying `payload`, its kind and arm derived from the payload's type."""
    if not _ARMS:
        arms()
    found = _BY_PAYLOAD.get(type(payload))
    if found is None:
        raise ConfigurationError(f"{type(payload).__name__} is not an MxCommand payload")
    arm_payload: dict[str, Any] = {found.name: payload}
    return pb.MxCommand(kind=found.kind, **arm_payload)


def payload_of(cmd: pb.MxCommand) -> tuple[Arm | None, Any]:
    """The arm of a command's kind and the payload it carries (None, None when unset).

    The arm's name may differ from the arm actually set: callers compare them."""
    _, payload = betterproto2.which_one_of(cmd, "payload")
    return arms().get(cmd.kind), payload


def result_of(reply: pb.MxCommandReply, kind: pb.MxCommandKind) -> Any:
    """The typed result of a reply to a command of `kind`, or None."""
    name = arm(kind).result
    return getattr(reply, name) if name is not None else None


def return_int(reply: pb.MxCommandReply) -> int:
    """The integer return value of a reply without a typed result (0 when none)."""
    value = reply.return_value
    if value is not None:
        for name in ("int32_value", "int64_value"):
            found = getattr(value, name)
            if found is not None:
                return int(found)
    return 0


# ---------------------------------------------------------------------- one item

def register(client_name: str) -> pb.MxCommand:
    """Register with MXAccess (the reply carries the server handle)."""
    return command(pb.RegisterCommand(client_name=checks.text("client_name", client_name)))


def unregister(server_handle: int) -> pb.MxCommand:
    return command(pb.UnregisterCommand(
        server_handle=checks.handle("server_handle", server_handle)))


def add_item(server_handle: int, item: str) -> pb.MxCommand:
    """Add an item by reference (`Tag.Attribute`)."""
    return command(pb.AddItemCommand(server_handle=checks.handle("server_handle", server_handle),
                                     item_definition=checks.text("item", item)))


def add_item2(server_handle: int, item: str, context: str) -> pb.MxCommand:
    """Add an item with a context string."""
    return command(pb.AddItem2Command(
        server_handle=checks.handle("server_handle", server_handle),
        item_definition=checks.text("item", item), item_context=_string("context", context)))


def add_buffered_item(server_handle: int, item: str, context: str = "") -> pb.MxCommand:
    """Add a buffered item (updates arrive as OnBufferedDataChange)."""
    return command(pb.AddBufferedItemCommand(
        server_handle=checks.handle("server_handle", server_handle),
        item_definition=checks.text("item", item), item_context=_string("context", context)))


def set_buffered_update_interval(server_handle: int, interval_ms: int) -> pb.MxCommand:
    return command(pb.SetBufferedUpdateIntervalCommand(
        server_handle=checks.handle("server_handle", server_handle),
        interval_ms=checks.handle("interval_ms", interval_ms)))


def _item(payload_type: type[Any], server_handle: int, item_handle: int) -> pb.MxCommand:
    return command(payload_type(server_handle=checks.handle("server_handle", server_handle),
                                item_handle=checks.handle("item_handle", item_handle)))


def remove_item(server_handle: int, item_handle: int) -> pb.MxCommand:
    return _item(pb.RemoveItemCommand, server_handle, item_handle)


def advise(server_handle: int, item_handle: int) -> pb.MxCommand:
    """Start OnDataChange events for an item."""
    return _item(pb.AdviseCommand, server_handle, item_handle)


def advise_supervisory(server_handle: int, item_handle: int) -> pb.MxCommand:
    return _item(pb.AdviseSupervisoryCommand, server_handle, item_handle)


def unadvise(server_handle: int, item_handle: int) -> pb.MxCommand:
    return _item(pb.UnAdviseCommand, server_handle, item_handle)


def suspend(server_handle: int, item_handle: int) -> pb.MxCommand:
    return _item(pb.SuspendCommand, server_handle, item_handle)


def activate(server_handle: int, item_handle: int) -> pb.MxCommand:
    return _item(pb.ActivateCommand, server_handle, item_handle)


def write(server_handle: int, item_handle: int, value: Any, *, type_name: str | None = None,
          user_id: int = 0) -> pb.MxCommand:
    """Write a value (`type_name` forces its type: "int64", "float", "double[]"...)."""
    return command(pb.WriteCommand(
        server_handle=checks.handle("server_handle", server_handle),
        item_handle=checks.handle("item_handle", item_handle),
        value=to_mx_value(value, type_name), user_id=checks.user_id("user_id", user_id)))


def write2(server_handle: int, item_handle: int, value: Any, timestamp: dt.datetime, *,
           type_name: str | None = None, user_id: int = 0) -> pb.MxCommand:
    """Write a value with a source timestamp."""
    return command(pb.Write2Command(
        server_handle=checks.handle("server_handle", server_handle),
        item_handle=checks.handle("item_handle", item_handle),
        value=to_mx_value(value, type_name), user_id=checks.user_id("user_id", user_id),
        timestamp_value=checks.aware_utc("timestamp", timestamp)))


def write_secured(server_handle: int, item_handle: int, value: Any, *, current_user_id: int,
                  verifier_user_id: int = 0, type_name: str | None = None) -> pb.MxCommand:
    """Write a SecuredWrite / VerifiedWrite attribute as authenticated users."""
    return command(pb.WriteSecuredCommand(
        server_handle=checks.handle("server_handle", server_handle),
        item_handle=checks.handle("item_handle", item_handle),
        current_user_id=checks.user_id("current_user_id", current_user_id),
        verifier_user_id=checks.user_id("verifier_user_id", verifier_user_id),
        value=to_mx_value(value, type_name)))


def write_secured2(server_handle: int, item_handle: int, value: Any, timestamp: dt.datetime,
                   *, current_user_id: int, verifier_user_id: int = 0,
                   type_name: str | None = None) -> pb.MxCommand:
    """WriteSecured with a source timestamp."""
    return command(pb.WriteSecured2Command(
        server_handle=checks.handle("server_handle", server_handle),
        item_handle=checks.handle("item_handle", item_handle),
        current_user_id=checks.user_id("current_user_id", current_user_id),
        verifier_user_id=checks.user_id("verifier_user_id", verifier_user_id),
        value=to_mx_value(value, type_name),
        timestamp_value=checks.aware_utc("timestamp", timestamp)))


def authenticate_user(server_handle: int, user_name: str, password: str) -> pb.MxCommand:
    """Authenticate a user (`DOMAIN\\user` allowed); the reply carries the user id."""
    return command(pb.AuthenticateUserCommand(
        server_handle=checks.handle("server_handle", server_handle),
        user_name=checks.text("user_name", user_name), password=_string("password", password)))


def archestra_user_to_id(server_handle: int, user_guid: str) -> pb.MxCommand:
    """Map an ArchestrA user GUID to a user id."""
    return command(pb.ArchestrAUserToIdCommand(
        server_handle=checks.handle("server_handle", server_handle),
        user_guid=checks.text("user_guid", user_guid)))


def _string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------------- bulk

@dataclass(frozen=True)
class WriteItem:
    """One entry of a bulk write.

    Fields left at their default take the bulk call's keyword defaults (`type_name`,
    `user_id`, `timestamp`, `current_user_id`, `verifier_user_id`); a `(item_handle,
    value)` tuple is the same as `WriteItem(item_handle, value)`.
    """

    item_handle: int
    value: Any
    type_name: str | None = None
    user_id: int = 0
    timestamp: dt.datetime | None = None
    current_user_id: int = 0
    verifier_user_id: int = 0


WriteEntry = WriteItem | tuple[int, Any]


def _entries(values: Iterable[Any], what: str) -> list[Any]:
    if isinstance(values, (str, bytes)):
        kind = "string" if isinstance(values, str) else "bytes object"
        raise BulkEntryError(0, f"{what} must be a list of entries, not one {kind}")
    return list(values)


def _tags(tag_addresses: Iterable[str]) -> list[str]:
    tags = _entries(tag_addresses, "tag_addresses")
    for index, tag in enumerate(tags):
        if not isinstance(tag, str) or not tag.strip():
            raise BulkEntryError(index, f"a tag address must be a non-empty string, got {tag!r}")
    return tags


def _handles(item_handles: Iterable[int]) -> list[int]:
    handles = _entries(item_handles, "item_handles")
    for index, value in enumerate(handles):
        try:
            checks.handle("item handle", value)
        except ConfigurationError as exc:
            raise BulkEntryError(index, str(exc)) from None
    return handles


def _by_tags(payload_type: type[Any], server_handle: int, tags: Iterable[str],
             **fields: Any) -> pb.MxCommand:
    return command(payload_type(server_handle=checks.handle("server_handle", server_handle),
                                tag_addresses=_tags(tags), **fields))


def _by_handles(payload_type: type[Any], server_handle: int,
                item_handles: Iterable[int]) -> pb.MxCommand:
    return command(payload_type(server_handle=checks.handle("server_handle", server_handle),
                                item_handles=_handles(item_handles)))


def add_item_bulk(server_handle: int, tag_addresses: Iterable[str]) -> pb.MxCommand:
    return _by_tags(pb.AddItemBulkCommand, server_handle, tag_addresses)


def subscribe_bulk(server_handle: int, tag_addresses: Iterable[str]) -> pb.MxCommand:
    """AddItem + Advise per tag address."""
    return _by_tags(pb.SubscribeBulkCommand, server_handle, tag_addresses)


def read_bulk(server_handle: int, tag_addresses: Iterable[str], *,
              timeout_ms: int = 0) -> pb.MxCommand:
    """Read tags once, waiting up to `timeout_ms` for a first value (0: the gateway's
    default)."""
    return _by_tags(pb.ReadBulkCommand, server_handle, tag_addresses,
                    timeout_ms=checks.user_id("timeout_ms", timeout_ms))


def advise_item_bulk(server_handle: int, item_handles: Iterable[int]) -> pb.MxCommand:
    return _by_handles(pb.AdviseItemBulkCommand, server_handle, item_handles)


def remove_item_bulk(server_handle: int, item_handles: Iterable[int]) -> pb.MxCommand:
    return _by_handles(pb.RemoveItemBulkCommand, server_handle, item_handles)


def unadvise_item_bulk(server_handle: int, item_handles: Iterable[int]) -> pb.MxCommand:
    return _by_handles(pb.UnAdviseItemBulkCommand, server_handle, item_handles)


def unsubscribe_bulk(server_handle: int, item_handles: Iterable[int]) -> pb.MxCommand:
    """UnAdvise + RemoveItem per item handle."""
    return _by_handles(pb.UnsubscribeBulkCommand, server_handle, item_handles)


def _as_item(index: int, item: Any) -> WriteItem:
    if isinstance(item, WriteItem):
        return item
    if isinstance(item, tuple) and len(item) == 2:
        return WriteItem(item[0], item[1])
    raise BulkEntryError(index, f"expected a WriteItem or an (item_handle, value) tuple, "
                                f"got {type(item).__name__}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _converted(value: Any, convert: Callable[[Any], Any]) -> Any:
    """`convert(value)`; its ValueConversionError names the value."""
    try:
        return convert(value)
    except ValueConversionError as exc:
        raise ValueConversionError(f"value {_short(value)}: {exc}") from None


EntryEncoder = Callable[[int, bytes], bytes]
"""The bytes of an entry with no settings of its own, from its item handle and value."""


def _entry_encoder(entry_type: type[Any], defaults: Any, key: bytes) -> EntryEncoder | None:
    """Writes an entry as its payload's encoder would (`key`: the tag of the payload's
    entries), when its item handle and value are its first fields: then come the fields
    the entry takes from the call's defaults (`defaults`, an entry of those alone)."""
    specs = codec.fields(entry_type)
    if [spec.name for spec in specs[:2]] != ["item_handle", "value"]:
        return None
    handle_key = codec.varint(specs[0].number << 3)
    value_key = codec.varint(specs[1].number << 3 | 2)
    tail = codec.encode(defaults)
    varint = codec.varint

    def encode_entry(handle: int, value: bytes) -> bytes:
        # a positive handle and a value are always written: no default to skip
        body = handle_key + varint(handle) + value_key + varint(len(value)) + value + tail
        return key + varint(len(body)) + body
    return encode_entry


def _write_entries(entry_type: type[Any], items: Iterable[WriteEntry], defaults: WriteItem,
                   *, secured: bool, timed: bool, key: bytes | None = None) -> list[Any]:
    """The checked entries of a bulk write: messages; with `key` (the tag of the payload's
    entries), each entry's bytes as a field of the payload."""
    if isinstance(items, (str, bytes, WriteItem)):
        raise BulkEntryError(0, "items must be a list of WriteItem or (item_handle, value)")
    entries: list[Any] = []
    new_entry = constructor(entry_type)
    users = _USER_FIELDS[secured]
    common = _checked_defaults(defaults, users, timed=timed)
    # Whether an entry with no settings of its own is complete with the checked defaults
    # (else each such entry checks the missing default again, and raises it).
    complete = len(common) == len(users) + timed
    encode_entry = (_entry_encoder(entry_type, new_entry(common), key)
                    if key is not None and complete else None)
    encode_value = value_encoder(defaults.type_name)
    for index, raw in enumerate(items):
        item: WriteItem | None = None
        if type(raw) is tuple and len(raw) == 2:  # the usual entry: no settings of its own
            handle, value = raw
            if encode_entry is not None:  # straight to bytes: no message built
                try:
                    if type(handle) is not int or not 0 < handle <= checks.INT32_MAX:
                        checks.handle("item handle", handle)  # raises (or a subclass of int)
                    data = _converted(value, encode_value)
                except ConfigurationError as exc:
                    raise BulkEntryError(index, str(exc)) from None
                entries.append(encode_entry(int(handle), data))
                continue
        else:
            item = _as_item(index, raw)
            handle, value = item.item_handle, item.value
        try:
            entry = dict(common)
            entry["item_handle"] = checks.handle("item handle", handle)
            type_name = (item.type_name if item is not None else None) or defaults.type_name
            entry["value"] = _converted(value, partial(to_mx_value, type_name=type_name))
            if item is not None or not complete:
                _own_fields(entry, item, defaults, users, timed=timed)
        except ConfigurationError as exc:
            raise BulkEntryError(index, str(exc)) from None
        message = new_entry(entry)
        if key is not None:
            data = codec.encode(message)
            message = key + codec.varint(len(data)) + data
        entries.append(message)
    return entries


_USER_FIELDS = {False: ("user_id",), True: ("current_user_id", "verifier_user_id")}
"""The user-id fields of a bulk write entry, by whether the write is secured."""


def _checked_defaults(defaults: WriteItem, users: tuple[str, ...], *,
                      timed: bool) -> dict[str, Any]:
    """The call's defaults an entry takes when it sets none of its own, checked once, in
    wire form; an invalid or missing one is left out (`_own_fields` raises it)."""
    common: dict[str, Any] = {}
    for name in users:
        with contextlib.suppress(ConfigurationError):
            common[name] = checks.user_id(name, getattr(defaults, name))
    if timed and defaults.timestamp is not None:
        with contextlib.suppress(ConfigurationError):
            common["timestamp_value"] = checks.aware_utc("timestamp", defaults.timestamp)
    return common


def _own_fields(entry: dict[str, Any], item: WriteItem | None, defaults: WriteItem,
                users: tuple[str, ...], *, timed: bool) -> None:
    """An entry's user ids and timestamp: its own when it sets them, else the defaults
    (checked here when `_checked_defaults` left them out, so that they raise)."""
    for name in users:
        own = getattr(item, name) if item is not None else 0
        if own or name not in entry:
            entry[name] = checks.user_id(name, own or getattr(defaults, name))
    if timed:
        own_time = item.timestamp if item is not None else None
        if own_time is not None or "timestamp_value" not in entry:
            when = own_time or defaults.timestamp
            if when is None:
                raise ConfigurationError("this write needs a timestamp (per item or timestamp=)")
            entry["timestamp_value"] = checks.aware_utc("timestamp", when)


def _write_bulk(payload_type: type[Any], server_handle: int, items: Iterable[WriteEntry],
                defaults: WriteItem, *, secured: bool, timed: bool) -> pb.MxCommand:
    server = checks.handle("server_handle", server_handle)
    entry_type = next(f.target for f in codec.fields(payload_type) if f.name == "entries")
    entries = _write_entries(entry_type, items, defaults, secured=secured, timed=timed)
    return command(payload_type(server_handle=server, entries=entries))


def write_bulk(server_handle: int, items: Iterable[WriteEntry], *,
               type_name: str | None = None, user_id: int = 0) -> pb.MxCommand:
    """Write many items; `items` are WriteItem or (item_handle, value) tuples."""
    return _write_bulk(pb.WriteBulkCommand, server_handle, items,
                       WriteItem(0, None, type_name=type_name, user_id=user_id),
                       secured=False, timed=False)


def write2_bulk(server_handle: int, items: Iterable[WriteEntry], *,
                timestamp: dt.datetime | None = None, type_name: str | None = None,
                user_id: int = 0) -> pb.MxCommand:
    """Write2 many items; each needs a timestamp (its own or `timestamp=`)."""
    return _write_bulk(pb.Write2BulkCommand, server_handle, items,
                       WriteItem(0, None, type_name=type_name, user_id=user_id,
                                 timestamp=timestamp), secured=False, timed=True)


def write_secured_bulk(server_handle: int, items: Iterable[WriteEntry], *,
                       current_user_id: int = 0, verifier_user_id: int = 0,
                       type_name: str | None = None) -> pb.MxCommand:
    """WriteSecured many items as authenticated users."""
    return _write_bulk(pb.WriteSecuredBulkCommand, server_handle,
                       items, WriteItem(0, None, type_name=type_name,
                                        current_user_id=current_user_id,
                                        verifier_user_id=verifier_user_id),
                       secured=True, timed=False)


def write_secured2_bulk(server_handle: int, items: Iterable[WriteEntry], *,
                        current_user_id: int = 0, verifier_user_id: int = 0,
                        timestamp: dt.datetime | None = None,
                        type_name: str | None = None) -> pb.MxCommand:
    """WriteSecured2 many items; each needs a timestamp (its own or `timestamp=`)."""
    return _write_bulk(pb.WriteSecured2BulkCommand, server_handle,
                       items, WriteItem(0, None, type_name=type_name,
                                        current_user_id=current_user_id,
                                        verifier_user_id=verifier_user_id,
                                        timestamp=timestamp),
                       secured=True, timed=True)


@dataclass(frozen=True)
class EncodedBulk:
    """A bulk write checked as its command builder checks it, each entry encoded: the
    payload of any run of `entries` is `head` (its fields but the entries) followed by
    them, each already a field of the payload (so a split costs no re-encoding)."""

    kind: pb.MxCommandKind
    head: bytes
    entries: list[bytes]


_WRITE_KINDS = {K.WRITE_BULK: (False, False), K.WRITE2_BULK: (False, True),
                K.WRITE_SECURED_BULK: (True, False), K.WRITE_SECURED2_BULK: (True, True)}
"""The bulk write kinds: (secured, timed) of each."""


def encoded_write_bulk(kind: pb.MxCommandKind, server_handle: int,
                       items: Iterable[WriteEntry], *, type_name: str | None = None,
                       user_id: int = 0, timestamp: dt.datetime | None = None,
                       current_user_id: int = 0, verifier_user_id: int = 0) -> EncodedBulk:
    """`write_bulk`, `write2_bulk`, `write_secured_bulk` or `write_secured2_bulk` (by
    `kind`; the defaults a kind has no field for are ignored), encoded entry by entry."""
    secured, timed = _WRITE_KINDS[kind]
    payload_type = arm(kind).payload_type
    server = checks.handle("server_handle", server_handle)
    *_, entries = codec.fields(payload_type)
    assert entries.name == "entries", "a payload's entries must be its last field"
    defaults = WriteItem(0, None, type_name=type_name, user_id=user_id, timestamp=timestamp,
                         current_user_id=current_user_id, verifier_user_id=verifier_user_id)
    encoded = _write_entries(entries.target, items, defaults, secured=secured, timed=timed,
                             key=codec.varint(entries.number << 3 | 2))
    return EncodedBulk(kind, codec.encode(payload_type(server_handle=server)), encoded)


def encoded_command(kind: pb.MxCommandKind, payload: bytes) -> pb.MxCommand:
    """The command of `kind` whose payload is these bytes (encoded as they are)."""
    found = arm(kind)
    built: pb.MxCommand = constructor(pb.MxCommand)({"kind": kind,
                                                     found.name: codec.Encoded(payload)})
    return built


# ---------------------------------------------------------------------- alarms

@dataclass(frozen=True)
class Operator:
    """Who acknowledges an alarm: System Platform records all four."""

    user: str
    node: str = ""
    domain: str = ""
    full_name: str = ""

    def fields(self) -> dict[str, str]:
        """The operator fields of an acknowledge payload."""
        return {"operator_user": checks.text("operator user", self.user),
                "operator_node": _string("operator node", self.node),
                "operator_domain": _string("operator domain", self.domain),
                "operator_full_name": _string("operator full name", self.full_name)}


def subscribe_alarms(subscription_expression: str, *,
                     forced_mode: pb.AlarmProviderMode = pb.AlarmProviderMode.UNSPECIFIED,
                     watch_list: Iterable[pb.AlarmSubtagTarget] = (),
                     failover: bool = False) -> pb.MxCommand:
    """Subscribe this session to alarms (transitions then arrive on its event stream as
    ON_ALARM_TRANSITION)."""
    return command(pb.SubscribeAlarmsCommand(
        subscription_expression=_string("subscription_expression", subscription_expression),
        forced_mode=pb.AlarmProviderMode(forced_mode), watch_list=list(watch_list),
        failover=bool(failover)))


def unsubscribe_alarms() -> pb.MxCommand:
    return command(pb.UnsubscribeAlarmsCommand())


def acknowledge_alarm(alarm_guid: str, comment: str, operator: Operator) -> pb.MxCommand:
    """Acknowledge an alarm by its provider GUID."""
    return command(pb.AcknowledgeAlarmCommand(
        alarm_guid=checks.text("alarm_guid", alarm_guid),
        comment=checks.alarm_comment(comment), **operator.fields()))


def query_active_alarms(alarm_filter_prefix: str = "") -> pb.MxCommand:
    """The active alarms whose reference starts with the prefix (empty: all)."""
    return command(pb.QueryActiveAlarmsCommand(
        alarm_filter_prefix=_string("alarm_filter_prefix", alarm_filter_prefix)))


def acknowledge_alarm_by_name(reference: str, comment: str, operator: Operator) -> pb.MxCommand:
    """Acknowledge an alarm by its reference, `Provider!Group.Tag`."""
    provider, group, name = checks.alarm_reference("reference", reference)
    return command(pb.AcknowledgeAlarmByNameCommand(
        alarm_name=name, provider_name=provider, group_name=group,
        comment=checks.alarm_comment(comment), **operator.fields()))
