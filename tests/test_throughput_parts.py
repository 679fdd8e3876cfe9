"""The pieces the hot path's speed rests on: bundles on the internal topics
(real broker), their codecs, and the garbage-collection tuning and watch."""

from __future__ import annotations

import asyncio
import gc
import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from streams import gc_watch
from streams.devbroker import LocalBroker
from streams.journeys.steps import Step, decode_keyed_steps, encode_keyed_steps
from streams.kafka import consumer_for, group_by_partition, produce_bundles, producer_for
from streams.topics import Topics
from tests.conftest import isolated_settings


def test_keyed_steps_round_trip_exactly() -> None:
    one = Step("e1", 10, "web", "page_view", "awareness", session_id="s1")
    two = Step("e2", 20, "store", "pos_purchase", "purchase", revenue=12.5, currency="EUR")
    items = [("customer_id:C1", [one]), ("phone_hash:p", [one, two]), ("anonymous_id:a", [])]
    assert decode_keyed_steps(encode_keyed_steps(items)) == items
    assert isinstance(decode_keyed_steps(encode_keyed_steps(items))[1][1][1].revenue, float)


@pytest.mark.integration
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


@pytest.fixture
def watched() -> Iterator[gc_watch.GcWatch]:
    before = gc.get_threshold()
    watch = gc_watch.GcWatch().install()
    try:
        yield watch
    finally:
        watch.uninstall()
        gc.set_threshold(*before)
        gc.unfreeze()


def test_gc_watch_times_collections_and_tune_sets_the_young_threshold(
    watched: gc_watch.GcWatch,
) -> None:
    gc.collect(0)
    gc.collect()
    assert watched.collections[0] >= 1 and watched.collections[2] >= 1
    assert watched.as_dict()["longest_pause_ms"] >= 0
    assert watched.total_s[2] > 0
    gc_watch.tune(watched, 123_456)
    assert gc.get_threshold()[0] == 123_456
    assert gc.get_freeze_count() > 0
    assert watched.collections == [0, 0, 0]  # start-up's full collection is not counted


def test_what_survives_a_young_collection_is_frozen_and_garbage_is_not(
    watched: gc_watch.GcWatch,
) -> None:
    watched.freeze_survivors = True
    gc.unfreeze()
    gc.collect()
    frozen_before = gc.get_freeze_count()
    kept = [[i] for i in range(1000)]
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle  # unreachable: the young collection frees it before freezing
    assert gc.collect(0) >= 1
    assert gc.get_freeze_count() >= frozen_before + len(kept)
    assert gc.get_count()[1] == 0  # nothing left for the older generations to walk
