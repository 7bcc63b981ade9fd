"""Each program in examples/ runs as a real process against a simulated gateway, as the
user would run it, and does what examples/README.md says it does.

The examples read the gateway from MXGATEWAY_ENDPOINT, MXGATEWAY_API_KEY and
MXGATEWAY_PLAINTEXT, as a user exports them. Long-running ones are stopped with SIGTERM,
as systemd or `kill` stops them; every wait is on a condition (a file's records, a line
on a pipe, a request received), with a timeout.
"""

from __future__ import annotations

import asyncio
import configparser
import csv
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from grpclib.server import Server

from mxgw import GatewayClient, gr
from mxgw.sim import RuntimeConfig, SimConfig, SimServer
from mxgw.sim.galaxy import GalaxyModel, GalaxyService

from ..conftest import ROOT, TEST_KEY, eventually

EXAMPLES = ROOT / "examples"
CHANGING = "TestMachine_001.TestChangingInt"
"""Changes every 50 ms at the tests' event rate (20)."""
WAIT = 30.0
"""The longest any condition is waited for (a busy 2-core machine)."""


def gateway_env(endpoint: str) -> dict[str, str]:
    """The environment a user exports to reach the gateway (and nothing else of ours)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MXGATEWAY_")}
    env.update(MXGATEWAY_ENDPOINT=endpoint, MXGATEWAY_API_KEY=TEST_KEY,
               MXGATEWAY_PLAINTEXT="1", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    """A simulator whose changing attributes change every 50 ms, alarms only by hand."""
    config = SimConfig(api_keys=[TEST_KEY], galaxy_objects=300, runtime=RuntimeConfig(
        first_value_delay=0.02, event_rate=20, alarm_rate=0))
    async with SimServer(config) as server:
        yield server


@dataclass
class Child:
    """An example running as a process: its stderr lines collected as they come."""

    proc: asyncio.subprocess.Process
    err_lines: list[str] = field(default_factory=list)
    _reading: asyncio.Task[None] | None = None
    _out: asyncio.Task[bytes] | None = None

    @classmethod
    async def start(cls, argv: list[str], env: dict[str, str], cwd: Path) -> Child:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=env, cwd=cwd)
        child = cls(proc)
        child._reading = asyncio.create_task(child._read_stderr())
        assert proc.stdout is not None
        child._out = asyncio.create_task(proc.stdout.read())
        return child

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.err_lines.append(line.decode())

    @property
    def stderr(self) -> str:
        return "".join(self.err_lines)

    async def until_stderr(self, text: str, what: str) -> None:
        try:
            await eventually(lambda: text in self.stderr or self.proc.returncode is not None,
                             WAIT)
        except asyncio.TimeoutError:
            raise AssertionError(f"{what}: no {text!r} on stderr:\n{self.stderr}") from None
        assert text in self.stderr, f"{what}: exited {self.proc.returncode}:\n{self.stderr}"

    async def finish(self, signum: int | None = None) -> tuple[int, str, str]:
        """Send `signum` (if any), wait for the exit: (exit code, stdout, stderr)."""
        if signum is not None and self.proc.returncode is None:
            self.proc.send_signal(signum)
        try:
            code = await asyncio.wait_for(self.proc.wait(), WAIT)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"did not exit:\n{self.stderr}") from None
        assert self._reading is not None and self._out is not None
        await self._reading
        return code, (await self._out).decode(), self.stderr


async def start_example(name: str, *args: str, env: dict[str, str], cwd: Path) -> Child:
    return await Child.start([sys.executable, str(EXAMPLES / name), *args], env, cwd)


async def run_example(name: str, *args: str, env: dict[str, str],
                      cwd: Path) -> tuple[int, str, str]:
    """Run an example to its end: (exit code, stdout, stderr)."""
    child = await start_example(name, *args, env=env, cwd=cwd)
    code, out, err = await child.finish()
    assert TEST_KEY not in out + err
    assert "Traceback" not in err, err
    return code, out, err


# ---------------------------------------------------------------------- forward_events

def records(path: Path) -> list[dict[str, Any]]:
    """The records of the forwarder's output, CSV or JSON lines."""
    with path.open(encoding="utf-8", newline="") as file:
        if path.suffix == ".csv":
            return list(csv.DictReader(file))
        return [json.loads(line) for line in file]


