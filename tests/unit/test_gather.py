"""The ClickHouse sinks gather rows across batches and insert them as one
block per table: on size (the batch's write), at the batch consumer's flush
(its interval is the insert interval), never committing an offset before the
insert that covers it, and retrying an insert with the same block and token.
ClickHouse here is a fake `Store` behind the real `OffLoopStore` (its thread,
its retries, its counters); the batch consumer is the real one, over a fake
Kafka consumer."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition
from clickhouse_connect.driver.exceptions import OperationalError

from streams.clickhouse.bundle import encode_bundle, encode_row
from streams.clickhouse.client import OffLoopStore, Store, insert_settings
from streams.clickhouse.gather import Gathered, InsertLimits, merge
from streams.clickhouse.sink import Block, Table
from streams.deadletters.letter import encode_dead_letter
from streams.deadletters.sink import DeadLetterSink
from streams.journeys.sink import JourneySink
from streams.journeys.steps import KeyedSteps, Step
from streams.runtime.batch_consumer import Batch, BatchConsumer
from streams.runtime.handoff import Handoff
from streams.store.stage import StoreStage
from tests.examples import record

TOPIC = "cx.journey-rows"
TP0, TP1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


class FakeClickHouse(Store):
    """A `Store` that keeps what it is asked to insert (never connected).
    `failures` inserts fail first as if the server were unreachable;
    `refuse` rows are refused as wrong data; each insert takes `delay_s`."""

    def __init__(self, *, failures: int = 0, delay_s: float = 0.0) -> None:
        super().__init__("chdb:///nowhere", "fake")
        self.failures = failures
        self.delay_s = delay_s
        self.attempts: list[tuple[str, bytes | dict[str, list[Any]], str | None]] = []
        self.stored: list[tuple[str, bytes | dict[str, list[Any]], str | None]] = []
        self.events: list[str] = []
        """What happened, in order, as the sinks' fakes also note it."""

    def _insert(self, table: str, rows: bytes | dict[str, list[Any]], token: str | None) -> None:
        self.attempts.append((table, rows, token))
        if self.failures:
            self.failures -= 1
            raise OperationalError("connection reset")
        time.sleep(self.delay_s)
        self.stored.append((table, rows, token))
        self.events.append(f"insert {table}")

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: bytes, *, dedup_token: str | None
    ) -> None:
        self._insert(table, rows, dedup_token)

    def insert(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> None:
        self._insert(table, {name: list(values) for name, values in columns.items()}, dedup_token)

    def query(self, name: str, **params: Any) -> list[tuple[Any, ...]]:
        return []

    def stored_lines(self, table: str) -> list[bytes]:
        lines: list[bytes] = []
        for name, rows, _ in self.stored:
            if name == table and isinstance(rows, bytes):
                lines += rows.split(b"\n")
        return lines


@pytest.fixture
def clickhouse() -> Iterator[tuple[FakeClickHouse, OffLoopStore]]:
    fake = FakeClickHouse()
    lane = OffLoopStore(fake)
    yield fake, lane
    lane._thread.shutdown()


def journey_batch(offset: int, rows: int, tp: TopicPartition = TP0) -> Batch:
    """One journey-rows record of `rows` rows, each naming its record."""
    entries = [(encode_row([f"k{i}"]), encode_row([tp.partition, offset, i])) for i in range(rows)]
    return {tp: [record(tp.topic, encode_bundle(entries), offset, tp.partition)]}


def lines_of(*batches: Batch) -> list[bytes]:
    return [
        line
        for batch in batches
        for records in batch.values()
        for r in records
        for line in (r.value or b"").split(b"\n")[1:]
    ]


# --- the gathering itself --------------------------------------------------------


def test_blocks_of_one_table_merge_in_order_with_a_token_naming_theirs() -> None:
    table = Table("t")
    one, two = Block(table, b"[1]\n[2]", "a", None), Block(table, b"[3]", "b", None)
    merged = merge([one, two], None)
    assert (merged.rows, merged.count) == (b"[1]\n[2]\n[3]", 3)
    assert merged.token.startswith("t:2:") and merged.token == merge([one, two], None).token
    assert merge([two, one], None).token != merged.token  # order counts
    assert merge([one], None).token == "a"  # a single block keeps its token
    columns = merge(
        [Block(table, {"x": [1]}, "a", None), Block(table, {"x": [2, 3]}, "b", None)], 0
    )
    assert columns.rows == {"x": [1, 2, 3]} and columns.count == 3


def test_gathered_blocks_are_full_by_rows_or_bytes_and_taken_per_table() -> None:
    held: Gathered[None] = Gathered(InsertLimits(rows=4, bytes=1000))
    a, b = Table("a"), Table("b")
    held.add([Block(a, b"[1]\n[2]", "1", None), Block(b, b"[x]", "2", None)])
    assert held and not held.full and (held.rows, held.bytes) == (3, 10)
    held.add([Block(a, b"[3]", "3", None)])
    assert held.full
    taken = held.take(lambda extras: None)
    assert [(block.table.name, block.rows) for block in taken] == [
        ("a", b"[1]\n[2]\n[3]"),
        ("b", b"[x]"),
    ]
    assert not held and (held.rows, held.bytes) == (0, 0)
    held.add([Block(a, b"x" * 1000, "4", None)])
    assert held.full  # by bytes


def test_a_sink_inserts_on_size_as_the_batch_s_write(
    clickhouse: tuple[FakeClickHouse, OffLoopStore],
) -> None:
    fake, lane = clickhouse
    sink = JourneySink(lane, InsertLimits(rows=5))
    batches = [journey_batch(10, 2), journey_batch(11, 2, TP1), journey_batch(12, 2)]

    async def run() -> None:
        assert await sink.handle(batches[0]) is None
        assert await sink.handle(batches[1]) is None
        write = await sink.handle(batches[2])  # 6 rows held: at least 5
        assert write is not None and fake.stored == []
        await write

    asyncio.run(run())
    assert len(fake.stored) == 1  # three batches, one insert
    assert fake.stored_lines("journeys") == lines_of(*batches)
    assert (lane.inserts["journeys"], lane.inserted_rows["journeys"]) == (1, 6)


def test_a_sink_inserts_what_it_holds_at_flush_and_waits_for_inserts_under_way(
    clickhouse: tuple[FakeClickHouse, OffLoopStore],
) -> None:
    fake, lane = clickhouse
    fake.delay_s = 0.05
    sink = JourneySink(lane, InsertLimits(rows=3))

    async def run() -> None:
        under_way = await sink.handle(journey_batch(1, 3))  # full: inserting
        assert under_way is not None
        assert await sink.handle(journey_batch(2, 1)) is None  # held
        await sink.flush()  # inserts the held row and waits for both
        assert under_way.done() and len(fake.stored) == 2
        await sink.flush()  # nothing held: nothing inserted

    asyncio.run(run())
    assert [rows for _, rows, _ in fake.stored] == [
        b"\n".join(lines_of(journey_batch(1, 3))),
        b"\n".join(lines_of(journey_batch(2, 1))),
    ]


def test_a_failed_insert_under_way_fails_the_flush(
    clickhouse: tuple[FakeClickHouse, OffLoopStore],
) -> None:
    """The offsets of the batches it held are committed after the flush:
    the flush must not return as if they were stored."""
    _, lane = clickhouse
    sink = JourneySink(lane, InsertLimits(rows=1))

    async def refuse(blocks: Sequence[Block[None]]) -> None:
        raise RuntimeError("a bug")

    sink.insert = refuse  # type: ignore[method-assign]

    async def run() -> None:
        write = await sink.handle(journey_batch(1, 1))
        assert write is not None
        await asyncio.sleep(0)  # it fails before anyone awaits it
        with pytest.raises(RuntimeError, match="a bug"):
            await sink.flush()

    asyncio.run(run())


def test_a_retried_insert_sends_the_same_block_and_token() -> None:
    fake = FakeClickHouse(failures=2)
    lane = OffLoopStore(fake)
    sink = JourneySink(lane, InsertLimits(rows=10))

    async def run() -> None:
        for offset in range(3):
            assert await sink.handle(journey_batch(offset, 2)) is None
        await sink.flush()

    try:
        asyncio.run(run())
    finally:
        lane._thread.shutdown()
    assert len(fake.attempts) == 3 and len(fake.stored) == 1
    assert len({(rows, token) for _, rows, token in fake.attempts}) == 1  # the same each time
    (_, rows, token) = fake.stored[0]
    assert rows == b"\n".join(lines_of(*(journey_batch(o, 2) for o in range(3))))
    assert token is not None and token.startswith("journeys:3:")
    assert lane.inserts["journeys"] == 1  # one INSERT, whatever its retries


# --- the batch consumer drives it -------------------------------------------------


class FakeKafka:
    """Enough of an AIOKafkaConsumer for `BatchConsumer`: hands out scripted
    batches `spacing_s` apart and notes, at every commit, what ClickHouse
    held then."""

    def __init__(self, batches: list[Batch], spacing_s: float, clickhouse: FakeClickHouse) -> None:
        self.batches = list(batches)
        self.spacing_s = spacing_s
        self.clickhouse = clickhouse
        self.tps = sorted({tp for batch in batches for tp in batch})
        self.commits: list[tuple[dict[TopicPartition, int], set[bytes]]] = []
        self.committed_up_to: dict[TopicPartition, int] = {}
        self._next_at = 0.0
        self._listener: Any = None

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self._listener = listener

    async def start(self) -> None:
        await self._listener.on_partitions_assigned(self.tps)

    async def stop(self) -> None:
        pass

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0, **_: Any) -> Batch:
        now = time.monotonic()
        if self.batches and now >= self._next_at:
            self._next_at = now + self.spacing_s
            return self.batches.pop(0)
        await asyncio.sleep(min(timeout_ms / 1000, max(0.001, self._next_at - now)))
        return {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append((dict(offsets), set(self.clickhouse.stored_lines("journeys"))))
        self.committed_up_to.update(offsets)

    async def committed(self, tp: TopicPartition) -> int | None:
        return None

    def assignment(self) -> set[TopicPartition]:
        return set(self.tps)

    def highwater(self, tp: TopicPartition) -> int | None:
        return None


def drive(
    sink: JourneySink, fake: FakeClickHouse, batches: list[Batch], *, flush_s: float
) -> FakeKafka:
    """`batches` through a real batch consumer (50 ms apart) into `sink`,
    until every one is committed."""
    kafka = FakeKafka(batches, 0.05, fake)
    ends = {tp: records[-1].offset + 1 for batch in batches for tp, records in batch.items()}

    async def run() -> None:
        consumer = BatchConsumer(
            "journey-store",
            kafka,  # type: ignore[arg-type]
            [TOPIC],
            sink,
            max_records=1000,
            max_wait_ms=10,
            flush_interval_s=flush_s,
        )
        await consumer.start()
        deadline = time.monotonic() + 20
        while any(kafka.committed_up_to.get(tp) != n for tp, n in ends.items()):
            assert time.monotonic() < deadline, "not every batch was committed"
            await asyncio.sleep(0.02)
        await consumer.stop()

    asyncio.run(run())
    return kafka


def covered(kafka: FakeKafka, batches: list[Batch]) -> None:
    """At every commit, the rows of every record below the committed
    offsets were already in ClickHouse."""
    for offsets, stored in kafka.commits:
        for batch in batches:
            for tp, records in batch.items():
                for r in records:
                    if r.offset < offsets.get(tp, 0):
                        rows = set(lines_of({tp: [r]}))
                        assert rows <= stored, f"{tp} {r.offset} committed before its insert"


def test_the_consumer_s_flush_inserts_the_rows_of_many_batches_as_one() -> None:
    """On time: a flush every 0.4 s over batches 50 ms apart."""
    fake = FakeClickHouse(delay_s=0.02)
    lane = OffLoopStore(fake)
    batches = [journey_batch(offset, 3, (TP0, TP1)[offset % 2]) for offset in range(20)]
    try:
        kafka = drive(JourneySink(lane, InsertLimits(rows=10_000)), fake, batches, flush_s=0.4)
    finally:
        lane._thread.shutdown()
    assert sorted(fake.stored_lines("journeys")) == sorted(lines_of(*batches))
    assert 2 <= len(fake.stored) < len(batches) / 2, "one insert per 0.4 s, 20 batches in 1 s"
    assert max(rows.count(b"\n") + 1 for _, rows, _ in fake.stored if isinstance(rows, bytes)) >= 9
    covered(kafka, batches)


def test_offsets_are_committed_only_after_the_insert_covering_them() -> None:
    """On size, with slow inserts under way while batches come and flushes
    run: every commit finds its rows stored."""
    fake = FakeClickHouse(delay_s=0.08)
    lane = OffLoopStore(fake)
    batches = [journey_batch(offset, 2, (TP0, TP1)[offset % 2]) for offset in range(24)]
    try:
        kafka = drive(JourneySink(lane, InsertLimits(rows=5)), fake, batches, flush_s=0.15)
    finally:
        lane._thread.shutdown()
    assert sorted(fake.stored_lines("journeys")) == sorted(lines_of(*batches))
    assert len(kafka.commits) >= 3 and len(fake.stored) < len(batches)
    covered(kafka, batches)


# --- the sinks' own steps around a merged insert ----------------------------------


class Downstream:
    """The store stage's downstream, noting when it is used."""

    def __init__(self, clickhouse: FakeClickHouse) -> None:
        self.clickhouse = clickhouse
        self.steps: list[KeyedSteps] = []

    async def partitions(self) -> int:
        return 1

    async def send_steps(self, steps: Sequence[KeyedSteps]) -> None:
        self.steps += steps
        self.clickhouse.events.append(f"steps {len(steps)}")

    async def set_aside(self, letters: Sequence[Any]) -> None:
        raise AssertionError("nothing is refused here")


def touchpoint_batch(offset: int, event_ids: list[str]) -> Batch:
    tp = TopicPartition("cx.touchpoints", 0)
    entries = [
        (
            encode_row((event_id, 1_795_000_000_000, f"customer_id:{event_id}", step(event_id))),
            encode_row([event_id]),
        )
        for event_id in event_ids
    ]
    return {tp: [record(tp.topic, encode_bundle(entries), offset)]}


def step(event_id: str) -> tuple[Any, ...]:
    return tuple(Step(event_id, 1_795_000_000_000, "web", "page_view", "awareness"))


def test_the_store_sends_the_steps_of_a_merged_insert_just_before_it(
    clickhouse: tuple[FakeClickHouse, OffLoopStore],
) -> None:
    fake, lane = clickhouse
    downstream = Downstream(fake)
    stage = StoreStage(lane, downstream, capacity=1000, limits=InsertLimits(rows=100))

    async def run() -> None:
        assert await stage.handle(touchpoint_batch(1, ["a", "b"])) is None
        assert await stage.handle(touchpoint_batch(2, ["c", "a"])) is None  # a: a repeat
        assert fake.events == [] and stage.duplicates == 1
        await stage.flush()

    asyncio.run(run())
    assert fake.events == ["steps 3", "insert touchpoints"]
    assert [key for key, _ in downstream.steps] == [
        "customer_id:a",
        "customer_id:b",
        "customer_id:c",
    ]
    assert fake.stored_lines("touchpoints") == [b'["a"]', b'["b"]', b'["c"]']


def test_a_dead_letter_held_for_an_insert_is_not_held_twice(
    clickhouse: tuple[FakeClickHouse, OffLoopStore],
) -> None:
    from schemas import Channel
    from streams.ingest.pseudonym import Pseudonymizer
    from streams.ingest.route import ingest_batch
    from streams.runtime.topics import Topics
    from tests.examples import invalid_cases

    fake, lane = clickhouse
    topics = Topics("cx.")
    cases = invalid_cases(Channel.SMS)[:3]
    raw = [record(topics.channel(Channel.SMS), c["raw"], offset=i) for i, c in enumerate(cases)]
    letters = ingest_batch(
        raw, topics.channels, 1_795_800_000_000, Pseudonymizer(b"k")
    ).dead_letters
    tp = TopicPartition(topics.deadletter, 0)
    wire = [
        dataclasses.replace(record(tp.topic, value, offset=i, key=key), headers=headers)
        for i, (key, value, headers) in enumerate(map(encode_dead_letter, letters))
    ]
    sink = DeadLetterSink(lane, InsertLimits(rows=100))

    async def run() -> None:
        assert await sink.handle({tp: wire[:2]}) is None
        assert await sink.handle({tp: wire}) is None  # two of them again, with one new
        await sink.flush()

    asyncio.run(run())
    ((table, rows, _),) = fake.stored
    assert table == "deadletters" and isinstance(rows, dict)
    assert rows["source_offset"] == [0, 1, 2] and sink.duplicates == 2


# --- identity: at most one recording per interval --------------------------------


def test_a_handoff_works_at_most_once_per_interval() -> None:
    done: list[list[int]] = []

    async def work(items: list[int]) -> None:
        done.append(items)

    async def crash(exc: BaseException) -> None:
        raise AssertionError(exc)

    async def run() -> float:
        handoff: Handoff[int] = Handoff("test", work, crash, interval_s=0.2)
        started = time.monotonic()
        for item in range(10):
            handoff.put([item])  # every 50 ms for half a second
            await asyncio.sleep(0.05)
        while sum(map(len, done)) < 10:
            await asyncio.sleep(0.01)
        await handoff.stop()
        return time.monotonic() - started

    took = asyncio.run(run())
    assert done[0] == [0]  # the first after a quiet spell goes at once
    assert [item for items in done for item in items] == list(range(10))
    assert 3 <= len(done) <= 5 and took < 1.0  # one per 0.2 s over about 0.7 s


# --- the settings of every insert ------------------------------------------------


def test_inserts_are_synchronous_unless_asked_and_keep_their_token() -> None:
    sync = insert_settings("t1")
    assert sync["async_insert"] == 0 and "wait_for_async_insert" not in sync
    assert sync["insert_deduplication_token"] == "t1"
    asked = insert_settings("t1", async_insert=True)
    assert (asked["async_insert"], asked["wait_for_async_insert"]) == (1, 1)
    assert asked["async_insert_deduplicate"] == 1 and asked["insert_deduplication_token"] == "t1"
    assert "insert_deduplication_token" not in insert_settings(None)
    assert orjson.dumps(sync)  # plain values only
