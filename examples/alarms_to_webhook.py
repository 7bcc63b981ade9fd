"""Post every alarm transition (raise, acknowledge, clear, retrigger) to a webhook.

    python examples/alarms_to_webhook.py --url http://alerts.plant:8080/mxgw
    python examples/alarms_to_webhook.py --url https://chat.example/hook --prefix 'Galaxy!Line1'

Each change of the gateway's active alarm set becomes one HTTP POST of a JSON object:

    {"kind": "RAISE", "reference": "Galaxy!Plant.TestMachine_001.TestAlarm001",
     "state": "ACTIVE", "severity": 500, "synthetic": false, "at": "2026-...", ...}

`state` is the alarm's state after the change (`INACTIVE` once cleared). The alarm view
(`client.alarm_view()`) reconnects after a lost connection and compares the new snapshot
with what it had: what changed meanwhile is posted as `"synthetic": true` changes, so the
receiver misses no raise or clear and sees none twice. A post that fails (the receiver
down, a non-2xx answer) is retried with backoff, in order: alarms are never dropped
while it runs. What changed while it was not running is not replayed (the gateway keeps
no alarm history for it): `--post-active` posts the active set at start, kind `ACTIVE`.

The HTTP client is a few lines of asyncio streams (HTTP/1.1, one connection per post,
`https://` with the system's CA roots): no thread, nothing blocking the event loop, no
dependency beyond mxgw.

The gateway comes from the environment: MXGATEWAY_ENDPOINT, MXGATEWAY_API_KEY (scope
events:read), and MXGATEWAY_CA_FILE or MXGATEWAY_PLAINTEXT=1 (see examples/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import ssl
import sys
import urllib.parse
from typing import Any

from mxgw import AlarmChange, AlarmView, GatewayClient, MxGatewayError, pb

log = logging.getLogger("alarms_to_webhook")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Post alarm transitions to a webhook.")
    parser.add_argument("--url", required=True, help="http:// or https:// URL to POST to")
    parser.add_argument("--prefix", default="",
                        help="only alarms whose reference starts with this (e.g. "
                             "'Galaxy!Line1'); default: all")
    parser.add_argument("--max-changes", type=int, default=0,
                        help="stop after posting this many (default 0: run until stopped)")
    parser.add_argument("--post-active", action="store_true",
                        help="first post each alarm active at start, as kind ACTIVE")
    parser.add_argument("--post-timeout", type=float, default=10.0,
                        help="seconds for one POST: connect, send, answer (default: 10)")
    args = parser.parse_args(argv)
    args.target = urllib.parse.urlsplit(args.url)
    if args.target.scheme not in ("http", "https") or not args.target.hostname:
        parser.error(f"--url must be an http:// or https:// URL, got {args.url!r}")
    return args


# ---------------------------------------------------------------------- the HTTP client

class WebhookError(Exception):
    """The receiver could not be reached, or did not answer 2xx."""


async def post_json(url: urllib.parse.SplitResult, payload: dict[str, Any],
                    timeout: float) -> int:
    """POST `payload` as JSON; the HTTP status. Raises WebhookError unless it is 2xx."""
    body = json.dumps(payload, default=str).encode()
    https = url.scheme == "https"
    host = url.hostname or ""
    port = url.port or (443 if https else 80)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    head = (f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Content-Type: application/json\r\nUser-Agent: mxgw-alarms-to-webhook\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")

    async def exchange() -> int:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=ssl.create_default_context() if https else None)
        try:
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
            status_line = await reader.readline()  # b"HTTP/1.1 204 No Content\r\n"
            parts = status_line.split()
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
                raise WebhookError(f"not an HTTP answer: {status_line[:80]!r}")
            return int(parts[1])  # the rest (headers, body) is not needed: we close
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass  # the receiver may reset the connection after answering

    try:
        status = await asyncio.wait_for(exchange(), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        raise WebhookError(f"{url.netloc}: {exc or type(exc).__name__}") from None
    if not 200 <= status < 300:
        raise WebhookError(f"{url.netloc} answered HTTP {status}")
    return status


async def deliver(url: urllib.parse.SplitResult, payload: dict[str, Any], timeout: float,
                  stopping: asyncio.Event) -> bool:
    """Post until it is accepted: at once, then after 1, 2, 4... up to 60 s. False if
    the program is stopped first."""
    delay = 1.0
    while True:
        try:
            await post_json(url, payload, timeout)
            return True
        except WebhookError as exc:
            log.warning("posting %s %s failed (%s); again in %.0f s", payload["kind"],
                        payload["reference"], exc, delay)
        try:  # the backoff, cut short by SIGTERM
            await asyncio.wait_for(stopping.wait(), delay)
            return False
        except asyncio.TimeoutError:
            delay = min(delay * 2, 60.0)


# ---------------------------------------------------------------------- the alarms

def payload_of(change: AlarmChange) -> dict[str, Any]:
    """What the receiver gets for one change: the transition, and the state it leaves."""
    t = change.transition
    after = change.after
    return {
        "kind": change.kind.name,  # RAISE, ACKNOWLEDGE, CLEAR, RETRIGGER
        "reference": change.reference,
        "state": after.current_state.name if after is not None else "INACTIVE",
        "severity": t.severity,
        "source": t.source_object_reference,
        "type": t.alarm_type_name,
        "operator": t.operator_user,
        "comment": t.operator_comment,
        "raised_at": t.original_raise_timestamp,
        "at": t.transition_timestamp,
        "synthetic": change.synthetic,  # made up from two snapshots after a reconnect
    }


def active_payload(alarm: pb.ActiveAlarmSnapshot) -> dict[str, Any]:
    """What the receiver gets for an alarm already active at start (--post-active)."""
    return {"kind": "ACTIVE", "reference": alarm.alarm_full_reference,
            "state": alarm.current_state.name, "severity": alarm.severity,
            "source": alarm.source_object_reference, "type": alarm.alarm_type_name,
            "operator": "", "comment": alarm.operator_comment, "raised_at": None,
            "at": alarm.last_transition_timestamp, "synthetic": False}


def stop_on_signals(view: AlarmView) -> tuple[asyncio.Event, set[asyncio.Task[None]]]:
    """SIGTERM and SIGINT close the view (the `async for` over it ends at once) and cut
    a retry's backoff short."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    closing: set[asyncio.Task[None]] = set()  # hold the task: the loop keeps weak refs

    def stop() -> None:
        log.info("stopping")
        stopping.set()
        closing.add(loop.create_task(view.aclose()))

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    return stopping, closing


