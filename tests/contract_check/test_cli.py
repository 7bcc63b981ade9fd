"""`mxgw contract-check`: text and JSON, the exit codes, and `--write-protos` giving files
tools/gen.py generates from."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ..cli.conftest import Run, run_cli_inprocess
from ..conftest import ROOT, TEST_KEY, run_cli
from ..variants import PROTOS
from .conftest import EVENT, Started


async def _check(start: Started, *args: str, variant: str | None = None,
                 reflection: bool = True, json: bool = True) -> Run:
    sim, _ = await start(variant, reflection=reflection)
    argv = ["contract-check", "--endpoint", sim.endpoint, "--plaintext", "--api-key", TEST_KEY,
            "--max-events", "1", *args]
    return await run_cli_inprocess(*argv, *(["--json"] if json else []))


async def test_our_simulator_matches_and_exits_0(start: Started) -> None:
    run = await _check(start, json=False)
    assert run.code == 0, run.out + run.err
    assert "reflection  v1: 4 services, 7 files\n  no difference from ours" in run.out
    assert "  no drift seen" in run.out
    assert run.out.rstrip().endswith("result      matches our contract (exit 0)")


@pytest.mark.parametrize("reflection", [True, False], ids=["reflection", "wire-only"])
async def test_a_variant_exits_9_and_names_the_difference(start: Started,
                                                          reflection: bool) -> None:
    run = await _check(start, variant="extra-field", reflection=reflection)
    assert run.code == 9, run.out + run.err
    report = run.json
    assert report["differs"] is True and report["exitCode"] == 9
    (seen,) = report["wire"]["observations"]
    assert seen["text"].startswith(f"{EVENT}: unknown field 40 (length-delimited), sample "
                                   "'variant'")
    differences = report["reflection"]["differences"]
    if reflection:
        assert [d["text"] for d in differences] == [
            f"{EVENT}.site_name: only at the gateway (string site_name = 40)"]
    else:
        assert report["reflection"]["served"] == "not served" and differences == []
    text = await _check(start, variant="extra-field", reflection=reflection, json=False)
    assert text.code == 9
    assert "result      differs from our contract (exit 9)" in text.out


async def test_the_test_item_comes_from_the_environment(
        start: Started, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MXGATEWAY_TEST_ITEM", "TestMachine_002.TestChangingInt")
    run = await _check(start, "--no-reflection")
    assert run.code == 0 and run.json["item"] == "TestMachine_002.TestChangingInt"
    assert run.json["reflection"]["served"] == "not asked"


async def test_usage_errors_send_nothing(start: Started) -> None:
    other = await _check(start, "--allow-write", "TestMachine_001.TestInt")
    assert other.code == 2 and "only to the test item" in other.json["error"]
    both = await _check(start, "--no-reflection", "--reflection-only")
    assert both.code == 2 and both.json["category"] == "usage"


async def test_reflection_only_fails_without_reflection(start: Started) -> None:
    run = await _check(start, "--reflection-only", reflection=False)
    assert run.code == 4, run.out
    assert run.json["code"] == "UNIMPLEMENTED"
    ok = await _check(start, "--reflection-only")
    assert ok.code == 0 and ok.json["wire"]["ran"] is False


async def test_written_protos_regenerate_with_tools_gen(start: Started, tmp_path: Path) -> None:
    """The gateway's own files (a variant's here) come out as .proto text that
    tools/gen.py turns into the package, its extra field included."""
    into = tmp_path / "gateway-protos"
    run = await _check(start, "--write-protos", str(into), "--reflection-only",
                       variant="extra-field")
    assert run.code == 9
    assert sorted(Path(p).name for p in run.json["protosWritten"]) == [
        "galaxy_repository.proto", "mxaccess_gateway.proto"]
    assert "  string site_name = 40;" in (into / "mxaccess_gateway.proto").read_text()
    # as a user would: the gateway's files in place of ours, the reflection protocol kept
    protos = tmp_path / "protos"
    shutil.copytree(PROTOS / "grpc", protos / "grpc")
    for path in into.glob("*.proto"):
        shutil.copy(path, protos / path.name)
    out = tmp_path / "_proto"
    gen = await asyncio.to_thread(
        subprocess.run, [sys.executable, "tools/gen.py", "--protos", str(protos),
                         "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
        timeout=180)
    assert gen.returncode == 0, gen.stderr
    generated = (out / "mxaccess_gateway" / "v1" / "__init__.py").read_text()
    assert "site_name" in generated and "class MxEvent(" in generated


async def _sim_process(*flags: str) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mxgw.cli", "sim", "--port", "0", "--plaintext", "--json",
        "--first-value-delay", "0.02", *flags, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None
    announced = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
    return process, announced


@pytest.mark.skipif(sys.platform == "win32", reason="stops the simulator by SIGTERM")
@pytest.mark.parametrize("variant", [None, "renumbered"])
async def test_mxgw_sim_with_a_variant_contract(variant_sets: dict[str, bytes], tmp_path: Path,
                                                variant: str | None) -> None:
    """As a user would try it: `mxgw sim` (with `--variant-contract FILE`, without
    reflection) in one process, `mxgw contract-check` in another."""
    flags: list[str] = []
    if variant is not None:
        (tmp_path / "variant.bin").write_bytes(variant_sets[variant])
        flags = ["--variant-contract", str(tmp_path / "variant.bin"), "--no-reflection"]
    process, announced = await _sim_process(*flags)
    try:
        result = await asyncio.to_thread(
            run_cli, "contract-check", "--endpoint", announced["endpoint"], "--plaintext",
            "--max-events", "1", "--json", env={"MXGATEWAY_API_KEY": announced["apiKey"]})
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    report = json.loads(result.stdout)
    if variant is None:
        assert result.returncode == 0, result.stdout + result.stderr
        assert report["reflection"]["served"] == "v1" and not report["differs"]
        return
    assert result.returncode == 9, result.stdout + result.stderr
    assert report["reflection"]["served"] == "not served"
    (seen,) = report["wire"]["observations"]
    assert seen["text"].startswith(f"{EVENT}: unknown field 41 (varint), sample 1, seen ")


async def test_a_variant_that_is_not_a_descriptor_set_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "junk.bin").write_bytes(b"\x0a\x05ab")
    run = await run_cli_inprocess("sim", "--port", "0", "--plaintext",
                                  "--variant-contract", str(tmp_path / "junk.bin"))
    assert run.code == 2 and "not a FileDescriptorSet" in run.err
    run = await run_cli_inprocess("sim", "--port", "0", "--plaintext",
                                  "--variant-contract", str(tmp_path / "missing.bin"))
    assert run.code == 2 and "cannot read" in run.err
