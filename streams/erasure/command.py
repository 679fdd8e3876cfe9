"""`cx erase`: forget a person everywhere, and wait until it is done.

The request goes on the erasures topic (the record of it, and how other
systems ask too). A worker on this machine carries it out and is asked how
it went (`GET /erasures`); with none, this command carries it out itself,
on the same code (a worker reading the request later finds it complete).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import click
import orjson

from streams.runtime.settings import Settings, load_settings

POLL_S = 0.5


@click.command("erase")
@click.argument("identifiers", nargs=-1, required=True)
@click.option(
    "--suppress/--no-suppress",
    default=None,
    help="drop the person's later events, or take them as a new person "
    "(default: CX_ERASURE_SUPPRESS)",
)
@click.option("--wait", "wait_s", default=300.0, show_default=True, help="seconds to wait")
@click.option("--json", "as_json", is_flag=True, help="print the audit records as JSON")
def erase(
    identifiers: tuple[str, ...], suppress: bool | None, wait_s: float, as_json: bool
) -> None:
    """Erase the person each IDENTIFIER belongs to (TYPE:VALUE as `cx
    journey` takes it; give every identifier you know of one person) from
    ClickHouse, the journey state, the identity graph and the deduplication
    memory; returns once complete. One request per identifier."""
    from streams.erasure.request import new_request
    from streams.reports.person import BadIdentifier, lookup_pseudonymizer, parse_identifier

    settings = load_settings()
    pseudonymizer = lookup_pseudonymizer(settings)
    try:
        stored = [parse_identifier(text, pseudonymizer) for text in identifiers]
    except BadIdentifier as exc:
        raise click.UsageError(str(exc)) from exc
    requests = [new_request(identifier, suppress) for identifier in stored]
    audits = asyncio.run(_erase(settings, requests, wait_s))
    if as_json:
        click.echo(orjson.dumps(audits, option=orjson.OPT_INDENT_2).decode())
    else:
        for audit in audits:
            click.echo(describe(audit))
    if any(audit.get("status") != "complete" for audit in audits):
        raise SystemExit(1)


def describe(audit: dict[str, Any]) -> str:
    """One line for a person: what happened to the request."""
    status = str(audit.get("status"))
    if status != "complete":
        reason = audit.get("reason")
        return f"erasure {audit['request_id']}: {status}" + (f": {reason}" if reason else "")
    removed = {t: n for t, n in sorted(audit.get("removed", {}).items()) if n}
    rows = ", ".join(f"{t} {n}" for t, n in removed.items()) or "none"
    took = (audit["completed_at_ms"] - audit["requested_at_ms"]) / 1000
    return f"erased: request {audit['request_id']} in {took:.1f} s; rows removed: {rows}"


async def _erase(settings: Settings, requests: list[Any], wait_s: float) -> list[dict[str, Any]]:
    from streams.erasure.request import HEADERS, encode_request
    from streams.reports.ask_worker import ask_worker
    from streams.runtime.kafka import producer_for, stop_within
    from streams.runtime.net import is_listening
    from streams.runtime.topics import Topics
    from streams.runtime.web_token import bearer

    topic = Topics(settings.topic_prefix).erasures
    producer = producer_for(settings)
    try:
        await asyncio.wait_for(producer.start(), 15)
        for request in requests:
            await producer.send_and_wait(
                topic, encode_request(request), key=request.request_id.encode(), headers=HEADERS
            )
    except Exception as exc:
        raise click.ClickException(
            f"could not send the request to {topic} at {settings.broker_url} "
            f"({type(exc).__name__}): start the broker or set CX_BROKER_URL"
        ) from exc
    finally:
        await stop_within(producer)
    if not is_listening(settings.web_host, settings.web_port):
        return await _here(settings, requests)
    deadline = time.monotonic() + wait_s
    audits: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and len(audits) < len(requests):
        for request in requests:
            if request.request_id in audits:
                continue
            asked = await asyncio.to_thread(
                ask_worker,
                settings.web_host,
                settings.web_port,
                "/erasures",
                {"request_id": request.request_id},
                bearer(settings.web_token),
            )
            if asked and asked.get("status") not in ("pending", "running"):
                audits[request.request_id] = dict(asked)
        await asyncio.sleep(POLL_S)
    late = {"status": f"not complete after {wait_s:g} s"}
    return [audits.get(r.request_id, {"request_id": r.request_id, **late}) for r in requests]


async def _here(settings: Settings, requests: list[Any]) -> list[dict[str, Any]]:
    """Carry the requests out in this process (no worker runs here)."""
    from streams.clickhouse.client import OffLoopStore, Store
    from streams.clickhouse.migrate import migrate
    from streams.erasure.eraser import Eraser
    from streams.reports.person import lookup_pseudonymizer
    from streams.runtime.kafka import producer_for, stop_within
    from streams.runtime.topics import Topics

    store = OffLoopStore(Store.of(settings))
    producer = producer_for(settings)
    await producer.start()
    try:
        await store.run("migrate", migrate)
        eraser = Eraser(
            store,
            producer,
            Topics(settings.topic_prefix),
            lookup_pseudonymizer(settings),
            settings.erasure_suppress,
            settle_s=0.0,
        )
        return [audit.as_dict() for audit in await eraser.erase_all(requests)]
    finally:
        await stop_within(producer)
        await store.close()
