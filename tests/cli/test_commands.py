"""Every session subcommand against the simulated gateway, checked through its JSON."""

from __future__ import annotations

import pytest

from .conftest import Cli, Opened

TAG = "TestMachine_001.TestChangingInt"


def ok(reply: dict[str, object], kind: str) -> None:
    assert reply["kind"] == f"MX_COMMAND_KIND_{kind}"
    assert reply["protocolStatus"] == {"code": "PROTOCOL_STATUS_CODE_OK", "message": ""}


async def add(cli: Cli, opened: Opened, tag: str = TAG) -> int:
    run = await cli("add-item", "--session-id", opened.session_id, "--server-handle",
                    str(opened.server_handle), "--item", tag)
    assert run.code == 0, run.out
    handle: int = run.json["addItem"]["itemHandle"]
    return handle


async def events(cli: Cli, opened: Opened, family: str, item: int, count: int = 1
                 ) -> list[dict[str, object]]:
    run = await cli("stream-events", "--session-id", opened.session_id, "--family", family,
                    "--item-handle", str(item), "--max-events", str(count), "--timeout", "10")
    assert run.code == 0, run.out + run.err
    found: list[dict[str, object]] = run.json
    assert len(found) == count, found
    return found


async def advised(cli: Cli, opened: Opened, tag: str = TAG) -> int:
    """An item added, advised, with its first data change seen (so it can be written)."""
    item = await add(cli, opened, tag)
    run = await cli("advise", "--session-id", opened.session_id, "--server-handle",
                    str(opened.server_handle), "--item-handle", str(item))
    ok(run.json, "ADVISE")
    await events(cli, opened, "ON_DATA_CHANGE", item)
    return item


async def test_version_prints_name_and_version(cli: Cli) -> None:
    run = await cli("version", connect=False)
    assert run.code == 0 and run.json["name"] == "mxgw" and run.json["version"]


async def test_open_session_prints_the_upstream_reply_fields(cli: Cli) -> None:
    reply = (await cli("open-session", "--client-session-name", "upstream-alias")).json
    assert reply["sessionId"].startswith("session-")
    assert reply["backendName"] == "mxaccess-worker"
    assert reply["gatewayProtocolVersion"] == 3 and reply["workerProtocolVersion"] == 1
    assert reply["protocolStatus"]["code"] == "PROTOCOL_STATUS_CODE_OK"


async def test_register_and_add_items_print_their_handles(cli: Cli, opened: Opened) -> None:
    assert opened.server_handle > 0
    s, h = ["--session-id", opened.session_id], ["--server-handle", str(opened.server_handle)]
    first = await add(cli, opened)
    second = (await cli("add-item2", *s, *h, "--item", "TestChildObject.TestInt",
                        "--context", "ctx")).json
    ok(second, "ADD_ITEM2")
    buffered = (await cli("add-buffered-item", *s, *h, "--item", TAG)).json
    ok(buffered, "ADD_BUFFERED_ITEM")
    handles = {first, second["addItem2"]["itemHandle"],
               buffered["addBufferedItem"]["itemHandle"]}
    assert len(handles) == 3 and all(x > 0 for x in handles)
    interval = (await cli("set-buffered-update-interval", *s, *h, "--interval-ms", "250")).json
    ok(interval, "SET_BUFFERED_UPDATE_INTERVAL")


async def test_advise_then_stream_events_prints_the_item_value(cli: Cli, opened: Opened) -> None:
    item = await add(cli, opened)
    await cli("advise", "--session-id", opened.session_id, "--server-handle",
              str(opened.server_handle), "--item-handle", str(item))
    (event,) = await events(cli, opened, "ON_DATA_CHANGE", item)
    assert event["family"] == "MX_EVENT_FAMILY_ON_DATA_CHANGE"
    assert event["itemHandle"] == item and event["serverHandle"] == opened.server_handle
    change = event["onDataChange"]
    assert isinstance(change, dict) and change["quality"] == 192
    assert isinstance(change["value"]["int32Value"], int)


async def test_write_reports_on_write_complete(cli: Cli, opened: Opened) -> None:
    item = await advised(cli, opened)
    base = ["--session-id", opened.session_id, "--server-handle", str(opened.server_handle),
            "--item-handle", str(item)]
    ok((await cli("write", *base, "--type", "int32", "--value", "123")).json, "WRITE")
    (done,) = await events(cli, opened, "ON_WRITE_COMPLETE", item)
    statuses = done["onWriteComplete"]["statuses"]  # type: ignore[index]
    assert [s["category"] for s in statuses] == ["MX_STATUS_CATEGORY_OK"]
    ok((await cli("write2", *base, "--value-type", "int32", "--value", "7",
                  "--timestamp", "2026-01-02T03:04:05Z")).json, "WRITE2")
    await events(cli, opened, "ON_WRITE_COMPLETE", item)


