"""One bench client process: mxgw or the grpcio reference, running the workloads it is given.

    python bench/clients.py SPEC_JSON

SPEC_JSON: {"stack": "mxgw" | "grpcio", "endpoint": "127.0.0.1:PORT", "key": KEY,
"pb2_dir": DIR, "session": ID, "server": HANDLE, "item": HANDLE, "workloads": [...]}.
Prints one JSON line per workload: its wall seconds, client CPU seconds
(`time.process_time`: every thread of this process, so grpcio's C-core threads count),
the operations done, and the RSS figures when asked.

Both stacks go through the same driver interface (`write`, `write_bulk`, `events`), so
the loops around them are identical; the grpcio driver does what a grpcio user would
(the generated stub, Google's messages, the same authorization header and deadline, the
same checks of the reply and the same 1,000-entry bulk chunks as mxgw's default).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

TIMEOUT = 30.0  # both stacks send grpc-timeout on unary calls, as mxgw's default does
BULK_CHUNK = 1000  # mxgw's default max_bulk_entries; the reference splits the same way
WRITE_VALUE = 42


def bulk_items(count: int, handles: list[int] | None) -> list[tuple[int, int]]:
    """(item handle, value) pairs: the given handles (the simulator's advised items), else
    1..count (the neutral server answers any)."""
    if handles:
        return [(handles[i % len(handles)], i % 1000) for i in range(count)]
    return [(i + 1, i % 1000) for i in range(count)]


def rss_kib(field: str = "VmRSS") -> int:
    """This process's resident memory (VmRSS) or its peak (VmHWM), in KiB.

    Not `ru_maxrss`: Linux carries that over exec from the parent's size at fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class MxgwDriver:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    async def connect(self) -> None:
        from mxgw import GatewayClient

        spec = self.spec
        self.client = await GatewayClient.connect(spec["endpoint"], api_key=spec["key"],
                                                  plaintext=True, timeout=TIMEOUT)
        self.retarget({})

    def retarget(self, target: dict[str, Any]) -> None:
        self.spec.update(target)
        self.session = self.client.session(self.spec["session"])

    async def write(self) -> None:
        await self.session.write(self.spec["server"], self.spec["item"], WRITE_VALUE,
                                 type_name="int32")

    async def write_bulk(self, items: list[tuple[int, int]]) -> int:
        results = await self.session.write_bulk(self.spec["server"], items, type_name="int32")
        return len(results)

    async def events(self, session_id: str) -> AsyncIterator[int]:
        async with self.client.session(session_id).events() as events:
            async for event in events:
                yield event.worker_sequence

    async def close(self) -> None:
        await self.client.close()


class GrpcioDriver:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        sys.path.insert(0, spec["pb2_dir"])
        self.pb2 = importlib.import_module("mxaccess_gateway_pb2")
        self.pb2_grpc = importlib.import_module("mxaccess_gateway_pb2_grpc")

    async def connect(self) -> None:
        import grpc

        pb2 = self.pb2
        self.channel = grpc.aio.insecure_channel(self.spec["endpoint"])
        await self.channel.channel_ready()
        self.stub = self.pb2_grpc.MxAccessGatewayStub(self.channel)
        self.retarget({})
        self.metadata = (("authorization", f"Bearer {self.spec['key']}"),)
        self.ok = {pb2.PROTOCOL_STATUS_CODE_OK, pb2.PROTOCOL_STATUS_CODE_MXACCESS_FAILURE}
        self.errors = {pb2.MX_STATUS_CATEGORY_COMMUNICATION_ERROR,
                       pb2.MX_STATUS_CATEGORY_CONFIGURATION_ERROR,
                       pb2.MX_STATUS_CATEGORY_OPERATIONAL_ERROR,
                       pb2.MX_STATUS_CATEGORY_SECURITY_ERROR,
                       pb2.MX_STATUS_CATEGORY_SOFTWARE_ERROR,
                       pb2.MX_STATUS_CATEGORY_OTHER_ERROR}

    def retarget(self, target: dict[str, Any]) -> None:
        self.spec.update(target)

    def value(self, number: int) -> Any:
        return self.pb2.MxValue(data_type=self.pb2.MX_DATA_TYPE_INTEGER, variant_type="VT_I4",
                                int32_value=number)

    async def invoke(self, command: Any) -> Any:
        """Invoke with the checks mxgw's Session.invoke makes."""
        pb2 = self.pb2
        request = pb2.MxCommandRequest(session_id=self.spec["session"], command=command,
                                       client_correlation_id=uuid.uuid4().hex)
        reply = await self.stub.Invoke(request, metadata=self.metadata, timeout=TIMEOUT)
        code = reply.protocol_status.code
        if code not in self.ok:
            raise RuntimeError(f"protocol status {code}")
        if (code == pb2.PROTOCOL_STATUS_CODE_MXACCESS_FAILURE or reply.hresult < 0
                or any(s.category in self.errors for s in reply.statuses)):
            raise RuntimeError(f"MXAccess failure: {reply}")
        return reply

    async def write(self) -> None:
        pb2 = self.pb2
        await self.invoke(pb2.MxCommand(kind=pb2.MX_COMMAND_KIND_WRITE, write_command=(
            pb2.WriteCommand(server_handle=self.spec["server"], item_handle=self.spec["item"],
                             value=self.value(WRITE_VALUE)))))

    async def write_bulk(self, items: list[tuple[int, int]]) -> int:
        pb2 = self.pb2
        results: list[Any] = []
        for start in range(0, len(items), BULK_CHUNK):
            chunk = items[start:start + BULK_CHUNK]
            command = pb2.MxCommand(kind=pb2.MX_COMMAND_KIND_WRITE_BULK)
            payload = command.write_bulk_command
            payload.server_handle = self.spec["server"]
            entries = payload.entries
            for handle, number in chunk:
                entry = entries.add()
                entry.item_handle = handle
                entry.value.CopyFrom(self.value(number))
            reply = await self.invoke(command)
            got = list(reply.bulk_write.results)
            if len(got) != len(chunk):
                raise RuntimeError(f"{len(got)} results for {len(chunk)} entries")
            results.extend(got)
        return len(results)

    async def events(self, session_id: str) -> AsyncIterator[int]:
        pb2 = self.pb2
        call = self.stub.StreamEvents(
            pb2.StreamEventsRequest(session_id=session_id, after_worker_sequence=0),
            metadata=self.metadata)
        last = 0
        try:
            async for event in call:
                if event.HasField("replay_gap"):  # what mxgw's EventStream checks too
                    raise RuntimeError("replay gap")
                if event.worker_sequence <= last:
                    continue
                last = event.worker_sequence
                yield last
        finally:
            call.cancel()

    async def close(self) -> None:
        await self.channel.close()


Driver = MxgwDriver | GrpcioDriver


def process_cpu(pid: int | None) -> tuple[float, float]:
    """(utime, stime) of another process (the server), in seconds; 0 when not given.
    Clock ticks: 10 ms resolution."""
    if pid is None:
        return 0.0, 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def server_since(before: tuple[float, float]) -> dict[str, float]:
    user, system = process_cpu(SERVER_PID)
    return {"server_cpu": user + system - sum(before), "server_sys": system - before[1]}


SERVER_PID: int | None = None


PROFILE: str | None = None
"""A folder: each measured workload is run under cProfile, its stats saved there."""
SAMPLE = False
"""Sample each measured workload's user CPU by layer (bench/layers.py) into its result."""


async def measured(work: Callable[[], Awaitable[int]], label: str = "") -> dict[str, Any]:
    profile = None
    if PROFILE:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    sampler = None
    if SAMPLE:
        from layers import LayerSampler

        sampler = LayerSampler()
        sampler.start()
    server, cpu, wall = process_cpu(SERVER_PID), time.process_time(), time.perf_counter()
    ops = await work()
    result = {"seconds": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
              **server_since(server), "ops": ops}
    if sampler is not None:
        result["layers"] = sampler.stop()
    if profile is not None:
        profile.disable()
        assert PROFILE is not None
        profile.dump_stats(str(Path(PROFILE) / f"{label}.prof"))
    return result


async def unary(driver: Driver, count: int, inflight: int) -> int:
    async def worker(calls: int) -> None:
        for _ in range(calls):
            await driver.write()

    share, extra = divmod(count, inflight)
    await asyncio.gather(*(worker(share + (i < extra)) for i in range(inflight)))
    return count


async def stream(driver: Driver, count: int, rss: list[int] | None = None) -> int:
    """`count` events of the neutral server; RSS sampled into `rss` at each tenth."""
    received = 0
    every = max(1, count // 10)
    async for _ in driver.events(f"events:{count}"):
        received += 1
        if rss is not None and received % every == 0:
            rss.append(rss_kib())
    if received != count:
        raise RuntimeError(f"{received} of {count} events")
    return received


async def stream_for(driver: Driver, session_id: str, skip: float, seconds: float
                     ) -> dict[str, Any]:
    """Events of a live session for `seconds`, after `skip` seconds of its backlog."""
    events = driver.events(session_id)
    loop = asyncio.get_running_loop()
    start = loop.time() + skip
    end = start + seconds
    received, cpu, wall, server = 0, 0.0, 0.0, (0.0, 0.0)
    async for _ in events:
        now = loop.time()
        if now >= end:
            break
        if now >= start:
            if not received:
                server = process_cpu(SERVER_PID)
                cpu, wall = time.process_time(), time.perf_counter()
            received += 1
    result = {"seconds": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
              **server_since(server), "ops": received}
    await events.aclose()  # type: ignore[attr-defined]
    if not received:
        raise RuntimeError("no event arrived")
    return result


async def run_workload(driver: Driver, work: dict[str, Any]) -> dict[str, Any]:
    """One workload, on the session and handles of the spec or of its own `target`."""
    driver.retarget(work.get("target", {}))
    name, label = work["name"], work.get("label", work["name"])
    if name == "unary":
        await unary(driver, work["warmup"], work["inflight"])
        return await measured(lambda: unary(driver, work["count"], work["inflight"]), label)
    if name == "events":
        await stream(driver, work["warmup"])
        samples = [rss_kib()]
        result = await measured(lambda: stream(driver, work["count"], samples), label)
        result.update(rss_samples_kib=samples,
                      peak_rss_kib=rss_kib("VmHWM"))
        return result
    if name == "events_for":
        return await stream_for(driver, work["session"], work["skip"], work["seconds"])
    if name == "bulk":
        items = bulk_items(work["entries"], driver.spec.get("handles"))

        async def round_trips() -> int:
            for _ in range(work["rounds"]):
                if await driver.write_bulk(items) != len(items):
                    raise RuntimeError("wrong result count")
            return int(work["rounds"])

        if work.get("warmup", True):
            await driver.write_bulk(items)
        return await measured(round_trips, label)
    raise ValueError(f"unknown workload {name!r}")


def driver_for(spec: dict[str, Any]) -> Any:
    """The driver of `spec["stack"]`: mxgw, grpcio, or bench/floor.py's minimal client
    ("floor": with our codec, "floor-raw": with none)."""
    stack = spec["stack"]
    if stack == "mxgw":
        return MxgwDriver(spec)
    if stack == "grpcio":
        return GrpcioDriver(spec)
    from floor import FloorDriver

    return FloorDriver(spec, codec=stack == "floor")


async def main(spec: dict[str, Any]) -> None:
    global PROFILE, SAMPLE, SERVER_PID
    SERVER_PID, PROFILE = spec.get("server_pid"), spec.get("profile")
    SAMPLE = bool(spec.get("sample"))
    driver: Driver = driver_for(spec)
    await driver.connect()
    try:
        for work in spec["workloads"]:
            result = await run_workload(driver, work)
            print(json.dumps({"workload": work.get("label", work["name"]), **result}),
                  flush=True)
    finally:
        await driver.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
