"""ClientOptions: endpoints, TLS choices, limits, the key from the environment, and the key
kept out of every repr and exception."""

from __future__ import annotations

import asyncio
import math
import pickle
from typing import Any

import pytest

import mxgw
from mxgw import ClientOptions, GatewayClient, WriteItem, pb
from mxgw.sim import SimConfig, SimServer

from ..conftest import TEST_KEY


@pytest.mark.parametrize(("endpoint", "host", "port"), [
    ("gw.plant:5001", "gw.plant", 5001),
    ("https://gw.plant:5001/", "gw.plant", 5001),
    ("[::1]:5001", "::1", 5001),
    (" 10.0.0.1:443 ", "10.0.0.1", 443),
])
def test_endpoints_are_parsed(endpoint: str, host: str, port: int) -> None:
    options = ClientOptions(endpoint)
    assert (options.host, options.port) == (host, port)


@pytest.mark.parametrize("endpoint", ["", "gw.plant", "gw.plant:0", "gw.plant:99999", ":5001"])
def test_bad_endpoints_are_configuration_errors(endpoint: str) -> None:
    with pytest.raises(mxgw.ConfigurationError, match="HOST:PORT"):
        ClientOptions(endpoint)


@pytest.mark.parametrize(("changes", "message"), [
    ({"plaintext": True, "ca_file": "ca.pem"}, "plaintext contradicts"),
    ({"client_cert": "c.pem"}, "go together"),
    ({"timeout": 0}, "timeout"),
    ({"connect_timeout": -1}, "connect_timeout"),
    ({"keepalive_time": 0}, "keepalive_time"),
    ({"timeout": math.inf}, "finite"),
    ({"timeout": math.nan}, "finite"),
    ({"keepalive_timeout": math.inf}, "keepalive_timeout"),
    ({"keepalive_permit_time": 0}, "keepalive_permit_time"),
    ({"stream_window_bytes": 1024}, "stream_window_bytes"),
    ({"stream_window_bytes": 2**31}, "stream_window_bytes"),
    ({"max_message_bytes": 100}, "max_message_bytes"),
    ({"max_bulk_entries": 0}, "max_bulk_entries"),
    ({"max_bulk_bytes": 64 * 1024 * 1024}, "max_bulk_bytes"),
])
def test_contradictions_and_bad_limits_are_refused(changes: dict[str, Any],
                                                   message: str) -> None:
    with pytest.raises(mxgw.ConfigurationError, match=message):
        ClientOptions("gw:1", **changes)


def test_defaults_tls_sixteen_mib_and_a_thousand_entries_per_bulk() -> None:
    options = ClientOptions("gw:1")
    assert options.plaintext is False
    assert options.max_message_bytes == 16 * 1024 * 1024
    assert options.max_bulk_entries == 1000
    assert options.bulk_byte_budget == 8 * 1024 * 1024
    assert options.keepalive_time is not None and options.keepalive_time > 0
    assert options.with_changes(max_bulk_bytes=4096).bulk_byte_budget == 4096


def test_the_key_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MXGW_TEST_KEY_VAR", TEST_KEY + "\n")
    options = ClientOptions("gw:1", api_key_env="MXGW_TEST_KEY_VAR")
    assert options.key is not None and options.key.reveal() == TEST_KEY
    monkeypatch.delenv("MXGW_TEST_KEY_VAR")
    with pytest.raises(mxgw.ConfigurationError, match="MXGW_TEST_KEY_VAR is not set"):
        ClientOptions("gw:1", api_key_env="MXGW_TEST_KEY_VAR")


def test_an_explicit_key_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MXGW_TEST_KEY_VAR", "mxgw_other_key")
    options = ClientOptions("gw:1", api_key=TEST_KEY,
                            api_key_env="MXGW_TEST_KEY_VAR")
    assert options.key is not None and options.key.reveal() == TEST_KEY


def test_connect_refuses_both_an_endpoint_and_options() -> None:
    with pytest.raises(mxgw.ConfigurationError, match="not both"):
        GatewayClient.connect("gw:1", options=ClientOptions("gw:1"))


async def test_the_awaited_form_works_and_closes(sim: SimServer) -> None:
    client = await GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True)
    session = await client.open_session()
    await session.close()
    await client.close()
    with pytest.raises(mxgw.ConfigurationError, match="closed"):
        await client.open_session()


