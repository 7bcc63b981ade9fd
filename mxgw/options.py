"""ClientOptions: everything needed to reach a gateway, with the API key kept secret."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import Any

from .errors import ConfigurationError, OptionText

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_BULK_ENTRIES = 1000
DEFAULT_STREAM_WINDOW = 64 * 1024
MIN_WINDOW, MAX_WINDOW = 2**16 - 1, 2**31 - 1  # what HTTP/2 allows (RFC 9113, 6.5.2)
ENDPOINT_ENV = "MXGATEWAY_ENDPOINT"
PLAINTEXT_ENV = "MXGATEWAY_PLAINTEXT"
CA_FILE_ENV = "MXGATEWAY_CA_FILE"
SERVER_NAME_ENV = "MXGATEWAY_SERVER_NAME_OVERRIDE"
KEY_ENV = "MXGATEWAY_API_KEY"
"""Where the key is read from when neither `api_key` nor `api_key_env` is given (the
upstream clients' variable)."""


_TLS_SETTINGS = ("plaintext", "ca_file", "server_name_override", "client_cert")


class ApiKey:
    """An API key that never shows itself in repr, str or format."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        # It travels in an HTTP/2 header (`authorization: Bearer KEY`), where gRPC allows
        # printable ASCII only: a gateway refuses (or fails on) anything else.
        if not value or not all("!" <= c <= "~" for c in value):
            raise ConfigurationError("an API key must be a non-empty string of printable "
                                     "ASCII characters, without spaces")
        self._value = value

    def reveal(self) -> str:
        """The key itself, for the authorization header only."""
        return self._value

    def __repr__(self) -> str:
        return "ApiKey('<redacted>')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("an ApiKey cannot be pickled")


@dataclass(frozen=True)
class ClientOptions:
    """How to reach a gateway.

    TLS is the default: `plaintext=True` must be asked for. `api_key` may be a str; it is
    wrapped in an `ApiKey` that never prints. `api_key_env` names an environment variable
    to read the key from when `api_key` is not given; with neither, the key is read from
    MXGATEWAY_API_KEY when that is set. Whitespace around a variable's value (the newline
    a key file or `echo` leaves) is not part of the key.
    """

    endpoint: str
    api_key: str | ApiKey | None = None
    """The API key: a str is wrapped in an ApiKey (read it back as `key`)."""
    plaintext: bool = False
    ca_file: str | None = None
    server_name_override: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    """Default deadline of unary calls, in seconds (None: no deadline)."""
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    """Seconds for TCP, TLS and the gateway's first HTTP/2 frame, on every (re)connect."""
    keepalive_time: float | None = 30.0
    """While a call or stream is open, an HTTP/2 ping is sent after this many seconds with
    nothing read from the gateway (None: no pings). See docs/transport.md."""
    keepalive_timeout: float = 20.0
    """Seconds with nothing read after a ping before the connection counts as hung: it is
    closed, its calls fail with ConnectionLostError (event streams resume) and the next
    call reconnects. A stall is noticed within keepalive_time + keepalive_timeout."""
    keepalive_permit_time: float | None = None
    """The shortest interval between pings that the gateway accepts while it sends no
    data. None (the default: the gateway runs on Kestrel, which polices no pings): a ping
    every keepalive_time, so a stall is noticed within 50 s at any point. Behind a gRPC
    core server (`grpc.http2.min_ping_interval_without_data_ms`, 300 s unless set), set
    it to that: after the gateway's last data the client sends two pings at
    keepalive_time, then keeps to this interval. A gateway that answers GOAWAY
    `too_many_pings` is told once (a warning) and pinged less from then on."""
    stream_window_bytes: int = DEFAULT_STREAM_WINDOW
    """HTTP/2 receive window of each call: what the gateway may send ahead of the reader.
    Small, so a slow event consumer holds back the gateway (whose queue then fills and
    faults the session) after at most this much, not after 4 MiB of stale events."""
    max_message_bytes: int = MAX_MESSAGE_BYTES
    """Largest message sent (checked before sending) or accepted (checked on receipt)."""
    max_bulk_entries: int = MAX_BULK_ENTRIES
    """Bulk calls send at most this many entries per command."""
    max_bulk_bytes: int | None = None
    """Bulk calls keep each request under this many bytes (None: half the message limit)."""
    api_key_env: str | None = None

    def __post_init__(self) -> None:
        key = self.api_key
        if isinstance(key, str):
            key = ApiKey(key)
        if key is None and self.api_key_env:
            raw = os.environ.get(self.api_key_env, "").strip()
            if not raw:
                raise ConfigurationError(OptionText(
                    "environment variable {variable} is not set or empty (named by {api_key_env})",
                    variable=self.api_key_env))
            key = ApiKey(raw)
        if key is None and self.api_key_env is None and os.environ.get(KEY_ENV, "").strip():
            key = ApiKey(os.environ[KEY_ENV].strip())
        object.__setattr__(self, "api_key", key)
        host, port = parse_endpoint(self.endpoint)
        object.__setattr__(self, "endpoint", f"{_bracket(host)}:{port}")
        tls_given = [name for name in ("ca_file", "client_cert", "server_name_override")
                     if getattr(self, name)]
        if self.plaintext and tls_given:
            names = ", ".join(f"{{{name}}}" for name in tls_given)
            raise ConfigurationError(OptionText(
                f"{{plaintext}} contradicts the TLS option(s) given: {names}"))
        if bool(self.client_cert) != bool(self.client_key):
            raise ConfigurationError(OptionText("{client_cert} and {client_key} go together"))
        for name in ("timeout", "connect_timeout", "keepalive_time", "keepalive_timeout",
                     "keepalive_permit_time"):
            seconds = getattr(self, name)
            if seconds is not None and not (isinstance(seconds, (int, float))
                                            and math.isfinite(seconds) and seconds > 0):
                raise ConfigurationError(f"{name} must be a finite number of seconds > 0, "
                                         f"got {seconds!r}")
        window = self.stream_window_bytes
        if isinstance(window, bool) or not isinstance(window, int) or not (
                MIN_WINDOW <= window <= MAX_WINDOW):
            raise ConfigurationError(f"stream_window_bytes must be an int from {MIN_WINDOW} to "
                                     f"{MAX_WINDOW}, got {window!r}")
        if self.max_message_bytes <= 1024:
            raise ConfigurationError("max_message_bytes must be > 1024")
        if self.max_bulk_entries < 1:
            raise ConfigurationError("max_bulk_entries must be >= 1")
        if self.max_bulk_bytes is not None and not (
            1024 <= self.max_bulk_bytes <= self.max_message_bytes
        ):
            raise ConfigurationError("max_bulk_bytes must be between 1024 and max_message_bytes")

    @classmethod
    def from_env(cls, **settings: Any) -> ClientOptions:
        """Options from the upstream clients' variables: MXGATEWAY_ENDPOINT, TLS with
        MXGATEWAY_CA_FILE / MXGATEWAY_SERVER_NAME_OVERRIDE (system roots when neither is
        set) or MXGATEWAY_PLAINTEXT=1, and the key from MXGATEWAY_API_KEY; `settings`
        (any ClientOptions field) win over the variables."""
        endpoint = settings.pop("endpoint", None) or os.environ.get(ENDPOINT_ENV, "").strip()
        if not endpoint:
            raise ConfigurationError(f"give an endpoint, or set {ENDPOINT_ENV} (HOST:PORT)")
        from_env: dict[str, Any] = {}
        tls_given = any(settings.get(name) is not None for name in _TLS_SETTINGS)
        if not tls_given:  # a TLS choice given here replaces the variables' whole choice
            plaintext = os.environ.get(PLAINTEXT_ENV, "").strip().lower() in ("1", "true",
                                                                              "yes")
            from_env["plaintext"] = plaintext
            if not plaintext:
                from_env["ca_file"] = os.environ.get(CA_FILE_ENV) or None
                from_env["server_name_override"] = os.environ.get(SERVER_NAME_ENV) or None
        return cls(endpoint, **{**from_env, **settings})

    @property
    def key(self) -> ApiKey | None:
        """The API key (never printed), or None."""
        key = self.api_key
        return key if isinstance(key, ApiKey) else None

    @property
    def bulk_byte_budget(self) -> int:
        """The byte size each bulk request stays under."""
        return self.max_bulk_bytes or self.max_message_bytes // 2

    @property
    def host(self) -> str:
        return parse_endpoint(self.endpoint)[0]

    @property
    def port(self) -> int:
        return parse_endpoint(self.endpoint)[1]

    def with_changes(self, **changes: Any) -> ClientOptions:
        """A copy with some fields changed."""
        return replace(self, **changes)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """Split `host:port` (or `[v6]:port`, with an optional `https://`) into its parts."""
    text = endpoint.strip()
    for scheme in ("https://", "http://", "grpc://", "grpcs://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    text = text.rstrip("/")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = text.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"endpoint must be HOST:PORT, got {endpoint!r}")
    return host, int(port_text)
