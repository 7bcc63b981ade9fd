"""Finding a secret in text, bytes and log records in any encoding a reader could undo:
raw, repr, hex, base64, and HPACK string literals (plain or Huffman-coded)."""

from __future__ import annotations

import ast
import base64
import binascii
import logging
import re
from collections.abc import Iterator

from hpack import Decoder, HPACKError

_BYTES_LITERAL = re.compile(r"""b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*\"""")
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2}){6,}")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def _hpack_literals(data: bytes) -> Iterator[bytes]:
    """Every HPACK string literal that could start at any offset of `data`, decoded
    (Huffman or not) with hpack's public Decoder."""
    for start in range(len(data)):
        length, end = data[start] & 0x7F, start + 1
        if length == 0x7F:  # a multi-byte length (RFC 7541 5.1)
            shift = 0
            while end < len(data):
                byte = data[end]
                length += (byte & 0x7F) << shift
                shift, end = shift + 7, end + 1
                if not byte & 0x80:
                    break
        if length == 0 or end + length > len(data):
            continue
        # A literal header field without indexing, new name "x", and this value literal.
        block = b"\x00\x01x" + data[start:end + length]
        try:
            headers = Decoder().decode(block, raw=True)
        except (HPACKError, ValueError, IndexError):
            continue
        for _, value in headers:
            yield bytes(value)


def _in_bytes(data: bytes, secret: bytes) -> str | None:
    if secret in data:
        return "raw bytes"
    if any(secret in value for value in _hpack_literals(data)):
        return "HPACK literal"
    return None


def _in_text(text: str, secret: str) -> str | None:
    raw = secret.encode()
    if secret in text:
        return "raw"
    if repr(secret)[1:-1] in text or repr(raw)[2:-1] in text:
        return "repr"
    for literal in _BYTES_LITERAL.findall(text):
        try:
            value = ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, bytes) and (found := _in_bytes(value, raw)):
            return f"{found} in a bytes literal"
    for run in _HEX_RUN.findall(text):
        for offset in (0, 1):
            chunk = run[offset:]
            found = _in_bytes(bytes.fromhex(chunk[:len(chunk) // 2 * 2]), raw)
            if found:
                return f"{found} in hex"
    for run in _BASE64_RUN.findall(text):
        for offset in range(4):
            chunk = run.rstrip("=")[offset:]
            if len(chunk) % 4 == 1:
                chunk = chunk[:-1]
            chunk += "=" * (-len(chunk) % 4)
            for altchars in (b"+/", b"-_"):
                try:
                    decoded = base64.b64decode(chunk, altchars=altchars, validate=True)
                except (binascii.Error, ValueError):
                    continue
                if raw in decoded:
                    return "base64"
    return None


def find_secret(value: object, secret: str, depth: int = 0) -> str | None:
    """How `secret` can be read out of `value` (None: it cannot)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _in_bytes(bytes(value), secret.encode()) or _in_text(repr(bytes(value)), secret)
    if isinstance(value, str):
        return _in_text(value, secret)
    if depth < 4 and isinstance(value, (tuple, list, set, frozenset)):
        for item in value:
            if found := find_secret(item, secret, depth + 1):
                return found
    if depth < 4 and isinstance(value, dict):
        for key, item in value.items():
            if found := find_secret(key, secret, depth + 1) or find_secret(item, secret,
                                                                           depth + 1):
                return found
    return _in_text(repr(value), secret) or _in_text(str(value), secret)


def find_in_record(record: logging.LogRecord, secret: str) -> str | None:
    """How `secret` can be read out of a log record: its message, arguments, exception."""
    parts: list[object] = [record.getMessage(), record.msg, record.args]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        parts.append(record.stack_info)
    for part in parts:
        if found := find_secret(part, secret):
            return found
    return None


class CaptureAll(logging.Handler):
    """Keeps every record that reaches it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