async def test_many_clients_share_one_loop(sim: SimServer) -> None:
    async def one(n: int) -> int:
        async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY,
                                         plaintext=True) as c, \
                await c.open_session(f"c{n}") as s:
            return await s.register(f"c{n}")
    handles = await asyncio.gather(*(one(n) for n in range(8)))
    assert handles == [1] * 8  # each session has its own handle space


# ------------------------------------------------------------------ the key never shows

async def _failures(sim: SimServer) -> list[BaseException]:
    """Every kind of failure a client holding TEST_KEY can meet."""
    caught: list[BaseException] = []

    async def collect(coro: Any) -> None:
        try:
            await coro
        except mxgw.MxGatewayError as exc:
            caught.append(exc)
        else:
            raise AssertionError("expected a failure")

    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as c, \
            await c.open_session() as s:
        server = await s.register("r")
        item = await s.add_item(server, "TestMachine_001.TestInt")
        await collect(s.write(server, item, 1))  # MXAccess failure
        await collect(s.authenticate_user(server, "operator", "x"))
        await collect(c.session("session-" + "0" * 32).register("r"))  # protocol
        await collect(s.write_bulk(server, [WriteItem(item, math.nan)]))  # bad entry
        await collect(s.write(server, item, "x" * (17 * 1024 * 1024)))  # too large
        await collect(s.invoke(pb.MxCommand(kind=pb.MxCommandKind.WRITE), timeout=1e-6))
        async with c.session(s.id).events() as a, s.events() as b:
            await collect(asyncio.gather(a.__anext__(), b.__anext__()))  # ALREADY_EXISTS
    await collect(GatewayClient.connect("127.0.0.1:1", api_key=TEST_KEY, plaintext=True))
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY + "x",
                                     plaintext=True) as wrong:
        await collect(wrong.open_session())  # UNAUTHENTICATED
    return caught


def _texts(exc: BaseException) -> list[str]:
    texts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen), *map(repr, seen.args)]
        seen = seen.__cause__ or seen.__context__
    return texts


async def test_the_api_key_never_appears_in_an_exception_or_repr(sim: SimServer) -> None:
    failures = await _failures(sim)
    assert len(failures) == 9
    kinds = {type(f) for f in failures}
    assert {mxgw.MxAccessError, mxgw.SessionNotFoundError, mxgw.BulkEntryError,
            mxgw.RequestTooLargeError, mxgw.ConnectError, mxgw.UnauthenticatedError} <= kinds
    for failure in failures:
        for text in _texts(failure):
            assert TEST_KEY not in text and "s3cr3t" not in text
    options = ClientOptions(sim.endpoint, api_key=TEST_KEY)
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as c:
        session = await c.open_session()
        shown = [repr(options), str(options), f"{options.api_key}", repr(c), repr(c.options),
                 repr(session), repr(session.events()), repr(options.with_changes(timeout=5))]
        await session.close()
    assert all("s3cr3t" not in text for text in shown)


def test_a_bad_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(mxgw.ConfigurationError) as caught:
        ClientOptions("gw:1", api_key="mxgw_has a space")
    assert "has a space" not in str(caught.value)
    for bad in ("mxgw_clé_secrète", "mxgw_tab\tkey", "mxgw_nul\x00key"):
        # before anything is sent: a non-ASCII key broke the gateway's header decoding
        with pytest.raises(mxgw.ConfigurationError, match="printable ASCII") as caught:
            ClientOptions("gw:1", api_key=bad)
        assert bad not in str(caught.value) and "secr" not in str(caught.value)
    with pytest.raises(TypeError):
        pickle.dumps(mxgw.ApiKey(TEST_KEY))


async def test_the_key_travels_as_a_bearer_token() -> None:
    key = "mxgw_scoped_readonlySECRET"
    config = SimConfig(api_keys=[f"{key}=session:open,session:close"])
    async with SimServer(config) as sim, GatewayClient.connect(
        sim.endpoint, api_key=key, plaintext=True
    ) as c:
        session = await c.open_session()  # accepted: the key went through
        with pytest.raises(mxgw.PermissionDeniedError) as caught:
            await session.register("x")
        await session.close()
    assert key not in str(caught.value) and "SECRET" not in repr(caught.value)


