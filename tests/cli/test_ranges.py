"""Numbers out of range on the command line exit 2 before anything is sent."""

from __future__ import annotations

import pytest

from .conftest import Cli, Opened


@pytest.mark.parametrize("args", [
    ["set-buffered-update-interval", "--server-handle", "1", "--interval-ms", "4294967796"],
    ["set-buffered-update-interval", "--server-handle", "1", "--interval-ms", "0"],
    ["write", "--server-handle", "1", "--item-handle", "2147483648", "--value", "1"],
    ["write", "--server-handle", "1", "--item-handle", "1", "--type", "duration",
     "--value", "1e30s"],
    ["write", "--server-handle", "1", "--item-handle", "1", "--type", "int32",
     "--value", "4294967296"],
    ["write", "--server-handle", "1", "--item-handle", "1", "--value", "1", "--timeout", "inf"],
    ["write", "--server-handle", "1", "--item-handle", "1", "--value", "1", "--timeout", "nan"],
    ["write", "--server-handle", "1", "--item-handle", "1", "--value", "1", "--timeout", "-1"],
    ["stream-events", "--timeout", "nan"],
    ["read-bulk", "--server-handle", "1", "--items", "A.B", "--timeout-ms", "-5"],
])
async def test_out_of_range_numbers_exit_2(cli: Cli, opened: Opened, args: list[str]) -> None:
    run = await cli(args[0], "--session-id", opened.session_id, *args[1:])
    assert run.code == 2, run.out + run.err
    assert run.json["category"] in ("usage", "configuration", "value"), run.json
