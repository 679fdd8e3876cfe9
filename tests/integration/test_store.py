"""The store on the real ClickHouse engine (chdb): migrations, idempotent
inserts, and deduplication across batches and restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest
from aiokafka import TopicPartition

from schemas import Channel, RejectReason
from streams.clickhouse import sql
from streams.clickhouse.bundle import encode_bundle, encode_row, encode_rows
from streams.clickhouse.client import (
    OffLoopStore,
    Store,
)
from streams.clickhouse.gather import InsertLimits
from streams.clickhouse.migrate import MigrationError, migrate
from streams.clickhouse.reconcile import reconcile_metrics
from streams.deadletters.letter import DeadLetter, encode_dead_letter
from streams.deadletters.rows import DEADLETTER_COLUMNS
from streams.deadletters.sink import DeadLetterSink
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.route import ingest_batch
from streams.ingest.touchpoint import Touchpoint
from streams.journeys.steps import KeyedSteps, step_of
from streams.runtime.failures import MAX_CONSECUTIVE, TooManyFailures
from streams.runtime.partitioning import partition_of
from streams.runtime.topics import Topics
from streams.store.dedup import BUCKET_MS
from streams.store.rows import TOUCHPOINT_COLUMNS, touchpoint_row
from streams.store.stage import StoreStage
from tests.examples import invalid_cases, record, valid_events

TOPICS = Topics("cx.")
RECEIVED_AT_MS = 1_795_800_000_000  # 2026-11-27T17:20Z: after every golden example


def count(store: Store, sql_text: str) -> int:
    return int(store.client.query(sql_text.format(db=store.database)).result_rows[0][0])


def touchpoints(channel: Channel = Channel.WEB) -> list[Touchpoint]:
    records = [
        record(TOPICS.channel(channel), v, offset=i) for i, v in enumerate(valid_events(channel))
    ]
    return ingest_batch(records, TOPICS.channels, RECEIVED_AT_MS, Pseudonymizer(b"k")).touchpoints


def as_batch(items: list[Touchpoint], partition: int = 0, first_offset: int = 0):  # type: ignore[no-untyped-def]
    from aiokafka import TopicPartition

    tp = TopicPartition(TOPICS.touchpoints, partition)
    return {
        tp: [
            record(tp.topic, bundle_of(t, partition), first_offset + i, partition)
            for i, t in enumerate(items)
        ]
    }


def entry_of(t: Touchpoint, partition: int) -> tuple[bytes, bytes]:
    """A touchpoints-topic bundle entry, as ingest makes it."""
    index = (t.event_id, t.occurred_at_ms, t.person_key, tuple(step_of(t)))
    return encode_row(index), encode_row(touchpoint_row(t, t.person_key, partition))


def bundle_of(t: Touchpoint, partition: int) -> bytes:
    return encode_bundle([entry_of(t, partition)])


class Sent:
    """What the store stage sends on (the worker sends it to Kafka; these
    tests look at the store's decisions on ClickHouse alone)."""

    def __init__(self) -> None:
        self.steps: list[KeyedSteps] = []
        self.letters: list[DeadLetter] = []

    async def partitions(self) -> int:
        return 1

    async def send_steps(self, steps: Sequence[KeyedSteps]) -> None:
        self.steps += steps

    async def set_aside(self, letters: Sequence[DeadLetter]) -> None:
        self.letters += letters


def test_migrations_are_idempotent(store: Store) -> None:
    assert migrate(store) == [name for _, name, _ in sql.migrations()]
    assert migrate(store) == []


def test_an_edited_migration_is_refused(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate(store)
    edited = [(v, n, t + "\n-- edited") if v == 2 else (v, n, t) for v, n, t in sql.migrations()]
    monkeypatch.setattr(sql, "migrations", lambda: edited)
    with pytest.raises(MigrationError, match=r"002_touchpoints\.sql changed"):
        migrate(store)


def test_row_builders_match_the_table_columns(migrated: Store) -> None:
    for table, columns in (
        ("touchpoints", (*TOUCHPOINT_COLUMNS, "stored_at")),  # stored_at: the server's clock
        ("deadletters", DEADLETTER_COLUMNS),
    ):
        described = migrated.client.query(f"DESCRIBE TABLE {migrated.database}.{table}").result_rows
        assert tuple(row[0] for row in described) == columns


def test_a_retried_insert_with_its_token_is_stored_once(migrated: Store) -> None:
    items = touchpoints()
    rows = encode_rows(touchpoint_row(t, t.person_key, 0) for t in items)
    migrated.insert_rows("touchpoints", TOUCHPOINT_COLUMNS, rows, dedup_token="batch-1")
    migrated.insert_rows("touchpoints", TOUCHPOINT_COLUMNS, rows, dedup_token="batch-1")
    assert count(migrated, "SELECT count() FROM {db}.touchpoints") == len(items)
    # ...and so are the metrics the view derives from it (migration 011).
    assert count(migrated, "SELECT sum(events) FROM {db}.metrics_minute") == len(items)


def test_asynchronous_inserts_are_accepted_and_stored_at_once_on_chdb(migrated: Store) -> None:
    """CX_CLICKHOUSE_ASYNC_INSERT's settings are taken by the embedded
    engine, which inserts synchronously all the same: the rows are there
    when the insert returns, and a retried block is stored once."""
    migrated.async_insert = True
    items = touchpoints()
    rows = encode_rows(touchpoint_row(t, t.person_key, 0) for t in items)
    migrated.insert_rows("touchpoints", TOUCHPOINT_COLUMNS, rows, dedup_token="async-1")
    assert count(migrated, "SELECT count() FROM {db}.touchpoints") == len(items)
    migrated.insert_rows("touchpoints", TOUCHPOINT_COLUMNS, rows, dedup_token="async-1")
    assert count(migrated, "SELECT count() FROM {db}.touchpoints") == len(items)
    assert count(migrated, "SELECT sum(events) FROM {db}.metrics_minute") == len(items)


def test_the_sql_finds_a_partition_s_events_as_ingest_routes_them(migrated: Store) -> None:
    """partition_event_ids and partition_minutes compute a touchpoints-topic
    partition in SQL, `CRC32(event_id) % partitions`: the same partition as
    `partition_of`, which ingest routes each event by (non-ASCII ids too)."""
    items = touchpoints()
    many = [
        t._replace(event_id=f"{prefix}-{i}")
        for prefix in ("evt", "événement", "事件", "🛒")
        for i, t in enumerate(items)
    ]
    rows = encode_rows(touchpoint_row(t, t.person_key, 0) for t in many)
    migrated.insert_rows("touchpoints", TOUCHPOINT_COLUMNS, rows, dedup_token=None)
    partitions = 5
    for partition in range(partitions):
        expected = {
            t.event_id for t in many if partition_of(t.event_id.encode(), partitions) == partition
        }
        assert expected, partition
        found = migrated.query(
            "partition_event_ids", partition=partition, partitions=partitions, since_ms=0
        )
        assert {event_id for event_id, _ in found} == expected
        minutes = migrated.query("partition_minutes", partition=partition, partitions=partitions)
        assert sum(events for _, events in minutes) == len(expected)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def store_batch(handler: StoreStage, batch) -> None:  # type: ignore[no-untyped-def]
    """Handle a batch and wait for its insert, as the batch consumer does
    (its flush, before it commits, inserts what the sink gathered)."""

    async def handle_and_write() -> None:
        write = await handler.handle(batch)
        if write is not None:
            await write
        await handler.flush()

    asyncio.run(handle_and_write())


def handler(store: Store, **limits: int) -> StoreStage:
    return StoreStage(
        OffLoopStore(store),
        Sent(),
        capacity=limits.get("capacity", 100_000),
        limits=InsertLimits(rows=limits.get("insert_rows", 100_000)),
    )


def test_redelivered_events_are_stored_once(migrated: Store) -> None:
    items = touchpoints()
    first = handler(migrated)
    store_batch(first, as_batch(items))
    store_batch(first, as_batch(items + items[:3], first_offset=100))  # replay + in-batch repeats
    assert count(migrated, "SELECT count() FROM {db}.touchpoints") == len(items)
    assert first.duplicates == len(items) + 3


def test_a_bundle_partly_stored_before_adds_only_its_new_events(migrated: Store) -> None:
    """The store keeps some rows of a bundle (the usual case: most bundles
    hold an event delivered again), and what ClickHouse holds is what
    ingest built."""
    items = touchpoints()
    first = handler(migrated)
    store_batch(first, as_batch(items[::2]))
    entries = [entry_of(t, 0) for t in items]
    tp = TopicPartition(TOPICS.touchpoints, 0)
    store_batch(first, {tp: [record(tp.topic, encode_bundle(entries), 50, 0)]})
    assert first.duplicates == len(items[::2])
    stored = migrated.client.query(
        f"SELECT event_id, properties FROM {migrated.database}.touchpoints"
    ).result_rows
    assert sorted(stored) == sorted(
        (t.event_id, orjson.dumps(t.properties).decode()) for t in items
    )


def test_a_restarted_handler_knows_what_is_stored(migrated: Store) -> None:
    items = touchpoints()
    store_batch(handler(migrated), as_batch(items[:5]))
    restarted = handler(migrated)  # a new process: empty memory, primed from ClickHouse
    store_batch(restarted, as_batch(items))
    assert count(migrated, "SELECT count() FROM {db}.touchpoints") == len(items)
    assert restarted.duplicates == 5 and restarted.looked_up == 0


def with_items_below_memory(store: Store) -> tuple[StoreStage, list[Touchpoint]]:
    """A handler that stored `items`, then so many later events that the
    items are below the floor of its memory (ClickHouse answers for them)."""
    items = touchpoints()
    newest = max(t.occurred_at_ms for t in items)
    later = [
        t._replace(event_id=f"later-{i}", occurred_at_ms=newest + 100 * BUCKET_MS)
        for i, t in enumerate(items)
    ]
    small = handler(store, capacity=len(items))
    store_batch(small, as_batch(items))
    store_batch(small, as_batch(later, first_offset=100))  # over capacity: older hours evicted
    assert not small.seen[0].covers(newest)
    return small, items


def test_events_older_than_memory_are_checked_in_clickhouse(migrated: Store) -> None:
    small, items = with_items_below_memory(migrated)
    store_batch(
        small, as_batch([*items[:4], items[0]._replace(event_id="new-but-old")], first_offset=200)
    )
    assert small.looked_up == 5
    assert count(migrated, "SELECT count() FROM {db}.touchpoints") == 2 * len(items) + 1


def test_an_old_event_repeated_while_its_insert_is_in_flight_is_stored_once(
    migrated: Store,
) -> None:
    small, items = with_items_below_memory(migrated)
    late = items[0]._replace(event_id="late-and-repeated")
    held = items[1]._replace(event_id="late-and-held")

    async def two_batches_one_write_in_flight() -> None:
        small.held.limits = InsertLimits(rows=1)  # each batch's rows inserted at once
        first = await small.handle(as_batch([late], first_offset=200))
        second = await small.handle(as_batch([late], first_offset=201))
        assert first is not None and second is None  # the repeat is known before the insert
        await first
        small.held.limits = InsertLimits()  # gathered until the flush
        assert await small.handle(as_batch([held], first_offset=202)) is None
        assert await small.handle(as_batch([held], first_offset=203)) is None
        await small.flush()

    asyncio.run(two_batches_one_write_in_flight())
    assert count(migrated, "SELECT count() FROM {db}.touchpoints") == 2 * len(items) + 2
    assert small.looked_up == 2 and small.duplicates == 2  # each repeat known in memory


def test_dead_letters_are_mirrored_once(migrated: Store) -> None:
    cases = invalid_cases(Channel.SMS)
    records = [record(TOPICS.channel(Channel.SMS), c["raw"], offset=i) for i, c in enumerate(cases)]
    letters = ingest_batch(
        records, TOPICS.channels, RECEIVED_AT_MS, Pseudonymizer(b"k")
    ).dead_letters
    wire = [
        (value, headers, 0, i)
        for i, (_, value, headers) in enumerate(map(encode_dead_letter, letters))
    ]
    mirror = DeadLetterSink(OffLoopStore(migrated))
    run(mirror.store_batch(wire))
    run(mirror.store_batch([*wire, (b"{}", [], 0, 999)]))  # again, plus a record nobody here wrote
    assert count(migrated, "SELECT count() FROM {db}.deadletters") == len(cases)
    assert (mirror.stored, mirror.duplicates, mirror.foreign) == (len(cases), len(cases), 1)
    reasons = migrated.client.query(
        f"SELECT reason FROM {migrated.database}.deadletters ORDER BY source_offset"
    ).result_rows
    assert [r[0] for r in reasons] == [c["expect"] for c in cases]


def test_only_the_first_delivery_of_an_event_id_sends_its_step(migrated: Store) -> None:
    """An event id delivered again is the same event, whoever the delivery
    names: one row, and one step, the first's, for the journeys."""
    items = touchpoints()
    first = handler(migrated)
    store_batch(first, as_batch(items[:3]))
    reused = items[0]._replace(person_key="loyalty_id:someone-else")
    store_batch(first, as_batch([reused, items[0], *items[3:]], first_offset=10))
    sent = first.downstream
    assert isinstance(sent, Sent)
    assert [(key, step.event_id) for key, (step,) in sent.steps] == [
        (t.person_key, t.event_id) for t in items
    ]
    assert count(migrated, "SELECT count() FROM {db}.touchpoints") == len(items)


def test_a_backfill_spanning_years_is_stored_in_one_batch(migrated: Store) -> None:
    """Touchpoints are partitioned by month: 121 months in one insert."""
    (base,) = touchpoints()[:1]
    month_ms = 31 * 24 * 3_600_000
    history = [
        base._replace(event_id=f"old-{n}", occurred_at_ms=base.occurred_at_ms - n * month_ms)
        for n in range(121)
    ]
    store_batch(handler(migrated), as_batch(history))
    assert count(migrated, "SELECT count() FROM {db}.touchpoints") == 121
    assert count(migrated, "SELECT uniqExact(toYYYYMM(occurred_at)) FROM {db}.touchpoints") == 121
    assert count(migrated, "SELECT sum(events) FROM {db}.metrics_minute") == 121


def refusing(store: Store, condition: str) -> None:
    """Make ClickHouse refuse the touchpoints rows that fail `condition`."""
    store.command(
        f"ALTER TABLE {{database:Identifier}}.touchpoints ADD CONSTRAINT refuse CHECK {condition}"
    )


def test_a_row_clickhouse_refuses_is_set_aside_and_the_others_stored(migrated: Store) -> None:
    refusing(migrated, "event_id NOT LIKE 'poison-%'")
    items = touchpoints()
    poison = [items[2]._replace(event_id="poison-1"), items[5]._replace(event_id="poison-2")]
    batch = [*items[:4], poison[0], *items[4:], poison[1]]
    stage = handler(migrated)
    store_batch(stage, as_batch(batch))
    stored = migrated.client.query(f"SELECT event_id FROM {migrated.database}.touchpoints")
    assert sorted(r[0] for r in stored.result_rows) == sorted(t.event_id for t in items)
    sent = stage.downstream
    assert isinstance(sent, Sent)
    assert [letter.rejection.event_id for letter in sent.letters] == ["poison-1", "poison-2"]
    letter = sent.letters[0]
    assert (letter.rejection.reason, letter.rejected_by) == (RejectReason.STORE_REJECTED, "store")
    assert "VIOLATED_CONSTRAINT" in letter.rejection.errors[0].message
    assert (letter.source_topic, letter.source_offset) == (poison[0].source_topic, 2)
    assert orjson.loads(letter.value)[0] == "poison-1"  # the row, as ingest built it
    assert (stage.stored, stage.refused) == (len(items), 2)


def test_a_schema_that_refuses_every_row_stops_the_stage(migrated: Store) -> None:
    """Many rows refused in a row is a bug or a broken schema, not bad
    records: the stage raises (the worker stops) instead of dead-lettering
    the stream. Nothing was stored."""
    refusing(migrated, "event_id = 'none of them'")
    items = touchpoints() * 2
    batch = [t._replace(event_id=f"{t.event_id}-{n}") for n, t in enumerate(items)]
    assert len(batch) > MAX_CONSECUTIVE + 1
    stage = handler(migrated)
    with pytest.raises(TooManyFailures, match="in a row"):
        store_batch(stage, as_batch(batch))
    assert count(migrated, "SELECT count() FROM {db}.touchpoints") == 0
    sent = stage.downstream
    assert isinstance(sent, Sent) and sent.letters == []


def test_metrics_that_do_not_add_up_to_the_touchpoints_are_rebuilt(migrated: Store) -> None:
    """As after the embedded engine died between a touchpoints part and its
    metrics part: one month's metrics missing, another's counted twice."""
    (base,) = touchpoints()[:1]
    month_ms = 31 * 24 * 3_600_000
    history = [
        base._replace(event_id=f"m-{n}", occurred_at_ms=base.occurred_at_ms - (n % 3) * month_ms)
        for n in range(30)
    ]
    store_batch(handler(migrated), as_batch(history))
    metrics = f"SELECT * FROM {migrated.database}.metrics_minute FINAL ORDER BY ALL"
    exact = migrated.client.query(metrics).result_rows
    assert reconcile_metrics(migrated) == []
    months = sorted(
        {int(m) for (m,) in migrated.client.query(
            f"SELECT DISTINCT toYYYYMM(minute) FROM {migrated.database}.metrics_minute"
        ).result_rows}
    )  # fmt: skip
    assert len(months) == 3
    migrated.command(
        f"ALTER TABLE {{database:Identifier}}.metrics_minute DROP PARTITION {months[0]}"
    )
    migrated.command(
        "INSERT INTO {database:Identifier}.metrics_minute SELECT * FROM "
        f"{{database:Identifier}}.metrics_minute WHERE toYYYYMM(minute) = {months[2]}"
    )
    assert reconcile_metrics(migrated) == [months[0], months[2]]
    assert migrated.client.query(metrics).result_rows == exact
