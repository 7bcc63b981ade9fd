"""The CLI against endpoints that are no gateway: `--timeout` bounds the connect phase
too, and a peer that is not a gRPC server fails the command (stream-events included,
which used to exit 0 printing `[]`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from mxgw.cli.output import EXIT_DEADLINE, EXIT_TRANSPORT

from ..client.peers import listener
from ..conftest import TEST_KEY
from .conftest import run_cli_inprocess

FLAGS = ("--plaintext", "--api-key", TEST_KEY, "--json", "--timeout", "1")


@pytest.fixture
def syn_blackhole() -> Iterator[str]:
    """An endpoint whose SYNs go unanswered: a listener with a full accept queue."""
    with socket.socket() as server, socket.socket() as filler:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        filler.connect(server.getsockname())  # takes the one place in the queue
        yield f"127.0.0.1:{server.getsockname()[1]}"


async def test_timeout_bounds_connecting_to_an_endpoint_that_never_answers(
    syn_blackhole: str,
) -> None:
    run = await run_cli_inprocess("open-session", "--endpoint", syn_blackhole, *FLAGS)
    assert run.code == EXIT_DEADLINE, run.out + run.err
    assert run.json["error"] == f"no connection to {syn_blackhole} within 1 s"


async def test_timeout_bounds_waiting_for_a_silent_peer_to_speak_http2() -> None:
    async with listener("silent") as endpoint:
        run = await run_cli_inprocess("open-session", "--endpoint", endpoint, *FLAGS)
    assert run.code == EXIT_TRANSPORT, run.out + run.err
    assert "sent no HTTP/2 within 1 s" in run.json["error"]


async def test_stream_events_from_a_peer_that_is_no_grpc_server_fails() -> None:
    async with listener("banner") as endpoint:
        run = await run_cli_inprocess("stream-events", "--session-id", "session-x",
                                      "--endpoint", endpoint, *FLAGS)
    assert run.code == EXIT_TRANSPORT, run.out + run.err
    assert run.json["category"] == "connect"
    assert "is not a gRPC (HTTP/2) server" in run.json["error"]
    # Not an empty result: nothing arrived, and the envelope says so.
    assert (run.json["complete"], run.json["count"], run.json["received"]) == (False, 0, [])