async def test_secured_writes_with_authenticated_users(cli: Cli, opened: Opened) -> None:
    s, h = ["--session-id", opened.session_id], ["--server-handle", str(opened.server_handle)]
    user = (await cli("authenticate-user", *s, *h, "--user-name", "operator",
                      "--password", "operator")).json
    ok(user, "AUTHENTICATE_USER")
    current = user["authenticateUser"]["userId"]
    guid = (await cli("archestra-user-to-id", *s, *h, "--user-guid",
                      "00000000-0000-0000-0000-000000000102")).json
    verifier = guid["archestraUserToId"]["userId"]
    assert current > 0 and verifier > 0 and current != verifier
    item = await advised(cli, opened, "TestMachine_002.VerifiedSetpoint")
    base = [*s, *h, "--item-handle", str(item), "--type", "double", "--value", "2.5",
            "--current-user-id", str(current), "--verifier-user-id", str(verifier)]
    ok((await cli("write-secured", *base)).json, "WRITE_SECURED")
    (done,) = await events(cli, opened, "ON_WRITE_COMPLETE", item)
    assert done["onWriteComplete"]["statuses"][0]["category"] == (  # type: ignore[index]
        "MX_STATUS_CATEGORY_OK")
    ok((await cli("write-secured2", *base, "--timestamp", "now")).json, "WRITE_SECURED2")
    await events(cli, opened, "ON_WRITE_COMPLETE", item)


async def test_item_lifecycle_commands(cli: Cli, opened: Opened) -> None:
    item = await add(cli, opened)
    base = ["--session-id", opened.session_id, "--server-handle", str(opened.server_handle),
            "--item-handle", str(item)]
    for name, kind in (("advise-supervisory", "ADVISE_SUPERVISORY"), ("suspend", "SUSPEND"),
                       ("activate", "ACTIVATE"), ("unadvise", "UN_ADVISE"),
                       ("remove-item", "REMOVE_ITEM")):
        run = await cli(name, *base)
        assert run.code == 0, run.out
        ok(run.json, kind)
    run = await cli("unregister", "--session-id", opened.session_id, "--server-handle",
                    str(opened.server_handle))
    ok(run.json, "UNREGISTER")


async def test_bulk_family(cli: Cli, opened: Opened) -> None:
    s, h = ["--session-id", opened.session_id], ["--server-handle", str(opened.server_handle)]
    tags = ["TestMachine_003.TestInt", "TestMachine_003.TestDouble"]
    added = (await cli("add-item-bulk", *s, *h, "--items", ",".join(tags))).json
    assert [r["tagAddress"] for r in added] == tags
    assert all(r["wasSuccessful"] for r in added)
    handles = ",".join(str(r["itemHandle"]) for r in added)
    advised = (await cli("advise-item-bulk", *s, *h, "--item-handles", handles)).json
    assert [r["wasSuccessful"] for r in advised] == [True, True]
    first = added[0]["itemHandle"]
    await events(cli, opened, "ON_DATA_CHANGE", first)
    await events(cli, opened, "ON_DATA_CHANGE", added[1]["itemHandle"])
    for name, extra in (("write-bulk", []), ("write2-bulk", ["--timestamp", "now"])):
        results = (await cli(name, *s, *h, "--item-handles", handles, "--type", "int32",
                             "--values", "5,6", *extra)).json
        assert [r["itemHandle"] for r in results] == [r["itemHandle"] for r in added]
        assert all(r["wasSuccessful"] for r in results), results
    secured = ["--current-user-id", "101"]
    for name, extra in (("write-secured-bulk", []),
                        ("write-secured2-bulk", ["--timestamp", "2026-01-02T03:04:05+01:00"])):
        results = (await cli(name, *s, *h, "--item-handles", str(first), "--type", "int32",
                             "--values", "[9]", *secured, *extra)).json
        assert [r["wasSuccessful"] for r in results] == [True], results
    reads = (await cli("read-bulk", *s, *h, "--items",
                       "TestMachine_003.TestInt,TestMachine_004.TestInt", "--timeout-ms",
                       "5000")).json
    assert [(r["tagAddress"], r["wasSuccessful"], r["wasCached"]) for r in reads] == [
        ("TestMachine_003.TestInt", True, True), ("TestMachine_004.TestInt", True, False)]
    assert all(r["value"]["dataType"] == "MX_DATA_TYPE_INTEGER" for r in reads)
    for name in ("unadvise-item-bulk", "remove-item-bulk"):
        results = (await cli(name, *s, *h, "--item-handles", handles)).json
        assert [r["wasSuccessful"] for r in results] == [True, True], (name, results)
    subscribed = (await cli("subscribe-bulk", *s, *h, "--tags", ",".join(tags))).json
    assert all(r["wasSuccessful"] and r["itemHandle"] > 0 for r in subscribed)
    gone = (await cli("unsubscribe-bulk", *s, *h, "--item-handles",
                      ",".join(str(r["itemHandle"]) for r in subscribed))).json
    assert [r["wasSuccessful"] for r in gone] == [True, True]