def data_records(path: Path) -> list[dict[str, Any]]:
    return records(path) if path.exists() else []


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
async def test_forward_events_resumes_after_a_restart_without_duplicates_or_loss(
        sim: SimServer, tmp_path: Path, suffix: str) -> None:
    output = tmp_path / f"values{suffix}"
    env = gateway_env(sim.endpoint)
    first = await start_example("forward_events.py", "--output", str(output), CHANGING,
                                env=env, cwd=tmp_path)
    await eventually(lambda: len(data_records(output)) >= 5, WAIT)
    code, _, err = await first.finish(signal.SIGTERM)  # as systemd or `kill` stops it
    assert code == 0, err
    before = records(output)
    with output.open("a", encoding="utf-8") as file:  # a record cut short by a crash
        file.write(f"{before[-1]['session_id']},{int(before[-1]['sequence']) + 1},Test"
                   if suffix == ".csv" else '{"session_id": "session-x", "seq')

    # The data went on changing meanwhile: the gateway held it for the session.
    code, _, err = await run_example("forward_events.py", "--output", str(output),
                                     "--max-events", "5", CHANGING, env=env, cwd=tmp_path)
    assert code == 0, err
    assert "resuming session" in err and "incomplete last record" in err
    after = records(output)
    assert len(after) == len(before) + 5
    assert after[: len(before)] == before  # the torn record is gone, the rest untouched
    sequences = [int(r["sequence"]) for r in after]
    assert sequences == list(range(1, len(after) + 1))  # increasing, none twice, none lost
    assert {r["session_id"] for r in after} == {before[0]["session_id"]}
    assert {r["tag"] for r in after} == {CHANGING}
    assert all(int(r["quality"]) == 192 for r in after)
    values = [int(r["value"]) for r in after]
    assert len(set(values)) == len(values)  # each record a change


async def test_forward_events_opens_a_new_session_when_the_gateway_forgot_it(
        sim: SimServer, tmp_path: Path) -> None:
    output = tmp_path / "values.jsonl"
    env = gateway_env(sim.endpoint)
    code, _, err = await run_example("forward_events.py", "--output", str(output),
                                     "--max-events", "3", CHANGING, env=env, cwd=tmp_path)
    assert code == 0, err
    [old] = {r["session_id"] for r in records(output)}
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as c:
        await c.session(old).close()  # as the gateway does after the detach grace

    code, _, err = await run_example("forward_events.py", "--output", str(output),
                                     "--max-events", "3", CHANGING, env=env, cwd=tmp_path)
    assert code == 0, err
    assert f"session {old} is gone" in err
    rows = records(output)
    keys = [(r["session_id"], r["sequence"]) for r in rows]
    assert len(set(keys)) == len(keys) == 6
    assert [r["sequence"] for r in rows] == [1, 2, 3, 1, 2, 3]  # a new session starts at 1
    assert rows[3]["session_id"] != old


# ---------------------------------------------------------------------- write_and_verify

