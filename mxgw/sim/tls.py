"""The simulator's TLS: server contexts, the checks of a SimConfig's TLS settings, and the
self-signed set-up (a fresh test CA and server certificate from `pki`)."""

from __future__ import annotations

import socket
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .pki import DEFAULT_HOSTS, write_test_pki

if TYPE_CHECKING:
    from .server import SimConfig


def server_context(cert: str, key: str, client_ca: str | None = None) -> ssl.SSLContext:
    """A server TLS context: TLS >= 1.2, ALPN h2; with `client_ca`, mutual TLS (a client
    certificate signed by that CA is required)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2"])
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def check_sim_tls(config: SimConfig) -> None:
    """Refuse contradictory TLS settings of a SimConfig (ValueError)."""
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ValueError("tls_cert and tls_key go together")
    chosen = [name for name, value in (
        ("ssl_context", config.ssl_context), ("tls_cert/tls_key", config.tls_cert),
        ("self_signed_ca", config.self_signed_ca)) if value]
    if len(chosen) > 1:
        raise ValueError(f"choose one source of the server certificate, not {' and '.join(chosen)}")
    if config.client_ca and not (config.tls_cert or config.self_signed_ca):
        raise ValueError("client_ca (mutual TLS) needs tls_cert/tls_key or self_signed_ca")


def sim_hosts(host: str) -> list[str]:
    """Names a self-signed server certificate carries for a simulator listening on `host`."""
    names = list(DEFAULT_HOSTS)
    if host in ("0.0.0.0", "::", ""):
        names.append(socket.gethostname())
    else:
        names.append(host)
    return list(dict.fromkeys(names))


def sim_server_context(config: SimConfig) -> tuple[ssl.SSLContext | None, str | None]:
    """The server context a SimConfig asks for, and the CA file written for clients.

    With `self_signed_ca` a fresh CA and server certificate are generated (this blocks for
    about one to three seconds, see `write_test_pki`), the CA certificate is written to that
    path, and the server key never touches a lasting file.
    """
    check_sim_tls(config)
    if config.ssl_context is not None:
        return config.ssl_context, None
    try:
        if config.tls_cert and config.tls_key:
            return server_context(config.tls_cert, config.tls_key, config.client_ca), None
        if not config.self_signed_ca:
            return None, None
        with tempfile.TemporaryDirectory(prefix="mxgw-sim-pki-") as folder:
            pki = write_test_pki(folder, sim_hosts(config.host))
            context = server_context(pki.server_cert, pki.server_key, config.client_ca)
            target = Path(config.self_signed_ca)
            target.write_text(Path(pki.ca_cert).read_text(encoding="ascii"), encoding="ascii")
        return context, str(target)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        where = getattr(exc, "filename", None)
        suffix = f" ({where})" if where else ""
        raise ValueError(f"cannot set up TLS: {reason}{suffix}") from None
