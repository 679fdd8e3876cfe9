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

from streams.clickhouse.client import Store
from streams.dev.generator import GeneratedRecord
from streams.runtime.kafka import Message, produce_all, producer_for
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics

TICK_S = 0.01
_NO_HEADERS: list[tuple[str, bytes]] = []  # aiokafka's batch builder takes a list


async def send_paced(
    settings: Settings, records: Sequence[GeneratedRecord], rate: float
) -> dict[str, int]:
    """Send `records` in order at `rate` per second; returns the send time
    (epoch ms) of each valid event's first delivery, by event id: when it
    was handed to this client, whose queue counts in the latency.

    Every tick, a topic's due records go out as one record batch per
    partition, one produce in flight per topic; those due meanwhile wait for
    the next. (Woken for every record and sending each with `producer.send`,
    the sender took 0.9 of a core at 5,600 records/s, from the worker being
    measured on a 2-core machine; this way, 0.2.)"""
    topics = Topics(settings.topic_prefix)
    producer = producer_for(settings, linger_ms=1)
    await producer.start()
    sent_at: dict[str, int] = {}
    waiting: dict[str, list[Message]] = {}
    in_flight: dict[str, asyncio.Future[list[tuple[int, int]]]] = {}

    def send_waiting() -> None:
        for topic, messages in waiting.items():
            busy = in_flight.get(topic)
            if messages and (busy is None or busy.done()):
                if busy is not None:
                    busy.result()  # a failed produce fails the run
                in_flight[topic] = asyncio.ensure_future(produce_all(producer, topic, messages))
                waiting[topic] = []

    try:
        started = time.monotonic()
        sent = 0
        while sent < len(records):
            due = min(len(records), int((time.monotonic() - started) * rate) + 1)
            now_ms = time.time_ns() // 1_000_000
            for record in records[sent:due]:
                topic = topics.channel(record.channel)
                waiting.setdefault(topic, []).append((record.key, record.value, _NO_HEADERS))
                if record.truth.kind == "valid" and record.truth.event_id is not None:
                    sent_at.setdefault(record.truth.event_id, now_ms)
            send_waiting()
            sent = due
            elapsed = time.monotonic() - started
            await asyncio.sleep((int(elapsed / TICK_S) + 1) * TICK_S - elapsed)
        send_waiting()
        while any(waiting.values()):
            # Each topic still waiting has its produce under way (else
            # send_waiting would have sent it).
            busy = [produce for produce in in_flight.values() if not produce.done()]
            await asyncio.wait(busy, return_when=asyncio.FIRST_COMPLETED)
            send_waiting()
        await asyncio.gather(*in_flight.values())
    finally:
        await producer.stop()
    return sent_at


def stored_at(settings: Settings) -> dict[str, int]:
    """When each stored touchpoint was inserted (epoch ms), by event id. Reads
    the store directly: with the embedded engine, after the worker exited."""
    store = Store.of(settings)
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
