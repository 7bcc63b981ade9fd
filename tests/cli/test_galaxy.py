"""The galaxy-* subcommands against the simulated Galaxy Repository."""

from __future__ import annotations

import pytest

from mxgw.sim import SimServer

from .conftest import Cli


async def test_test_connection_answers_ok_or_not(cli: Cli, sim: SimServer) -> None:
    assert (await cli("galaxy-test-connection")).json == {"ok": True}
    sim.galaxy_service.database_online = False
    run = await cli("galaxy-test-connection")
    assert run.code == 0 and run.json == {"ok": False}
    text = await cli("galaxy-test-connection", json=False)
    assert text.out.startswith("FAILED")


async def test_last_deploy_prints_the_deploy_time(cli: Cli) -> None:
    reply = (await cli("galaxy-last-deploy")).json
    assert reply["timeOfLastDeployPresent"] is True
    assert reply["timeOfLastDeploy"].endswith("Z")


async def test_discover_applies_filters_and_prints_one_array(cli: Cli) -> None:
    objects = (await cli("galaxy-discover", "--tag-name-glob", "testmachine_00*",
                         "--no-attributes")).json
    assert [o["tagName"] for o in objects] == [f"TestMachine_00{n}" for n in range(1, 7)]
    assert all(o["attributes"] == [] for o in objects)
    one = (await cli("galaxy-discover", "--root-tag-name", "TestMachine_002",
                     "--max-depth", "0")).json
    assert [o["tagName"] for o in one] == ["TestMachine_002"]
    refs = {a["fullTagReference"] for a in one[0]["attributes"]}
    assert "TestMachine_002.TestChangingInt" in refs and "TestMachine_002.TestIntArray[]" in refs
    historized = (await cli("galaxy-discover", "--historized-only", "--tag-name-glob",
                            "TestMachine_001")).json
    assert [o["tagName"] for o in historized] == ["TestMachine_001"]
    areas = (await cli("galaxy-discover", "--category-ids", "13", "--no-attributes")).json
    assert areas and all(o["isArea"] for o in areas)
    none = await cli("galaxy-discover", "--tag-name-glob", "NoSuchThing*")
    assert none.code == 0 and none.json == []


async def test_discover_jsonl_pages_through_everything(cli: Cli) -> None:
    whole = (await cli("galaxy-discover", "--no-attributes")).json
    paged = (await cli("galaxy-discover", "--no-attributes", "--page-size", "7", "--jsonl",
                       json=False)).lines
    assert [o["gobjectId"] for o in paged] == [o["gobjectId"] for o in whole]
    assert len({o["gobjectId"] for o in whole}) == len(whole) > 7


async def test_discover_with_two_roots_is_a_usage_error(cli: Cli) -> None:
    run = await cli("galaxy-discover", "--root-tag-name", "A", "--root-gobject-id", "3")
    assert run.code == 2 and "at most one" in run.json["error"]


async def test_browse_lists_children(cli: Cli) -> None:
    roots = (await cli("galaxy-browse", "--no-attributes")).json
    assert roots and all(o["parentGobjectId"] == 0 for o in roots)


async def test_watch_prints_the_current_deploy_then_each_redeploy(
        cli: Cli, sim: SimServer) -> None:
    first = await cli("galaxy-watch", "--max-events", "1", json=True)
    (event,) = first.lines
    assert event["timeOfLastDeployPresent"] is True and int(event["sequence"]) >= 1
    sim.redeploy()
    again = (await cli("galaxy-watch", "--max-events", "1")).lines
    assert int(again[0]["sequence"]) > int(event["sequence"])
    assert again[0]["timeOfLastDeploy"] != event["timeOfLastDeploy"]


@pytest.mark.parametrize("command", ["stream-events", "galaxy-discover", "galaxy-watch",
                                     "stream-alarms"])
async def test_every_streaming_command_takes_jsonl(cli: Cli, command: str) -> None:
    run = await cli(command, "--help", json=False)
    assert run.code == 0 and "--jsonl" in run.out, run.out + run.err


async def test_watch_jsonl_prints_one_object_per_deploy(cli: Cli) -> None:
    run = await cli("galaxy-watch", "--max-events", "1", "--jsonl", json=False)
    assert run.code == 0, run.err
    (event,) = run.lines
    assert int(event["sequence"]) >= 1


async def test_discover_text_indents_children_under_their_parents(cli: Cli) -> None:
    run = await cli("galaxy-discover", "--root-tag-name", "TestMachine_001", "--max-depth", "1",
                    json=False)
    lines = run.out.splitlines()
    assert lines[0].startswith("TestMachine_001  (category 10  $TestMachine)")
    assert "    TestMachine_001.TestChangingInt  Integer historized" in lines
    child = next(line for line in lines if "TestChildObject  " in line)
    assert child.startswith("  TestChildObject") and child.endswith("TestMachine_001.TestChild")
