"""A long-running forwarder that survives lost connections and gateway restarts.

    python examples/durable_service.py --output /var/lib/mxgw-forwarder/events.jsonl \\
        TestMachine_001.TestChangingInt TestMachine_001.TestInt

Appends one JSON line per data change to --output, and one line per marker:
`{"marker": "session_replaced", ...}` when the gateway lost the session (it restarted,
say) and a new one took over, `{"marker": "events_lost", ...}` when events were lost in
a long outage. After either marker each tag's current value follows, so a consumer of
the file always ends up with the current values.

It runs until stopped: SIGTERM (what systemd, docker and kill send) or SIGINT closes the
gateway session and exits 0. A gateway that cannot be reached, at start or later, is
retried forever with backoff; a wrong key or scope (retrying cannot cure it) exits 2,
which `RestartPreventExitStatus=2` in mxgw-forwarder.service keeps systemd from
restarting in a loop; anything unexpected exits 1 and systemd restarts it.

The gateway comes from the environment: MXGATEWAY_ENDPOINT, MXGATEWAY_API_KEY, and
MXGATEWAY_CA_FILE or MXGATEWAY_PLAINTEXT=1 (see examples/README.md and the unit file).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from mxgw import (
    ConfigurationError,
    DurableSession,
    EventsLost,
    GatewayClient,
    MxGatewayError,
    PermissionDeniedError,
    SessionReplaced,
    UnauthenticatedError,
    from_mx_value,
)

log = logging.getLogger("mxgw-forwarder")

EXIT_CONFIG = 2
"""A mistake a restart cannot fix (bad flags, key, scope): systemd should not retry."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Forward data changes to a JSON-lines file, through gateway restarts.")
    parser.add_argument("tags", nargs="+", metavar="TAG", help="tag addresses to forward")
    parser.add_argument("--output", required=True, type=Path,
                        help="the JSON-lines file to append to")
    parser.add_argument("--client-name", default="mxgw-forwarder",
                        help="the session and registration name the gateway shows")
    parser.add_argument("--max-backoff", type=float, default=10.0,
                        help="longest wait between reconnect attempts, in seconds")
    return parser.parse_args(argv)


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def append(out: TextIO, record: dict[str, Any]) -> None:
    """One line per record, flushed at once: a `tail -f` or a log shipper sees it now."""
    out.write(json.dumps(record, default=str) + "\n")
    out.flush()


class Stopper:
    """SIGTERM (systemd, docker, kill) and SIGINT stop the service cleanly.

    Once the durable session is open, a signal closes it from a task of its own: that
    ends the `async for` over its events at once, wherever it waits (even in a backoff),
    and closes the gateway session. Before (the gateway still unreachable at start), it
    cancels the start-up."""

    def __init__(self) -> None:
        self.durable: DurableSession | None = None
        self.requested = False
        self.closing: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs
        self._main = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop, signum)

    def stop(self, signum: int) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        self.requested = True
        if self.durable is not None:
            self.closing.add(asyncio.get_running_loop().create_task(self.durable.close()))
        elif self._main is not None:
            self._main.cancel()


async def serve(args: argparse.Namespace, out: TextIO) -> None:
    stopper = Stopper()
    async with GatewayClient.connect(eager=False) as client:  # MXGATEWAY_*; first call connects
        # A durable session: after a lost connection its stream resumes, after a lost
        # session (gateway restart) it opens a new one and replays the subscriptions.
        # `max_attempts=None`: retry forever, as a service should.
        durable = await client.durable_session(args.client_name, max_attempts=None,
                                               max_backoff=args.max_backoff)
        stopper.durable = durable
        async with durable:
            tags: dict[int, str] = {}
            try:
                # Commands are not retried: if the gateway goes away right now, this
                # raises, the service exits 1 and systemd starts it again.
                server = await durable.register(args.client_name)
                for result in await durable.subscribe_bulk(server, args.tags):
                    if result.was_successful:
                        tags[result.item_handle] = result.tag_address  # valid for good
                    else:
                        log.error("%s: not subscribed (%s)", result.tag_address,
                                  result.error_message)
            except (MxGatewayError, ConfigurationError):
                if stopper.requested:  # stopped while setting up: let the close finish
                    await asyncio.gather(*stopper.closing)
                    return
                raise
            log.info("forwarding %d tags in session %s", len(tags), durable.id)
            async with durable.events() as events:
                async for event in events:
                    if isinstance(event, SessionReplaced):
                        log.warning("session replaced: %s -> %s after event %d (%s)",
                                    event.old_session_id, event.new_session_id,
                                    event.last_sequence, event.reason)
                        append(out, {"marker": "session_replaced", "at": now(),
                                     "old_session_id": event.old_session_id,
                                     "new_session_id": event.new_session_id,
                                     "last_sequence": event.last_sequence,
                                     "reason": event.reason})
                    elif isinstance(event, EventsLost):
                        log.warning("events lost after %d", event.after_sequence)
                        append(out, {"marker": "events_lost", "at": now(),
                                     "session_id": event.session_id,
                                     "after_sequence": event.after_sequence,
                                     "oldest_available": event.oldest_available})
                    elif event.on_data_change is not None and event.item_handle in tags:
                        change = event.on_data_change
                        value = from_mx_value(change.value) if change.value is not None else None
                        append(out, {"session_id": event.session_id,
                                     "sequence": event.worker_sequence,
                                     "tag": tags[event.item_handle], "value": value,
                                     "quality": change.quality,
                                     "source_timestamp": change.source_timestamp})
        await asyncio.gather(*stopper.closing)
        log.info("stopped; health at the end: %s", json.dumps(durable.health().as_dict(),
                                                                 default=str))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # journald timestamps each line itself: level and logger are enough.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    try:
        with args.output.open("a", encoding="utf-8") as out:
            asyncio.run(serve(args, out))
    except asyncio.CancelledError:  # stopped before the first session was open
        log.info("stopped")
    except (ConfigurationError, UnauthenticatedError, PermissionDeniedError) as exc:
        log.error("%s (not retried: fix the configuration)", exc)
        return EXIT_CONFIG
    except (MxGatewayError, OSError) as exc:
        log.error("%s: %s", type(exc).__name__, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