async def test_a_bulk_with_an_invalid_handle_reports_that_entry(cli: Cli, opened: Opened) -> None:
    item = await add(cli, opened)
    results = (await cli("advise-item-bulk", "--session-id", opened.session_id,
                         "--server-handle", str(opened.server_handle), "--item-handles",
                         f"{item},424242")).json
    assert [r["wasSuccessful"] for r in results] == [True, False]
    assert results[1]["errorMessage"]


async def test_close_session_then_commands_fail_with_session_not_found(
        cli: Cli, opened: Opened) -> None:
    closed = await cli("close-session", "--session-id", opened.session_id)
    assert closed.json["finalState"] == "SESSION_STATE_CLOSED"
    again = await cli("close-session", "--session-id", opened.session_id)
    assert again.code == 0, "closing is idempotent"
    run = await cli("register", "--session-id", opened.session_id)
    assert run.code == 5
    assert run.json["code"] == "PROTOCOL_STATUS_CODE_SESSION_NOT_FOUND"


@pytest.mark.parametrize(("type_name", "value"), [
    ("int32", "abc"), ("int32", "2147483648"), ("int64", "1.5"), ("bool", "maybe"),
    ("double", "nan"), ("float", "1e39"), ("datetime", "2026-01-02T03:04:05"),
    ("datetime", "yesterday"), ("duration", "soon"), ("bytes-hex", "zz"), ("int32[]", "1,x"),
    ("complex", "1"),
])
async def test_a_value_that_does_not_fit_exits_2_before_connecting(
        type_name: str, value: str) -> None:
    from .conftest import run_cli_inprocess

    # Port 1 has no gateway: a connection attempt would exit 3, a sent command 4 or 5.
    run = await run_cli_inprocess(
        "write", "--endpoint", "127.0.0.1:1", "--plaintext", "--session-id", "session-x",
        "--server-handle", "1", "--item-handle", "1", "--type", type_name, "--value", value,
        "--json")
    assert run.code == 2, run.out
    assert run.json["category"] in ("value", "usage") and run.json["error"]


async def test_array_and_typed_values_are_written(cli: Cli, opened: Opened) -> None:
    s, h = ["--session-id", opened.session_id], ["--server-handle", str(opened.server_handle)]
    cases = [("TestMachine_005.TestIntArray[]", "int32[]", "[1, 2, 3]"),
             ("TestMachine_005.TestString", "string", "a,b"),
             ("TestMachine_005.TestBool", "bool", "TRUE"),
             ("TestMachine_005.TestTime", "datetime", "2026-01-02T03:04:05Z")]
    for tag, type_name, value in cases:
        item = await advised(cli, opened, tag)
        run = await cli("write", *s, *h, "--item-handle", str(item), "--type", type_name,
                        "--value", value)
        assert run.code == 0, (tag, run.out)
        (done,) = await events(cli, opened, "ON_WRITE_COMPLETE", item)
        assert done["onWriteComplete"]["statuses"][0]["category"] == (  # type: ignore[index]
            "MX_STATUS_CATEGORY_OK"), (tag, done)


async def test_writing_before_the_first_value_is_an_mxaccess_failure(
        cli: Cli, opened: Opened) -> None:
    item = await add(cli, opened, "TestMachine_006.TestInt")
    run = await cli("write", "--session-id", opened.session_id, "--server-handle",
                    str(opened.server_handle), "--item-handle", str(item), "--type", "int32",
                    "--value", "1")
    assert run.code == 6
    envelope = run.json
    assert envelope["category"] == "mxaccess"
    assert envelope["hresult"] == -2147024809  # E_INVALIDARG
    assert envelope["reply"]["kind"] == "MX_COMMAND_KIND_WRITE"