async def forward(args: argparse.Namespace) -> int:
    posted = 0
    async with GatewayClient.connect() as client:  # MXGATEWAY_ENDPOINT, _API_KEY, ...
        # Reconnect forever: a forwarder should outlast any gateway outage.
        async with client.alarm_view(args.prefix, max_reconnect_attempts=None) as view:
            stopping, closing = stop_on_signals(view)
            provider = view.provider.mode.name if view.provider else "unknown"
            log.info("watching %d active alarms (provider %s); posting to %s",
                     len(view.active), provider, args.url)
            # Changes while this program was not running are not replayed by the gateway:
            # --post-active sends the active set first, so the receiver can catch up.
            start = [active_payload(a) for a in view.by_urgency()] if args.post_active else []
            for payload in start:
                if not await deliver(args.target, payload, args.post_timeout, stopping):
                    break
            async for change in view:
                if not await deliver(args.target, payload_of(change), args.post_timeout,
                                     stopping):
                    log.warning("stopped before %s %s was posted", change.kind.name,
                                change.reference)
                    break
                posted += 1
                log.info("posted %s %s", change.kind.name, change.reference)
                if posted == args.max_changes:
                    break
            await asyncio.gather(*closing)
    log.info("stopped after %d posts", posted)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(forward(args))
    except MxGatewayError as exc:
        log.error("%s: %s", type(exc).__name__, exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())

