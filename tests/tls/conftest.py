"""Test PKIs for the TLS tests, generated once per test session (pure Python, ~1-3 s)."""

from __future__ import annotations

import pytest

from mxgw.sim.pki import Pki, write_test_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """CA, server certificate for localhost/127.0.0.1/::1, and a client certificate."""
    return write_test_pki(tmp_path_factory.mktemp("pki"), client=True)


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """An unrelated CA with its own server and client certificates."""
    return write_test_pki(tmp_path_factory.mktemp("other-pki"), client=True)


@pytest.fixture(scope="session")
def named_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A server certificate naming `gateway.test` only (no localhost, no IP address)."""
    return write_test_pki(tmp_path_factory.mktemp("named-pki"), ["gateway.test"],
                          only_hosts=True)
