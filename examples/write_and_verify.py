"""Write a value, wait for MXAccess to say how the write went, and read it back.

    python examples/write_and_verify.py TestMachine_001.TestInt 42
    python examples/write_and_verify.py TestMachine_001.TestString "hello" --type string
    python examples/write_and_verify.py TestMachine_001.TestInt 42 --json

A write's reply only says that MXAccess took it. The outcome arrives later, as an
OnWriteComplete event for the item: its statuses say whether it worked (a Pending status
first is normal; an error category such as SecurityError or OperationalError means it
failed). Only then is reading the value back meaningful. MXAccess also refuses writes to
an item whose first value has not arrived yet, so the item is advised and its first data
change awaited before writing.

Prints what happened (or one JSON object with --json) and exits 0 when the write
completed and the value read back equals the one written, 1 otherwise.

The gateway comes from the environment: MXGATEWAY_ENDPOINT, MXGATEWAY_API_KEY, and
MXGATEWAY_CA_FILE or MXGATEWAY_PLAINTEXT=1 (see examples/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from mxgw import (
    EventStream,
    GatewayClient,
    MxGatewayError,
    describe_status,
    from_mx_value,
    is_error_status,
    pb,
)

PARSERS: dict[str, Any] = {
    "int32": int, "int64": int, "float": float, "double": float, "string": str,
    "bool": lambda text: text.strip().lower() in ("1", "true", "on", "yes"),
}
"""How a --type's value is read from the command line (mxgw sends each as that type)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write a value, wait for its OnWriteComplete, read it back.")
    parser.add_argument("tag", help="the tag address, e.g. TestMachine_001.TestInt")
    parser.add_argument("value", help="the value to write")
    parser.add_argument("--type", default="int32", choices=sorted(PARSERS),
                        help="the value's type on the wire (default: int32)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for the first value and for the write's "
                             "completion (default: 30)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        args.parsed = PARSERS[args.type](args.value)
    except ValueError:
        parser.error(f"{args.value!r} is not a {args.type}")
    return args


async def next_event_for(events: EventStream, item: int, family: str) -> pb.MxEvent:
    """The next event of `item` that has the payload `family` (the others are skipped)."""
    async for event in events:
        if event.item_handle == item and getattr(event, family) is not None:
            return event
    raise RuntimeError("the event stream ended")


async def write_and_verify(args: argparse.Namespace) -> dict[str, Any]:
    async with GatewayClient.connect() as client:  # MXGATEWAY_ENDPOINT, _API_KEY, ...
        async with await client.open_session("write-and-verify") as session:
            server = await session.register("write-and-verify")
            item = await session.add_item(server, args.tag)
            await session.advise(server, item)
            async with session.events() as events:
                # 1. The first value: before it MXAccess refuses the write (E_INVALIDARG).
                first = await asyncio.wait_for(
                    next_event_for(events, item, "on_data_change"), args.timeout)
                assert first.on_data_change is not None
                if first.on_data_change.quality & 0xC0 != 0xC0:  # OPC DA: not Good
                    raise SystemExit(f"write_and_verify: {args.tag} has no good value "
                                     f"(quality {first.on_data_change.quality}): is the "
                                     "address right, is its object deployed?")
                before = first.on_data_change.value
                # 2. The write: the reply means "taken", not "done".
                await session.write(server, item, args.parsed, type_name=args.type)
                # 3. Its outcome. Pending is transitory: wait on for the final one.
                statuses: list[pb.MxStatusProxy] = []
                while not statuses or all(
                        s.category == pb.MxStatusCategory.PENDING for s in statuses):
                    done = await asyncio.wait_for(
                        next_event_for(events, item, "on_write_complete"), args.timeout)
                    assert done.on_write_complete is not None
                    statuses = done.on_write_complete.statuses
            failed = [s for s in statuses if is_error_status(s)]
            # 4. Read it back: the gateway's value now, not an event we may have missed.
            [read] = await session.read_bulk(server, [args.tag], timeout_ms=2000)
            await session.remove_item(server, item)
    read_back = from_mx_value(read.value) if read.value is not None else None
    return {
        "tag": args.tag,
        "before": from_mx_value(before) if before is not None else None,
        "written": args.parsed,
        "write_complete": "failed" if failed else "ok",
        "statuses": [describe_status(s) for s in statuses],
        "read_back": read_back,
        "read_quality": read.quality,
        "verified": not failed and read.was_successful and read_back == args.parsed,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = asyncio.run(write_and_verify(args))
    except (MxGatewayError, asyncio.TimeoutError) as exc:
        # MxAccessError, say, for a write refused at once: an unknown tag, no first value.
        print(f"write_and_verify: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print(f"{result['tag']}: {result['before']!r} -> wrote {result['written']!r}")
        print(f"OnWriteComplete: {result['write_complete']} ({'; '.join(result['statuses'])})")
        print(f"read back: {result['read_back']!r} (quality {result['read_quality']})")
        print("verified" if result["verified"] else "NOT verified")
    return 0 if result["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