async def test_write_and_verify_reports_the_write_completion_and_the_read_back_value(
        sim: SimServer, tmp_path: Path) -> None:
    env = gateway_env(sim.endpoint)
    code, out, err = await run_example("write_and_verify.py", "TestMachine_001.TestInt",
                                       "1234", "--json", env=env, cwd=tmp_path)
    assert code == 0, err
    result = json.loads(out)
    assert result["write_complete"] == "ok" and result["read_back"] == 1234
    assert result["verified"] is True and result["read_quality"] == 192
    assert "MX_STATUS_CATEGORY_OK" in result["statuses"][0]

    code, out, err = await run_example("write_and_verify.py", "TestMachine_001.TestString",
                                       "pump 7 off", "--type", "string", env=env,
                                       cwd=tmp_path)
    assert code == 0, err
    assert out.splitlines() == [
        "TestMachine_001.TestString: '' -> wrote 'pump 7 off'",
        "OnWriteComplete: ok (MX_STATUS_CATEGORY_OK detected by "
        "MX_STATUS_SOURCE_RESPONDING_AUTOMATION_OBJECT detail 0)",
        "read back: 'pump 7 off' (quality 192)",
        "verified"]


async def test_write_and_verify_fails_on_a_refused_write_and_on_an_unknown_tag(
        sim: SimServer, tmp_path: Path) -> None:
    env = gateway_env(sim.endpoint)
    code, out, err = await run_example("write_and_verify.py", "TestMachine_001.ReadOnlyValue",
                                       "5", "--json", env=env, cwd=tmp_path)
    assert code == 1, err
    result = json.loads(out)
    assert result["write_complete"] == "failed" and result["verified"] is False
    assert "SECURITY_ERROR" in result["statuses"][0] and "detail 1007" in result["statuses"][0]
    assert result["read_back"] == result["before"] != 5  # unchanged

    code, out, err = await run_example("write_and_verify.py", "TestMachine_001.NoSuchThing",
                                       "5", env=env, cwd=tmp_path)
    assert code == 1 and out == ""
    assert "TestMachine_001.NoSuchThing has no good value (quality 0)" in err


# ---------------------------------------------------------------------- export_galaxy

async def test_export_galaxy_writes_every_object_with_progress(
        sim: SimServer, tmp_path: Path) -> None:
    output = tmp_path / "galaxy.csv"
    code, _, err = await run_example("export_galaxy.py", "--output", str(output),
                                     "--page-size", "70", env=gateway_env(sim.endpoint),
                                     cwd=tmp_path)
    assert code == 0, err
    rows = records(output)
    total = len(sim.galaxy)
    assert len(rows) == total == 300
    ids = {row["gobject_id"] for row in rows}
    assert len(ids) == total  # each object once
    assert all(row["parent_gobject_id"] in ids | {"0"} for row in rows)  # a whole tree
    assert {"Plant", "TestMachine_001"} <= {row["tag_name"] for row in rows}
    pump = next(row for row in rows if "$Pump" in row["template_chain"])
    assert int(pump["attributes"]) > 0
    shown = [re.fullmatch(rf"(\d+) of {total} objects, \d+/s, [\d.]+ s", line)
             for line in err.splitlines()]
    progress = [int(line[1]) for line in shown if line is not None]
    assert progress == sorted(progress) and progress[-1] == total  # not a TTY: lines
    assert f"{total} objects written to {output}" in err
    assert not output.with_name("galaxy.csv.partial").exists()


class RedeployedWhilePaging(GalaxyService):
    """A Galaxy Repository that holds the first request for a second page until the test
    has redeployed."""

    def __init__(self) -> None:
        super().__init__(GalaxyModel.default(300))
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def discover_hierarchy(
            self, message: gr.DiscoverHierarchyRequest) -> gr.DiscoverHierarchyReply:
        if message.page_token and not self.release.is_set():
            self.holding.set()
            await self.release.wait()
        return await super().discover_hierarchy(message)


