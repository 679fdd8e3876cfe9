"""Inserts sized as ClickHouse asks, on a real broker and chdb: at a steady
rate a worker inserts the rows of many Kafka batches at once, about once a
second per table, counted by the worker and by ClickHouse itself."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from streams.clickhouse.client import Store
from streams.dev.bench.latency import send_paced
from streams.dev.broker import LocalBroker
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import TrafficSpec, generate_traffic
from streams.runtime.settings import Settings
from tests import oracle
from tests.integration.harness import isolated_settings

RATE = 400
"""Records a second: ingest batches of about 40 records, every 100 ms."""


def parts_written(store: Store, table: str) -> int:
    """Parts ClickHouse wrote into `table` (one per insert and partition;
    merged parts keep the highest block number of what they merged)."""
    rows = store.client.query(
        "SELECT max(max_block_number) FROM system.parts "
        f"WHERE database = '{store.database}' AND table = '{table}' AND active"
    ).result_rows
    return int(rows[0][0] or 0)


def test_a_steady_rate_is_inserted_about_once_a_second_per_table(
    broker: LocalBroker, tmp_path: Path
) -> None:
    settings = isolated_settings(broker, tmp_path, lookup_insert_interval_ms=5000)
    assert settings.insert_interval_ms == 1000  # the default
    records = generate_traffic(TrafficSpec(people=330, seed=23))
    valid, invalid = oracle.valid(records), oracle.invalid(records)
    worker = ChildWorker(settings, tmp_path / "worker.log").start()
    try:
        started = time.monotonic()
        asyncio.run(send_paced(settings, records, RATE))
        sending_s = time.monotonic() - started
        unique = len({r.truth.event_id for r in valid})
        worker.wait_stored(unique, len(invalid))
        worker.wait_idle()
        stats = worker.stats()
    finally:
        assert worker.stop() == 0
    inserted = stats["clickhouse_inserts"]
    consumers = stats["consumers"]
    touchpoints = inserted["touchpoints"]
    batches = consumers["ingest"]["batches"]  # of at most ~100 ms
    assert touchpoints["rows"] == unique  # each row inserted once
    assert sending_s > 5 and batches > 3 * sending_s, "batches of at most ~100 ms"
    # Gathered: the rows of a few of those batches per insert.
    assert touchpoints["inserts"] * 3 <= batches, (touchpoints, batches)
    assert touchpoints["rows"] / touchpoints["inserts"] >= 3 * unique / batches
    # The store reads until its insert falls due: about a batch per insert.
    assert consumers["store"]["batches"] <= 1.5 * sending_s + 4, consumers["store"]
    # About once a second per table (and a last one when the traffic ends);
    # the tables people look things up in every five seconds.
    assert Settings.model_fields["lookup_insert_interval_ms"].default == 5000
    for table in ("touchpoints", "journeys"):
        assert inserted[table]["inserts"] <= 1.5 * sending_s + 4, (table, inserted[table])
    for table in ("deadletters", "identity_links", "identity_map"):
        assert inserted[table]["inserts"] <= 0.3 * sending_s + 4, (table, inserted[table])
    assert inserted["deadletters"]["rows"] == len(invalid)
    store = Store.of(settings)
    try:
        written = parts_written(store, "touchpoints")
        months = store.client.query(
            f"SELECT uniqExact(toYYYYMM(occurred_at)) FROM {settings.database}.touchpoints"
        ).result_rows[0][0]
    finally:
        store.close()
    # ClickHouse counts the same parts: one per insert and month it spans.
    assert touchpoints["inserts"] <= written <= months * touchpoints["inserts"]
    assert written * 3 <= batches * months
