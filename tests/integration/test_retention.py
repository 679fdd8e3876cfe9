"""Retention on the real ClickHouse engine (chdb): the TTLs follow the
settings (set, changed, removed, left alone when equal), rows past them go
when expiry is forced while newer rows stay, and metrics_minute keeps the
counts of the touchpoints that went, also through the metrics check at start."""

from __future__ import annotations

import time

from schemas import Channel
from streams.clickhouse.bundle import encode_rows
from streams.clickhouse.client import OffLoopStore, Store
from streams.clickhouse.reconcile import reconcile_metrics
from streams.clickhouse.retention import apply_retention, current_ttls
from streams.deadletters.letter import encode_dead_letter
from streams.deadletters.sink import DeadLetterSink
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.route import ingest_batch
from streams.journeys.rows import JOURNEY_COLUMNS, deleted_row
from streams.runtime.settings import Settings
from tests.examples import invalid_cases, record
from tests.integration.test_store import TOPICS, as_batch, handler, run, store_batch, touchpoints

DAY_MS = 86_400_000
TABLES = ["touchpoints", "journeys", "deadletters"]


def settings(**days: int) -> Settings:
    return Settings(clickhouse_url="http://unused:8123", **days)  # type: ignore[arg-type]


def scalar(store: Store, text: str) -> int:
    return int(store.client.query(text.format(db=store.database)).result_rows[0][0])


def test_ttls_follow_the_settings(migrated: Store) -> None:
    assert current_ttls(migrated, TABLES) == dict.fromkeys(TABLES, "")
    first = settings(touchpoint_retention_days=400, journey_retention_days=90)
    assert apply_retention(migrated, first) == TABLES
    assert current_ttls(migrated, TABLES) == {
        "touchpoints": "toDateTime(occurred_at) + toIntervalDay(400)",
        "journeys": "toDateTime(last_at) + toIntervalDay(90)",
        "deadletters": "toDateTime(received_at) + toIntervalDay(30)",
    }
    assert apply_retention(migrated, first) == [], "nothing to do when the tables agree"
    changed = settings(touchpoint_retention_days=200, journey_retention_days=90)
    assert apply_retention(migrated, changed) == ["touchpoints"]
    assert current_ttls(migrated, ["touchpoints"]) == {
        "touchpoints": "toDateTime(occurred_at) + toIntervalDay(200)"
    }
    forever = settings(deadletter_store_retention_days=0)
    assert apply_retention(migrated, forever) == TABLES
    assert current_ttls(migrated, TABLES) == dict.fromkeys(TABLES, "")


def test_rows_past_their_ttl_go_and_the_metrics_keep_their_counts(migrated: Store) -> None:
    now_ms = int(time.time() * 1000)
    old_ms, new_ms = now_ms - 100 * DAY_MS, now_ms - DAY_MS
    (base,) = touchpoints()[:1]
    events = [
        base._replace(event_id=f"e-{n}", occurred_at_ms=old_ms if n % 2 else new_ms)
        for n in range(20)
    ]
    store_batch(handler(migrated), as_batch(events))
    migrated.insert_rows(
        "journeys",
        JOURNEY_COLUMNS,
        encode_rows(
            [deleted_row("p-old", 1, old_ms, "j-old"), deleted_row("p-new", 1, new_ms, "j-new")]
        ),
        dedup_token=None,
    )
    cases = invalid_cases(Channel.SMS)[:2]
    for offset, received_ms in enumerate((old_ms, new_ms)):
        raw = record(TOPICS.channel(Channel.SMS), cases[offset]["raw"], offset=offset)
        letters = ingest_batch(
            [raw], TOPICS.channels, received_ms, Pseudonymizer(b"k")
        ).dead_letters
        _, value, headers = encode_dead_letter(letters[0])
        run(DeadLetterSink(OffLoopStore(migrated)).store_batch([(value, headers, 0, offset)]))
    events_counted = "SELECT sum(events) FROM {db}.metrics_minute"
    assert scalar(migrated, events_counted) == 20

    apply_retention(
        migrated,
        settings(
            touchpoint_retention_days=30,
            journey_retention_days=30,
            deadletter_store_retention_days=30,
        ),
    )
    for table in TABLES:  # what operations do to expire rows now (docs/operations.md#retention)
        migrated.command(
            f"ALTER TABLE {{database:Identifier}}.{table} MATERIALIZE TTL "
            "SETTINGS mutations_sync = 2"
        )
        migrated.command(f"OPTIMIZE TABLE {{database:Identifier}}.{table} FINAL")

    assert scalar(migrated, "SELECT count() FROM {db}.touchpoints") == 10
    assert scalar(
        migrated, "SELECT min(occurred_at) >= now() - INTERVAL 2 DAY FROM {db}.touchpoints"
    )
    assert scalar(migrated, "SELECT groupArray(journey_id) = ['j-new'] FROM {db}.journeys")
    assert scalar(migrated, "SELECT count() FROM {db}.deadletters") == 1
    assert scalar(migrated, events_counted) == 20, "metrics_minute keeps the expired events"
    assert scalar(migrated, "SELECT sum(events) FROM {db}.volume_daily") == 20
    assert migrated.query("metrics_off_months"), "the months that lost rows differ"
    assert reconcile_metrics(migrated) == [], "...but are not rebuilt"
    apply_retention(migrated, settings())  # TTL removed: the month stays protected
    assert reconcile_metrics(migrated) == []
    assert scalar(migrated, events_counted) == 20
