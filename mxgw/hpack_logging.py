"""hpack's DEBUG records without the API key, for the client and the simulator alike.

hpack (under h2, under grpclib) logs every header block it encodes ("Encoded header block
to b'...'") and decodes ("Decoding b'...'"), and each header it decodes ("Decoded
(b'authorization', b'Bearer ...')"). Sending `authorization` as a never-indexed field keeps
the key out of the compression table and out of hpack's per-header "Adding" record, but
not out of the header-block records: a never-indexed literal is still in the block,
Huffman-coded, and decoding it gives `Bearer <key>`. A user who turns on DEBUG to
troubleshoot would write the key into their log files.

So a `logging.Filter` on hpack's loggers rewrites those records before any handler sees
them: a header block is shown as its length only, and the value of a sensitive header
(authorization, cookies, any never-indexed field) as SENSITIVE_REDACTED, hpack's own
word for it. Everything else in the records is kept, so DEBUG logs stay useful.

This module imports nothing of ours: the client and the simulator both install it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import hpack

REDACTED = b"SENSITIVE_REDACTED"
SENSITIVE_NAMES = frozenset({b"authorization", b"proxy-authorization", b"cookie",
                             b"set-cookie"})
_NAME_VALUE_TEMPLATES = frozenset({
    # hpack.hpack.Encoder.add: hpack already shows a sensitive value as SENSITIVE_REDACTED.
    "Adding %s=%s to the header table, sensitive:%s, huffman:%s",
    # hpack.table: an evicted entry is an indexed one, which a foreign client may have
    # made of its authorization header.
    "Evicting %s: %s from the header table",
})
"""hpack's records whose first two arguments are a header's name and value."""


def _as_bytes(value: object) -> bytes | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "replace")
    return None


def _is_sensitive(name: object, header: object = None) -> bool:
    if getattr(header, "indexable", True) is False:  # hpack's NeverIndexedHeaderTuple
        return True
    raw = _as_bytes(name)
    return raw is not None and raw.lower() in SENSITIVE_NAMES


def _scrub_header(header: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(header) >= 2 and _is_sensitive(header[0], header):
        return (header[0], REDACTED, *header[2:])
    return header


def _scrub_arg(arg: object) -> object:
    if isinstance(arg, (bytes, bytearray, memoryview)):
        # A header block (or a part of one that hpack may log some day): never its bytes.
        return f"<{len(arg)} bytes of HPACK, not shown>"
    if isinstance(arg, tuple):
        return _scrub_header(arg)
    if isinstance(arg, list):
        return [_scrub_arg(item) for item in arg]
    return arg


def scrub(record: logging.LogRecord) -> None:
    """Rewrite one hpack record in place so that it shows no header value worth hiding."""
    args = record.args
    if not args:
        return
    if isinstance(args, Mapping):
        record.args = {key: _scrub_arg(value) for key, value in args.items()}
        return
    if record.msg in _NAME_VALUE_TEMPLATES and len(args) >= 2:
        name, value, *rest = args
        if _is_sensitive(name):
            value = REDACTED
        record.args = (name, value, *rest)
        return
    record.args = tuple(_scrub_arg(arg) for arg in args)


class HpackSecretFilter(logging.Filter):
    """Keeps every hpack record, with header blocks and sensitive values rewritten."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


_FILTER = HpackSecretFilter()


def hpack_logger_names() -> list[str]:
    """The loggers hpack logs to: one per module (`logging.getLogger(__name__)`)."""
    existing = logging.Logger.manager.loggerDict
    names = {name for name in existing if name == hpack.__name__
             or name.startswith(hpack.__name__ + ".")}
    # Logger filters apply to the records of that logger only, not to its children's, so
    # each module's logger gets the filter; these two are the ones hpack 4 logs to.
    return sorted(names | {"hpack.hpack", "hpack.table"})


def keep_secrets_out_of_hpack_logs() -> None:
    """Install the filter on each of hpack's loggers (idempotent; cheap to call again)."""
    for name in hpack_logger_names():
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