async def test_export_galaxy_redeployed_meanwhile_starts_over(tmp_path: Path) -> None:
    service = RedeployedWhilePaging()
    server = Server([service])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    await server.start(sock=sock)
    try:
        endpoint = f"127.0.0.1:{sock.getsockname()[1]}"
        output = tmp_path / "galaxy.csv"
        child = await start_example("export_galaxy.py", "--output", str(output),
                                    "--page-size", "70", env=gateway_env(endpoint),
                                    cwd=tmp_path)
        await asyncio.wait_for(service.holding.wait(), WAIT)
        before = {obj.tag_name for obj in service.galaxy.iter_objects()}
        service.redeploy(changes=20)
        service.release.set()
        code, _, err = await child.finish()
    finally:
        server.close()
        await server.wait_closed()
    assert code == 0, err
    assert "the Galaxy was redeployed: starting over" in err
    after = {obj.tag_name for obj in service.galaxy.iter_objects()}
    assert before - after  # objects went (and others came) ...
    assert [row["tag_name"] for row in records(output)] == [  # ... and the CSV is the new
        obj.tag_name for obj in service.galaxy.iter_objects()]  # deploy alone, in order


# ---------------------------------------------------------------------- durable_service

UNIT = EXAMPLES / "mxgw-forwarder.service"


def unit_file() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None,
                                       empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep the case
    text = UNIT.read_text(encoding="utf-8").replace("\\\n", " ")  # continuation lines
    parser.read_string(text)
    return parser


