"""The pure-Python test PKI: Python's ssl module loads it and completes real handshakes."""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
from pathlib import Path

import pytest

from mxgw.sim.pki import Pki, write_test_pki
from mxgw.sim.tls import server_context


async def _handshake(
    server: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str
) -> ssl.SSLObject:
    """Connect over loopback with `client`, verifying `server_hostname`; the TLS object."""
    done = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ok")
        await writer.drain()
        await done
        writer.close()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server)
    port = listener.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", port, ssl=client, server_hostname=server_hostname), 10)
        assert await asyncio.wait_for(reader.readexactly(2), 10) == b"ok"
        tls: ssl.SSLObject = writer.get_extra_info("ssl_object")
        writer.close()
        return tls
    finally:
        done.set_result(None)
        listener.close()


def _client(ca_file: str, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    # Python 3.13's default; our certificates must pass it (AKID/SKID, critical CA flags)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.set_alpn_protocols(["h2"])
    if cert and key:
        context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "::1"])
async def test_server_certificate_verifies_for_each_default_name(pki: Pki, name: str) -> None:
    tls = await _handshake(server_context(pki.server_cert, pki.server_key), _client(pki.ca_cert),
                           name)
    assert tls.selected_alpn_protocol() == "h2"
    assert tls.version() in ("TLSv1.2", "TLSv1.3")
    peer = tls.getpeercert()
    assert peer is not None
    assert ("DNS", "localhost") in peer["subjectAltName"]
    assert ("IP Address", "127.0.0.1") in peer["subjectAltName"]


async def test_extra_host_names_are_in_the_certificate(tmp_path: Path) -> None:
    pki = write_test_pki(tmp_path, ["gateway.test", "10.1.2.3"])
    server = server_context(pki.server_cert, pki.server_key)
    for name in ("gateway.test", "10.1.2.3", "localhost"):
        await _handshake(server, _client(pki.ca_cert), name)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        await _handshake(server, _client(pki.ca_cert), "other.test")


async def test_only_hosts_leaves_out_localhost(named_pki: Pki) -> None:
    server = server_context(named_pki.server_cert, named_pki.server_key)
    await _handshake(server, _client(named_pki.ca_cert), "gateway.test")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        await _handshake(server, _client(named_pki.ca_cert), "localhost")


async def test_another_ca_does_not_verify_the_server(pki: Pki, other_pki: Pki) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        await _handshake(server_context(pki.server_cert, pki.server_key),
                         _client(other_pki.ca_cert), "localhost")


async def test_mutual_tls_accepts_the_client_certificate(pki: Pki) -> None:
    server = server_context(pki.server_cert, pki.server_key, client_ca=pki.ca_cert)
    tls = await _handshake(server, _client(pki.ca_cert, pki.client_cert, pki.client_key),
                           "localhost")
    assert tls.selected_alpn_protocol() == "h2"


async def test_mutual_tls_refuses_a_client_without_certificate(pki: Pki) -> None:
    server = server_context(pki.server_cert, pki.server_key, client_ca=pki.ca_cert)
    # TLS 1.3 refuses after the client's handshake: the refusal shows when reading
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        await _handshake(server, _client(pki.ca_cert), "localhost")


def test_files_are_pem_and_the_keys_private(pki: Pki) -> None:
    assert Path(pki.ca_cert).read_text().startswith("-----BEGIN CERTIFICATE-----\n")
    assert Path(pki.server_cert).read_text().startswith("-----BEGIN CERTIFICATE-----\n")
    for key in (pki.server_key, pki.client_key):
        assert key is not None
        assert Path(key).read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
        if sys.platform != "win32":
            assert os.stat(key).st_mode & 0o077 == 0
    # the standard library loads each file
    ssl.create_default_context(cafile=pki.ca_cert)
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(pki.server_cert, pki.server_key)
    assert pki.client_cert and pki.client_key
    ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(pki.client_cert, pki.client_key)


def test_each_pki_has_its_own_ca(pki: Pki, other_pki: Pki) -> None:
    assert Path(pki.ca_cert).read_text() != Path(other_pki.ca_cert).read_text()


def test_no_host_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="host name"):
        write_test_pki(tmp_path, [], only_hosts=True)
