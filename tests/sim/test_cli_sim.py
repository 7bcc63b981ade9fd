"""`mxgw sim` as a real child process: announces its endpoint, serves, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from grpclib.client import Channel

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw._proto.mxaccess_gateway.v1.services import MxAccessGatewayStub
from mxgw.contract.commands import command

ROOT = Path(__file__).resolve().parents[2]


async def _start(*flags: str) -> tuple[asyncio.subprocess.Process, dict[str, object]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "sim", "--port", "0", "--plaintext", "--json", *flags,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    return process, json.loads(line)


async def _stop(process: asyncio.subprocess.Process, sig: int) -> tuple[int, str]:
    process.send_signal(sig)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_sim_announces_serves_and_stops_cleanly_on_sigterm() -> None:
    process, announced = await _start("--overflow", "disconnect", "--max-bulk", "2",
                                      "--first-value-delay", "0.01")
    try:
        endpoint = str(announced["endpoint"])
        key = str(announced["apiKey"])
        assert key.startswith("mxgw_")
        host, _, port = endpoint.rpartition(":")
        channel = Channel(host, int(port))
        stub = MxAccessGatewayStub(channel, metadata={"authorization": f"Bearer {key}"})
        try:
            opened = await stub.open_session(pb.OpenSessionRequest(client_session_name="cli"))
            assert opened.gateway_protocol_version == 3
            reply = await stub.invoke(pb.MxCommandRequest(
                session_id=opened.session_id, command=command(pb.AddItemBulkCommand(
                    server_handle=1, tag_addresses=["a.b", "c.d", "e.f"]))))
            assert reply.protocol_status is not None  # --max-bulk 2 is in force
            assert reply.protocol_status.code == pb.ProtocolStatusCode.INVALID_REQUEST
        finally:
            channel.close()
    finally:
        code, stderr = await _stop(process, signal.SIGTERM)
    assert code == 0, stderr
    assert f"session {opened.session_id} opened" in stderr  # it logs what it does
    assert key not in stderr


async def test_sim_injects_faults_from_flags_and_stops_on_sigint() -> None:
    process, announced = await _start("--fault-fail-fraction", "1",
                                      "--fault-fail-status", "TIMEOUT")
    try:
        host, _, port = str(announced["endpoint"]).rpartition(":")
        channel = Channel(host, int(port))
        stub = MxAccessGatewayStub(
            channel, metadata={"authorization": f"Bearer {announced['apiKey']}"})
        try:
            opened = await stub.open_session(pb.OpenSessionRequest())
            reply = await stub.invoke(pb.MxCommandRequest(
                session_id=opened.session_id,
                command=command(pb.RegisterCommand(client_name="x"))))
            assert reply.protocol_status is not None
            assert reply.protocol_status.code == pb.ProtocolStatusCode.TIMEOUT
        finally:
            channel.close()
    finally:
        code, stderr = await _stop(process, signal.SIGINT)
    assert code == 0, stderr
    assert "fault injection on" in stderr


async def test_sim_refuses_bad_flags_with_exit_2() -> None:
    bad = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "sim", "--port", "0", "--plaintext",
        "--fault-fail-status", "NOT_A_STATUS", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT)
    _, stderr_bytes = await asyncio.wait_for(bad.communicate(), 30)
    assert bad.returncode == 2, stderr_bytes.decode()