def test_both_service_clients_connect_with_every_client_option() -> None:
    """One keyword list for both clients: every ClientOptions field is a `connect` keyword
    (with the same default), so an option added once reaches both."""
    import dataclasses
    import inspect

    fields = {f.name: f.default for f in dataclasses.fields(ClientOptions)}
    del fields["endpoint"]
    for client in (GatewayClient, mxgw.GalaxyRepositoryClient):
        params = inspect.signature(client.connect).parameters
        keywords = {name: p.default for name, p in params.items()
                    if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("options",
                                                                                  "eager")}
        assert keywords == fields, client


async def test_other_deadlines_and_the_galaxy_share_the_connection(sim: SimServer) -> None:
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as client:
        quick = client.with_timeout(2.5)
        galaxy = client.galaxy()
        assert quick.options.timeout == 2.5 and client.options.timeout == 30.0
        assert quick.owner is client and galaxy.owner is client
        async with await quick.open_session("shared") as session:
            assert await session.register("shared") > 0
        assert await galaxy.test_connection()
        await quick.close()  # a sharing client leaves the connection open
        await galaxy.close()
        assert quick.closed and not client.closed
        assert (await client.open_session_raw("still")).session_id
    assert galaxy.closed and quick.closed  # the owner closed the connection
    with pytest.raises(mxgw.ConfigurationError, match="closed"):
        await galaxy.test_connection()


def test_the_upstream_key_variable_is_read_when_no_key_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MXGATEWAY_API_KEY", TEST_KEY + "\n")
    options = ClientOptions("gw:1")
    assert options.key is not None and options.key.reveal() == TEST_KEY
    monkeypatch.setenv("OTHER_KEY", "mxgw_other_key")
    named = ClientOptions("gw:1", api_key_env="OTHER_KEY")  # a named variable wins
    assert named.key is not None and named.key.reveal() == "mxgw_other_key"
    monkeypatch.delenv("MXGATEWAY_API_KEY")
    assert ClientOptions("gw:1").key is None


async def test_no_key_at_all_is_refused_with_a_hint(
    sim: SimServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MXGATEWAY_API_KEY", raising=False)
    async with GatewayClient.connect(sim.endpoint, plaintext=True) as client:
        with pytest.raises(mxgw.UnauthenticatedError, match="MXGATEWAY_API_KEY") as caught:
            await client.open_session()
    # the library names its keywords; the CLI spells the same message with its flags
    assert "pass api_key_env or api_key" in str(caught.value)
    flagged = caught.value.spelled(lambda option: "--" + option.replace("_", "-"))
    assert "pass --api-key-env or --api-key, or set MXGATEWAY_API_KEY" in flagged


def test_options_from_the_upstream_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MXGATEWAY_PLAINTEXT", "MXGATEWAY_CA_FILE", "MXGATEWAY_SERVER_NAME_OVERRIDE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MXGATEWAY_ENDPOINT", "gw.plant:5001")
    monkeypatch.setenv("MXGATEWAY_API_KEY", TEST_KEY)
    options = ClientOptions.from_env()
    assert (options.endpoint, options.plaintext, options.ca_file) == ("gw.plant:5001", False,
                                                                      None)
    assert options.key is not None and options.key.reveal() == TEST_KEY
    monkeypatch.setenv("MXGATEWAY_CA_FILE", "plant-ca.pem")
    monkeypatch.setenv("MXGATEWAY_SERVER_NAME_OVERRIDE", "gw.plant")
    tls = ClientOptions.from_env(timeout=5)
    assert (tls.ca_file, tls.server_name_override, tls.timeout) == ("plant-ca.pem", "gw.plant",
                                                                    5)
    monkeypatch.setenv("MXGATEWAY_PLAINTEXT", "1")
    assert ClientOptions.from_env().plaintext and ClientOptions.from_env().ca_file is None
    # a TLS choice given in code replaces the variables' whole choice
    chosen = ClientOptions.from_env(ca_file="other.pem")
    assert not chosen.plaintext and chosen.ca_file == "other.pem"
    monkeypatch.delenv("MXGATEWAY_ENDPOINT")
    with pytest.raises(mxgw.ConfigurationError, match="MXGATEWAY_ENDPOINT"):
        ClientOptions.from_env()


async def test_connect_without_an_endpoint_reads_the_variables(
    sim: SimServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MXGATEWAY_ENDPOINT", sim.endpoint)
    monkeypatch.setenv("MXGATEWAY_API_KEY", TEST_KEY)
    monkeypatch.setenv("MXGATEWAY_PLAINTEXT", "1")
    async with GatewayClient.connect() as client, await client.open_session("env") as session:
        assert await session.register("env") > 0
