"""The batch loop under rebalances, on a real broker: members join and leave
mid-stream and every record is still handled exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from streams.dev.broker import LocalBroker
from streams.runtime.batch_consumer import Batch, BatchConsumer, StatelessHandler, Write
from streams.runtime.kafka import consumer_for, ensure_topics, producer_for
from streams.runtime.settings import Settings
from tests.integration.harness import isolated_settings


class Recorder(StatelessHandler):
    """A handler that remembers what it was given, with writes slow enough
    that rebalances land while batches are handled and written."""

    def __init__(self, name: str, handled: list[tuple[int, int, str]]) -> None:
        self.name = name
        self.handled = handled

    async def handle(self, batch: Batch) -> Write:
        await asyncio.sleep(0.01)
        for tp, records in batch.items():
            self.handled.extend((tp.partition, r.offset, self.name) for r in records)
        return asyncio.sleep(0.03)  # the write: committed once it is done


async def produce_until(settings: Settings, topic: str, stop: asyncio.Event) -> int:
    """Keep writing while members come and go; returns how many were sent."""
    producer = producer_for(settings)
    await producer.start()
    sent = 0
    try:
        while not stop.is_set():
            sends = [
                await producer.send(topic, b"x", key=str(sent + i).encode()) for i in range(50)
            ]
            await asyncio.gather(*sends)
            sent += len(sends)
            await asyncio.sleep(0.02)
    finally:
        await producer.stop()
    return sent


async def wait_for(condition, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out (the calling line says waiting for what)"
        await asyncio.sleep(0.05)


def test_members_joining_and_leaving_handle_each_record_once(
    broker: LocalBroker, tmp_path: Path
) -> None:
    asyncio.run(members_join_and_leave(isolated_settings(broker, tmp_path)))


async def members_join_and_leave(settings: Settings) -> None:
    topic, group = f"{settings.topic_prefix}rebalance", f"{settings.app_id}.rebalance"
    await ensure_topics(settings, {topic: 4})
    handled: list[tuple[int, int, str]] = []

    def member(name: str) -> BatchConsumer:
        return BatchConsumer(
            name,
            consumer_for(settings, group),
            [topic],
            Recorder(name, handled),
            max_records=50,
            max_wait_ms=20,
        )

    def by(name: str) -> int:
        return sum(who == name for *_, who in handled)

    stop = asyncio.Event()
    producing = asyncio.create_task(produce_until(settings, topic, stop))
    a = member("a")
    await a.start()
    await wait_for(lambda: len(handled) > 400)
    b = member("b")
    await b.start()  # a rebalance while a is busy
    await wait_for(lambda: by("b") > 200)
    await a.stop()  # and another: b takes every partition
    await wait_for(lambda: {p for p, _, who in handled if who == "b"} == {0, 1, 2, 3})
    stop.set()
    sent = await producing
    await wait_for(lambda: len({(p, o) for p, o, _ in handled}) >= sent)
    await asyncio.sleep(1)  # anything handled twice would show up by now
    await b.stop()

    times = Counter((p, o) for p, o, _ in handled)
    assert len(times) == sent
    assert [key for key, n in times.items() if n > 1] == []
    by_member = {name: {p for p, _, who in handled if who == name} for name in "ab"}
    assert by_member["a"] and by_member["b"]
    assert by_member["a"] & by_member["b"]  # partitions changed hands
