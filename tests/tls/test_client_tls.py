"""The client over TLS against the simulated gateway on loopback: trust, names, mutual TLS,
and typed, actionable errors when the two ends disagree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from mxgw import (
    ConfigurationError,
    ConnectError,
    GalaxyRepositoryClient,
    GatewayClient,
    MxGatewayError,
    TlsError,
    TransportError,
)
from mxgw.sim import SimConfig, SimServer
from mxgw.sim.pki import Pki

from ..conftest import TEST_KEY


@asynccontextmanager
async def serving(**tls: Any) -> AsyncIterator[SimServer]:
    async with SimServer(SimConfig(api_keys=[TEST_KEY], **tls)) as sim:
        yield sim


async def _open_and_register(endpoint: str, **options: Any) -> int:
    async with GatewayClient.connect(endpoint, api_key=TEST_KEY, **options) as client:
        async with await client.open_session("tls-test") as session:
            handle: int = await session.register("tls-test")
            return handle


async def _connect_error(endpoint: str, **options: Any) -> MxGatewayError:
    """The error `connect` raises (it must raise one of ours)."""
    with pytest.raises(MxGatewayError) as caught:
        async with GatewayClient.connect(endpoint, api_key=TEST_KEY, **options):
            pass
    error = caught.value
    assert TEST_KEY not in str(error) and TEST_KEY not in repr(error)
    return error


async def test_tls_with_the_right_ca_opens_a_session_and_registers(pki: Pki) -> None:
    async with serving(tls_cert=pki.server_cert, tls_key=pki.server_key) as sim:
        assert sim.tls
        assert await _open_and_register(sim.endpoint, ca_file=pki.ca_cert) > 0
        assert await _open_and_register(f"localhost:{sim.port}", ca_file=pki.ca_cert) > 0


async def test_self_signed_simulator_writes_a_ca_that_clients_trust(tmp_path: Path) -> None:
    ca_path = tmp_path / "sim-ca.pem"
    async with serving(self_signed_ca=str(ca_path)) as sim:
        assert sim.tls and sim.ca_file == str(ca_path)
        assert ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert await _open_and_register(sim.endpoint, ca_file=str(ca_path)) > 0
        assert await _open_and_register(f"localhost:{sim.port}", ca_file=str(ca_path)) > 0
        # without the CA, the system roots do not trust it
        error = await _connect_error(sim.endpoint)
        assert isinstance(error, TlsError)


async def test_a_wrong_ca_fails_at_connect_with_tls_error(pki: Pki, other_pki: Pki) -> None:
    async with serving(tls_cert=pki.server_cert, tls_key=pki.server_key) as sim:
        error = await _connect_error(sim.endpoint, ca_file=other_pki.ca_cert)
        assert isinstance(error, TlsError)
        assert error.endpoint == sim.endpoint
        assert "not trusted" in str(error) and "ca_file" in str(error)
        assert not sim.runtime.sessions  # nothing reached the gateway


async def test_server_name_override_verifies_another_name_than_the_address(
    named_pki: Pki,
) -> None:
    async with serving(tls_cert=named_pki.server_cert, tls_key=named_pki.server_key) as sim:
        # the certificate names gateway.test only: the address itself does not verify
        error = await _connect_error(sim.endpoint, ca_file=named_pki.ca_cert)
        assert isinstance(error, TlsError)
        assert "127.0.0.1" in str(error) and "server_name_override" in str(error)
        assert await _open_and_register(
            sim.endpoint, ca_file=named_pki.ca_cert, server_name_override="gateway.test") > 0
        error = await _connect_error(
            sim.endpoint, ca_file=named_pki.ca_cert, server_name_override="other.test")
        assert isinstance(error, TlsError)
        assert "other.test" in str(error)


async def test_mutual_tls_accepts_a_client_with_the_right_certificate(pki: Pki) -> None:
    async with serving(tls_cert=pki.server_cert, tls_key=pki.server_key,
                       client_ca=pki.ca_cert) as sim:
        assert await _open_and_register(
            sim.endpoint, ca_file=pki.ca_cert,
            client_cert=pki.client_cert, client_key=pki.client_key) > 0


async def test_the_galaxy_client_uses_the_same_mutual_tls(pki: Pki) -> None:
    async with serving(tls_cert=pki.server_cert, tls_key=pki.server_key,
                       client_ca=pki.ca_cert) as sim:
        async with GalaxyRepositoryClient.connect(
                sim.endpoint, api_key=TEST_KEY, ca_file=pki.ca_cert,
                client_cert=pki.client_cert, client_key=pki.client_key) as galaxy:
            assert await galaxy.test_connection() is True
        with pytest.raises(TlsError):
            async with GalaxyRepositoryClient.connect(
                    sim.endpoint, api_key=TEST_KEY, ca_file=pki.ca_cert):
                pass


async def test_a_lazy_client_fails_on_its_first_call_with_a_transport_error(
    pki: Pki, other_pki: Pki,
) -> None:
    async with serving(tls_cert=pki.server_cert, tls_key=pki.server_key) as sim:
        async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY,
                                         ca_file=other_pki.ca_cert, eager=False) as client:
            with pytest.raises(TlsError, match="not trusted"):
                await client.open_session()
        async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True,
                                         eager=False) as client:
            with pytest.raises(TransportError) as caught:
                await client.open_session()
            assert TEST_KEY not in str(caught.value)
        assert not sim.runtime.sessions


async def test_mutual_tls_refuses_a_client_without_certificate(pki: Pki) -> None:
    async with serving(tls_cert=pki.server_cert, tls_key=pki.server_key,
                       client_ca=pki.ca_cert) as sim:
        error = await _connect_error(sim.endpoint, ca_file=pki.ca_cert)
        assert isinstance(error, TlsError)
        assert "client certificate" in str(error) and "client_cert" in str(error)
        assert not sim.runtime.sessions


async def test_mutual_tls_refuses_a_certificate_of_another_ca(pki: Pki, other_pki: Pki) -> None:
    async with serving(tls_cert=pki.server_cert, tls_key=pki.server_key,
                       client_ca=pki.ca_cert) as sim:
        error = await _connect_error(
            sim.endpoint, ca_file=pki.ca_cert,
            client_cert=other_pki.client_cert, client_key=other_pki.client_key)
        assert isinstance(error, TlsError)
        assert not sim.runtime.sessions


async def test_a_plaintext_client_against_a_tls_gateway_is_told_to_use_tls(pki: Pki) -> None:
    async with serving(tls_cert=pki.server_cert, tls_key=pki.server_key) as sim:
        error = await _connect_error(sim.endpoint, plaintext=True)
        assert isinstance(error, ConnectError)
        assert "TLS" in str(error) and "plaintext" in str(error)
        assert not sim.runtime.sessions


async def test_a_tls_client_against_a_plaintext_gateway_is_told_to_use_plaintext(
    pki: Pki,
) -> None:
    async with serving() as sim:
        assert not sim.tls
        error = await _connect_error(sim.endpoint, ca_file=pki.ca_cert)
        assert isinstance(error, TlsError)
        assert "plaintext" in str(error)


async def test_unreadable_tls_files_fail_before_connecting(tmp_path: Path, pki: Pki) -> None:
    missing = str(tmp_path / "missing.pem")
    async with serving(tls_cert=pki.server_cert, tls_key=pki.server_key) as sim:
        for options in ({"ca_file": missing},
                        {"ca_file": pki.ca_cert, "client_cert": missing,
                         "client_key": pki.client_key}):
            error = await _connect_error(sim.endpoint, **options)
            assert isinstance(error, ConfigurationError)
            option = "client_cert" if "client_cert" in options else "ca_file"
            # the library names its own option, and the file
            assert f"cannot load {option} {missing!r}: No such file" in str(error)


@pytest.mark.parametrize("config", [
    {"tls_cert": "server.pem"},
    {"client_ca": "ca.pem"},
    {"tls_cert": "server.pem", "tls_key": "server.key", "self_signed_ca": "ca.pem"},
])
def test_contradictory_simulator_tls_settings_are_refused(config: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        SimServer(SimConfig(**config))  # type: ignore[arg-type]


async def test_missing_simulator_tls_files_fail_at_start(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(ValueError, match="cannot set up TLS"):
        async with SimServer(SimConfig(tls_cert=missing, tls_key=missing)):
            pass
