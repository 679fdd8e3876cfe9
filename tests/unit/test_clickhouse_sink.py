"""The ClickHouse sinks' pure part: what a batch becomes (blocks, their rows
and deduplication tokens). The tokens are kept in ClickHouse's deduplication
windows, so their text is pinned: a token that changed across an upgrade
would store a retried block twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiokafka import TopicPartition

from streams.clickhouse.bundle import encode_bundle, encode_row
from streams.clickhouse.client import OffLoopStore, Store
from streams.clickhouse.sink import Block, Table, offset_ranges
from streams.deadletters.sink import _token as dead_letters_token
from streams.identity.graph import Change, Decision, Evidence, Link, Reason
from streams.identity.log import Applied
from streams.identity.sink import IdentitySink
from streams.journeys.sink import JourneySink
from streams.runtime.batch_consumer import Batch
from streams.store.stage import _token as touchpoints_token
from tests.examples import record

TOPIC = "cx.touchpoints"


@pytest.fixture
def unused() -> Iterator[OffLoopStore]:
    """A store the pure part never reaches (it is never connected)."""
    lane = OffLoopStore(Store("chdb:///nowhere", "nothing"))
    yield lane
    lane._thread.shutdown()


def bundle(rows: int) -> bytes:
    return encode_bundle([(encode_row([f"e{i}"]), encode_row([i, "x"])) for i in range(rows)])


def batch() -> Batch:
    return {
        TopicPartition(TOPIC, 3): [record(TOPIC, bundle(2), 7, 3), record(TOPIC, bundle(1), 9, 3)],
        TopicPartition(TOPIC, 1): [record(TOPIC, bundle(1), 12, 1)],
    }


def test_a_block_counts_its_rows() -> None:
    table = Table("t")
    assert Block(table, b"[1]\n[2]\n[3]", "t", None).count == 3
    assert Block(table, b"", "t", None).count == 0
    assert Block(table, {"a": [1, 2], "b": [3, 4]}, "t", None).count == 2
    assert Block(table, {}, "t", None).count == 0


def test_offset_ranges_name_each_partition_sorted() -> None:
    assert offset_ranges(batch()) == ["1:12-12", "3:7-9"]
    assert offset_ranges(batch(), topic=True) == [f"{TOPIC}:1:12-12", f"{TOPIC}:3:7-9"]


def test_the_touchpoints_token_is_unchanged() -> None:
    assert touchpoints_token(batch(), ["e1", "e0", "b"]) == (
        "touchpoints:573adabf6995aeafa265b201e7b507b0ce69c4ac3f98e055b76c3f1217c4e788"
    )


def test_the_dead_letters_token_is_unchanged() -> None:
    fresh = [(None, 2, 40), (None, 2, 41)]  # the letters themselves do not count
    assert dead_letters_token(fresh) == (  # type: ignore[arg-type]
        "deadletters:e0976691da9ffc1d6b36a7173b4487e97bfb197e4e44cc2eb690b0d50696f4f3"
    )


def test_journey_bundles_become_one_block(unused: OffLoopStore) -> None:
    sink = JourneySink(unused)
    with_empty = batch()
    with_empty[TopicPartition(TOPIC, 3)].append(record(TOPIC, encode_bundle([]), 10, 3))
    (block,) = asyncio.run(sink.write(with_empty))
    assert block.table.name == "journeys" and block.table.isolate
    assert block.token == "journeys:1:12-12;3:7-10"
    assert block.rows == b'[0,"x"]\n[1,"x"]\n[0,"x"]\n[0,"x"]'
    assert block.count == 4


def test_journey_bundles_without_rows_write_nothing(unused: OffLoopStore) -> None:
    sink = JourneySink(unused)
    empty = {TopicPartition(TOPIC, 0): [record(TOPIC, encode_bundle([]), 5)]}
    assert asyncio.run(sink.write(empty)) == []
    assert asyncio.run(sink.handle(empty)) is None  # nothing to wait for: committed as is


def applied(offset: int, *, links: int, keys: int) -> Applied:
    evidence = Evidence(f"ev-{offset}", 1_795_000_000_000, "web", ("email:a", "phone:b"))
    link = Link(
        Decision.LINKED, Reason.SEEN_TOGETHER, "phone:b", "email:a", "k1", "k2", "", "ev", 0, "web"
    )
    return offset, evidence, Change([link] * links, [], [("phone:b", "k2")] * keys)


async def crash(exc: BaseException) -> None:
    raise AssertionError("not reached")


def test_identity_decisions_become_links_map_and_position(unused: OffLoopStore) -> None:
    recorder = IdentitySink(unused, crash)
    recorder.through = 4
    items = [applied(4, links=1, keys=1), applied(5, links=2, keys=0), applied(7, links=0, keys=1)]
    blocks = asyncio.run(recorder.write(items))
    assert [(b.table.name, b.token, b.count, b.extra) for b in blocks] == [
        ("identity_links", "links:5-7", 2, None),
        ("identity_map", "map:5-7", 1, None),
        ("sink_positions", "position:identity:7", 1, 7),
    ]
    assert blocks[-1].rows == {"sink": ["identity"], "position": [7]}


def test_identity_decisions_without_links_record_the_position_alone(
    unused: OffLoopStore,
) -> None:
    recorder = IdentitySink(unused, crash)
    recorder.through = 4
    assert asyncio.run(recorder.write([applied(3, links=1, keys=1)])) == []  # recorded before
    (block,) = asyncio.run(recorder.write([applied(6, links=0, keys=0)]))
    assert (block.table.name, block.token) == ("sink_positions", "position:identity:6")