def unit_command(output_dir: Path) -> list[str]:
    """The unit's ExecStart, with the install paths swapped for this checkout's."""
    command = unit_file()["Service"]["ExecStart"]
    command = (command.replace("/opt/mxgw/venv/bin/python", sys.executable)
               .replace("/opt/mxgw/durable_service.py",
                        str(EXAMPLES / "durable_service.py"))
               .replace("/var/lib/mxgw-forwarder", str(output_dir)))
    return shlex.split(command)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_gateway(port: int) -> asyncio.subprocess.Process:
    """`mxgw sim` as a process on `port` (as tests/client/test_durable.py), once it serves."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "sim", "--port", str(port), "--plaintext",
        "--api-key", TEST_KEY, "--json", "--first-value-delay", "0.02", "--event-rate", "20",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), WAIT)
    assert json.loads(line)["endpoint"] == f"127.0.0.1:{port}", line
    return proc


async def test_the_durable_service_keeps_delivering_through_a_gateway_restart(
        tmp_path: Path) -> None:
    port = free_port()
    gateways = [await start_gateway(port)]
    output = tmp_path / "events.jsonl"
    service = await Child.start(unit_command(tmp_path), gateway_env(f"127.0.0.1:{port}"),
                                tmp_path)
    try:
        def data() -> list[dict[str, Any]]:
            return [r for r in data_records(output) if "marker" not in r]

        def markers() -> list[dict[str, Any]]:
            return [r for r in data_records(output) if "marker" in r]

        await eventually(lambda: len(data()) >= 3, WAIT)
        old_session = data()[0]["session_id"]
        gateways[0].kill()  # the gateway's process dies: its sessions with it
        await gateways[0].wait()
        await service.until_stderr("event stream lost", "the loss noticed")
        gateways.append(await start_gateway(port))
        await eventually(lambda: bool(markers()), WAIT)
        [marker] = markers()
        new_session = marker["new_session_id"]
        await eventually(lambda: sum(r["session_id"] == new_session for r in data()) >= 6,
                         WAIT)
        code, _, err = await service.finish(signal.SIGTERM)  # `systemctl stop`
    finally:
        if service.proc.returncode is None:
            service.proc.kill()
            await service.proc.wait()
        for gateway in gateways:
            if gateway.returncode is None:
                gateway.kill()
            await gateway.wait()
    assert code == 0, err
    assert "Traceback" not in err and TEST_KEY not in err
    assert err.count("session replaced:") == 1 and len(markers()) == 1
    assert "SIGTERM: stopping" in err and '"state": "closed"' in err
    assert marker["old_session_id"] == old_session != new_session
    assert "NOT_FOUND" in marker["reason"]  # the restarted gateway did not know it
    lines = records(output)
    index = lines.index(marker)
    before, after = lines[:index], lines[index + 1:]
    assert {r["session_id"] for r in before} == {old_session}
    assert {r["session_id"] for r in after} == {new_session}
    for part in (before, after):  # each session's events in order, none twice or lost
        assert [r["sequence"] for r in part] == list(range(1, len(part) + 1))
        # Both tags of the unit: the new session's first values (a fresh snapshot) too.
        assert {r["tag"] for r in part} == {CHANGING, "TestMachine_001.TestInt"}
    assert marker["last_sequence"] == before[-1]["sequence"]


async def test_the_durable_service_waits_for_an_absent_gateway_and_stops_on_sigterm(
        tmp_path: Path) -> None:
    service = await Child.start(unit_command(tmp_path),
                                gateway_env(f"127.0.0.1:{free_port()}"), tmp_path)
    await service.until_stderr("failed 2 time(s) in a row", "retrying")  # not giving up
    code, _, err = await service.finish(signal.SIGTERM)
    assert code == 0, err  # a clean stop: systemd's Restart=on-failure leaves it stopped
    assert "SIGTERM: stopping" in err and "Traceback" not in err


async def test_the_durable_service_exits_2_on_a_wrong_key(sim: SimServer, tmp_path: Path
                                                          ) -> None:
    env = {**gateway_env(sim.endpoint), "MXGATEWAY_API_KEY": "mxgw_wrong_notTheRightKey1"}
    service = await Child.start(unit_command(tmp_path), env, tmp_path)
    code, _, err = await service.finish()
    assert code == 2, err  # RestartPreventExitStatus=2: no restart loop
    assert "not retried: fix the configuration" in err and "notTheRightKey1" not in err


def test_the_unit_file_is_hardened_restarts_on_failure_and_stops_with_sigterm() -> None:
    service = unit_file()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert 5 <= int(service["TimeoutStopSec"]) <= 90
    assert service["RestartPreventExitStatus"] == "2"  # durable_service's EXIT_CONFIG
    for hardening in ("DynamicUser", "NoNewPrivileges"):
        assert service[hardening] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/mxgw-forwarder"
    command = shlex.split(service["ExecStart"])
    assert Path(command[command.index("--output") + 1]).parent == Path("/var/lib/mxgw-forwarder")
    # The key is not in the world-readable unit: it comes from the EnvironmentFile.
    text = UNIT.read_text(encoding="utf-8")
    assert "Environment=MXGATEWAY_API_KEY" not in text and "EnvironmentFile=" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verifies_the_unit_file(tmp_path: Path) -> None:
    unit = tmp_path / "mxgw-forwarder.service"
    unit.write_text(UNIT.read_text(encoding="utf-8")
                    .replace("/opt/mxgw/venv/bin/python", sys.executable), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


# ---------------------------------------------------------------------- alarms_to_webhook

REFERENCE = "Galaxy!Plant.TestMachine_003.TestAlarm001"


@dataclass
class Receiver:
    """A tiny webhook receiver: HTTP/1.1 POSTs on loopback, answered 204, or 503 for the
    first one (`refuse_first`) or all of them while `refuse_all` is set."""

    refuse_first: bool = True
    refuse_all: bool = False
    bodies: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    refused: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode().strip()
        headers: dict[str, str] = {}
        while (line := (await reader.readline()).decode().strip()):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers["content-length"]))
        self.requests.append((request_line, headers))
        refuse = self.refuse_all or (self.refuse_first and len(self.requests) == 1)
        if refuse:
            self.refused += 1
        else:
            await self.bodies.put(json.loads(body))
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
                     if refuse else b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def serve(self) -> tuple[asyncio.Server, str]:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_alarms_to_webhook_posts_raise_acknowledge_and_clear_as_json(
        sim: SimServer, tmp_path: Path) -> None:
    alarms = sim.runtime.alarms
    assert alarms.find(REFERENCE) is not None and alarms.state_of(REFERENCE) is None
    receiver = Receiver()
    server, url = await receiver.serve()
    received: list[dict[str, Any]] = []

    async def next_post(kind: str) -> None:
        received.append(await asyncio.wait_for(receiver.bodies.get(), WAIT))
        assert received[-1]["kind"] == kind, received

    async with server:
        child = await start_example(
            "alarms_to_webhook.py", "--url", f"{url}/hooks/mxgw?src=test",
            "--max-changes", "3", env=gateway_env(sim.endpoint), cwd=tmp_path)
        await child.until_stderr("watching", "the first snapshot")
        alarms.raise_alarm(REFERENCE)
        await next_post("RAISE")  # after the 503 and a retry
        async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY,
                                         plaintext=True) as client:  # as an HMI would
            await client.acknowledge_alarm(REFERENCE, "on it", operator="Operator1")
        await next_post("ACKNOWLEDGE")
        alarms.clear_alarm(REFERENCE)
        await next_post("CLEAR")
        code, _, err = await child.finish()
    assert code == 0, err
    assert "Traceback" not in err and "HTTP 503" in err  # refused once, retried
    assert [r["reference"] for r in received] == [REFERENCE] * 3
    assert [r["state"] for r in received] == ["ACTIVE", "ACTIVE_ACKED", "INACTIVE"]
    assert received[1]["operator"] == "Operator1" and received[1]["comment"] == "on it"
    assert not any(r["synthetic"] for r in received)
    assert received[0]["severity"] > 0 and received[0]["raised_at"]
    assert len(receiver.requests) == 4
    for request_line, headers in receiver.requests:
        assert request_line == "POST /hooks/mxgw?src=test HTTP/1.1"
        assert headers["content-type"] == "application/json"
        assert f"http://{headers['host']}" == url


async def test_alarms_to_webhook_posts_the_active_set_and_stops_on_sigterm_while_retrying(
        sim: SimServer, tmp_path: Path) -> None:
    receiver = Receiver(refuse_first=False)
    server, url = await receiver.serve()
    active = {a.alarm_full_reference for a in sim.runtime.alarms.snapshots()}
    assert active  # the simulator starts with some
    async with server:
        child = await start_example("alarms_to_webhook.py", "--url", url, "--post-active",
                                    env=gateway_env(sim.endpoint), cwd=tmp_path)
        posted = [await asyncio.wait_for(receiver.bodies.get(), WAIT) for _ in active]
        assert {p["kind"] for p in posted} == {"ACTIVE"}
        assert {p["reference"] for p in posted} == active
        receiver.refuse_all = True  # the receiver goes down...
        sim.runtime.alarms.raise_alarm(REFERENCE)
        await eventually(lambda: receiver.refused >= 1, WAIT)  # ...the RAISE is refused
        code, _, err = await child.finish(signal.SIGTERM)  # in the backoff: ends at once
    assert code == 0, err
    assert f"stopped before RAISE {REFERENCE} was posted" in err


# ---------------------------------------------------------------------- all of them

def test_every_example_is_in_the_index_and_has_a_test() -> None:
    index = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    this = Path(__file__).read_text(encoding="utf-8")
    programs = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert programs == ["alarms_to_webhook.py", "durable_service.py", "export_galaxy.py",
                        "forward_events.py", "write_and_verify.py"]
    for name in [*programs, UNIT.name]:
        assert f"`{name}`" in index, name  # indexed
        assert f'"{name}"' in this, name  # run by a test here


def _imports(path: Path) -> Callable[[str], bool]:
    text = path.read_text(encoding="utf-8")
    return lambda prefix: any(line.startswith((f"from {prefix}", f"import {prefix}"))
                              for line in text.splitlines())


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_an_example_uses_only_the_public_library_and_the_standard_library(name: str) -> None:
    imports = _imports(EXAMPLES / name)
    for private in ("mxgw._", "mxgw.sim", "mxgw.cli", "mxgw.contract", "grpclib",
                    "betterproto2", "requests", "aiohttp"):
        assert not imports(private), f"{name} imports {private}"
    assert "threading" not in (EXAMPLES / name).read_text(encoding="utf-8")
