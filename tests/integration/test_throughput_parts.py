"""The pieces the hot path's speed rests on: bundles on the internal topics
(real broker), their codecs, and the garbage-collection tuning and watch."""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

import orjson

from streams.dev.broker import LocalBroker
from streams.runtime.kafka import consumer_for, produce_bundles, producer_for
from streams.runtime.partitioning import group_by_partition
from streams.runtime.topics import Topics
from tests.integration.harness import isolated_settings


def test_bundles_route_by_key_keep_order_and_split(broker: LocalBroker, tmp_path: Path) -> None:
    settings = isolated_settings(broker, tmp_path)
    topic = Topics(settings.topic_prefix).journey_steps  # internal_partitions (4)
    items = [(f"k{i % 37}".encode(), i) for i in range(2500)]

    async def run() -> dict[int, list[list[int]]]:
        producer = producer_for(settings)
        await producer.start()
        try:
            grouped = group_by_partition(items, 4)
            await produce_bundles(
                producer, topic, grouped, orjson.dumps, [("cx.format", b"test")], per_record=100
            )
        finally:
            await producer.stop()
        consumer = consumer_for(settings, None)
        consumer.subscribe([topic])
        await consumer.start()
        try:
            got: dict[int, list[list[int]]] = {}
            while sum(len(b) for bundles in got.values() for b in bundles) < len(items):
                for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                    got.setdefault(tp.partition, []).extend(orjson.loads(r.value) for r in records)
            return got
        finally:
            await consumer.stop()

    got = asyncio.run(run())
    for partition, bundles in got.items():
        assert all(len(bundle) <= 100 for bundle in bundles)
        values = [value for bundle in bundles for value in bundle]
        expected = [i for key, i in items if zlib.crc32(key) % 4 == partition]
        assert values == expected  # every item of the partition, once, in order
    assert sum(len(b) for bundles in got.values() for b in bundles) == len(items)
    assert sum(len(bundles) for bundles in got.values()) < len(items) / 50
