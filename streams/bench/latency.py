"""Event-to-queryable latency at a fixed offered rate.

Events are sent at a steady rate (in 10 ms ticks) to a running worker; each
valid event's send time is kept. ClickHouse stamps every touchpoint row with
`stored_at` (server clock, when the insert ran: from then on it is in the
table and in the metric views fed by it). Latency is `stored_at` minus the
send time, on the same machine's clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from streams.generator import GeneratedRecord
from streams.kafka import producer_for
from streams.settings import Settings
from streams.store.clickhouse import Store
from streams.topics import Topics

TICK_S = 0.01


async def send_paced(
    settings: Settings, records: Sequence[GeneratedRecord], rate: float
) -> dict[str, int]:
    """Send `records` in order at `rate` per second; returns the send time
    (epoch ms) of each valid event's first delivery, by event id."""
    topics = Topics(settings.topic_prefix)
    producer = producer_for(settings, linger_ms=1)
    await producer.start()
    sent_at: dict[str, int] = {}
    pending = []
    try:
        started = time.monotonic()
        sent = 0
        while sent < len(records):
            due = min(len(records), int((time.monotonic() - started) * rate) + 1)
            now_ms = time.time_ns() // 1_000_000
            for record in records[sent:due]:
                pending.append(
                    await producer.send(
                        topics.channel(record.channel), record.value, key=record.key
                    )
                )
                if record.truth.kind == "valid" and record.truth.event_id is not None:
                    sent_at.setdefault(record.truth.event_id, now_ms)
            sent = due
            await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent_at


def stored_at(settings: Settings) -> dict[str, int]:
    """When each stored touchpoint was inserted (epoch ms), by event id. Reads
    the store directly: with the embedded engine, after the worker exited."""
    store = Store(settings.clickhouse_url, settings.database)
    try:
        return {str(event_id): int(ms) for event_id, ms in store.query("stored_at_by_event")}
    finally:
        store.close()


def latency_summary(sent_at: dict[str, int], stored: dict[str, int]) -> dict[str, Any]:
    """p50, p99 and max of stored - sent over the events of `sent_at`
    (milliseconds); events not stored are counted, not guessed."""
    delays = sorted(stored[e] - at for e, at in sent_at.items() if e in stored)
    if not delays:
        return {"events": 0, "missing": len(sent_at)}

    def quantile(q: float) -> int:
        return delays[min(len(delays) - 1, int(q * len(delays)))]

    return {
        "events": len(delays),
        "missing": len(sent_at) - len(delays),
        "p50_ms": quantile(0.50),
        "p99_ms": quantile(0.99),
        "max_ms": delays[-1],
    }
