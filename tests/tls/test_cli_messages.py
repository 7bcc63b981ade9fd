"""What the CLI says when TLS goes wrong: the file that did not load, and the flags to
change, spelled as flags (the library names the same options by their keyword names)."""

from __future__ import annotations

from pathlib import Path

from mxgw.sim import SimConfig, SimServer
from mxgw.sim.pki import Pki

from ..cli.conftest import Run, run_cli_inprocess
from ..conftest import TEST_KEY


async def open_session(*flags: str) -> Run:
    return await run_cli_inprocess("open-session", "--api-key", TEST_KEY, *flags)


def only_flags(run: Run) -> None:
    """The message names flags, never the library's keyword names."""
    for keyword in ("ca_file", "client_cert", "client_key", "server_name_override",
                    "plaintext="):
        assert keyword not in run.err, run.err


async def test_a_missing_tls_file_is_named_with_its_flag(tmp_path: Path, pki: Pki) -> None:
    missing = str(tmp_path / "missing.pem")
    ca = await open_session("--endpoint", "127.0.0.1:1", "--ca-file", missing)
    assert (ca.code, ca.err) == (
        2, f"mxgw: error: cannot load --ca-file {missing!r}: No such file or directory\n")
    cert = await open_session("--endpoint", "127.0.0.1:1", "--ca-file", pki.ca_cert,
                              "--client-cert", missing, "--client-key", str(pki.client_key))
    assert cert.code == 2 and f"cannot load --client-cert {missing!r}: No such file" in cert.err


async def test_a_tls_pair_that_does_not_load_names_both_files(tmp_path: Path, pki: Pki) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    run = await open_session("--endpoint", "127.0.0.1:1", "--ca-file", pki.ca_cert,
                             "--client-cert", str(junk), "--client-key", str(pki.client_key))
    assert run.code == 2
    assert f"cannot load --client-cert {str(junk)!r} with --client-key" in run.err
    only_flags(run)


async def test_plaintext_with_tls_flags_names_the_flags_given() -> None:
    run = await open_session("--endpoint", "127.0.0.1:1", "--plaintext", "--ca-file", "ca.pem")
    assert (run.code, run.err) == (
        2, "mxgw: error: --plaintext contradicts the TLS option(s) given: --ca-file\n")


async def test_plaintext_against_a_tls_gateway_says_to_drop_plaintext(pki: Pki) -> None:
    config = SimConfig(api_keys=[TEST_KEY], tls_cert=pki.server_cert, tls_key=pki.server_key)
    async with SimServer(config) as sim:
        run = await open_session("--endpoint", sim.endpoint, "--plaintext")
    assert run.code == 3 and "connect without --plaintext" in run.err
    only_flags(run)


async def test_tls_against_a_plaintext_gateway_says_to_add_plaintext(pki: Pki) -> None:
    async with SimServer(SimConfig(api_keys=[TEST_KEY])) as sim:
        run = await open_session("--endpoint", sim.endpoint, "--ca-file", pki.ca_cert)
    assert run.code == 3 and "connect with --plaintext" in run.err
    only_flags(run)


async def test_an_untrusted_certificate_names_the_trust_flags(pki: Pki, other_pki: Pki) -> None:
    config = SimConfig(api_keys=[TEST_KEY], tls_cert=pki.server_cert, tls_key=pki.server_key)
    async with SimServer(config) as sim:
        run = await open_session("--endpoint", sim.endpoint, "--ca-file", other_pki.ca_cert,
                                 "--json")
    assert run.code == 3 and run.json["category"] == "tls"
    assert "check --ca-file and --server-name-override" in run.json["error"]


async def test_a_refused_client_certificate_names_the_client_flags(pki: Pki) -> None:
    config = SimConfig(api_keys=[TEST_KEY], tls_cert=pki.server_cert, tls_key=pki.server_key,
                       client_ca=pki.ca_cert)
    async with SimServer(config) as sim:
        run = await open_session("--endpoint", sim.endpoint, "--ca-file", pki.ca_cert)
    assert run.code == 3 and "--client-cert with --client-key" in run.err
    only_flags(run)
