"""Records that used to stop or stall a worker, sent through a real one
mixed into normal traffic: rows ClickHouse refuses, a backfill spanning ten
years in one batch. The worker stays up, every record is counted once where
it ended, and every valid event is stored once."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from pathlib import Path

import orjson
from prometheus_client.parser import text_string_to_metric_families

from schemas import Channel
from streams.clickhouse.client import Store
from streams.clickhouse.migrate import migrate
from streams.deadletters.letter import KEPT_BYTES
from streams.dev.broker import LocalBroker
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.generator.traffic import Truth
from streams.dev.produce import produce_records
from tests import oracle
from tests.hostile import hostile_records
from tests.integration.harness import isolated_settings
from tests.stored import snapshot

HOSTILE_TRUTH = Truth("hostile", None, "", None, None, 0)  # type: ignore[arg-type]
"""tests/hostile.py says what each hostile record gets: not the oracle's."""


def page_view(event_id: str, at: datetime) -> GeneratedRecord:
    event = {
        "event_id": event_id,
        "event_type": "page_view",
        "occurred_at": at.isoformat(timespec="milliseconds"),
        "identity": {"anonymous_id": f"ck-{event_id}"},
    }
    truth = Truth("valid", event_id, "page_view", None, None, int(at.timestamp() * 1000))
    return GeneratedRecord(Channel.WEB, None, orjson.dumps(event), truth)


def test_refused_rows_are_set_aside_and_a_backfill_is_stored(
    broker: LocalBroker, tmp_path: Path
) -> None:
    traffic = generate_traffic(TrafficSpec(people=200, seed=81))
    now = datetime(2026, 11, 20, tzinfo=UTC)
    poison = [page_view(f"poison-{n}", now - timedelta(hours=n)) for n in range(3)]
    backfill = [page_view(f"history-{n}", now - timedelta(days=31 * n)) for n in range(121)]
    records = [*traffic[:500], *poison, *backfill, *traffic[500:]]
    settings = isolated_settings(broker, tmp_path)
    store = Store(settings.clickhouse_url, settings.database)
    try:  # ClickHouse refuses these rows (a CHECK constraint): not the contract's doing
        migrate(store)
        store.command(
            "ALTER TABLE {database:Identifier}.touchpoints "
            "ADD CONSTRAINT no_poison CHECK event_id NOT LIKE 'poison-%'"
        )
    finally:
        store.close()
    asyncio.run(produce_records(settings, records))

    valid = oracle.valid(records)
    worker = ChildWorker(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_stored(len(valid) - len(poison), len(oracle.invalid(records)) + len(poison))
        worker.wait_idle()
        stats = worker.stats()
        metrics = worker.metrics()
        assert worker.health() == (200, {"status": "ok"})
    finally:
        assert worker.stop() == 0

    refused = [
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "cx_records_rejected_total"
        and sample.labels == {"channel": "web", "reason": "store_rejected"}
    ]
    assert refused == [len(poison)]
    ingest, stored_stats = stats["ingest"], stats["store"]
    assert ingest["received"] == len(records)
    assert ingest["accepted"] + ingest["rejected"] == ingest["received"]
    assert ingest["rejected"] == len(oracle.invalid(records))
    assert (
        stored_stats["stored"] + stored_stats["duplicates"] + stored_stats["refused"]
        == ingest["accepted"]
    )
    assert stored_stats["refused"] == len(poison)

    stored = snapshot(settings)
    expected = {r.truth.event_id for r in valid} - {r.truth.event_id for r in poison}
    assert (stored.count, stored.unique_ids) == (len(expected), len(expected))
    assert {row["event_id"] for row in stored.touchpoints} == expected
    months = {row["occurred_ms"] // 1000 // 86400 // 31 for row in stored.touchpoints}
    assert len(months) > 100  # the backfill's ten years are there
    set_aside = [row for row in stored.dead_letters if row["rejected_by"] == "store"]
    assert sorted((row["event_id"], row["reason"]) for row in set_aside) == [
        (f"poison-{n}", "store_rejected") for n in range(3)
    ]
    assert all(row["source_topic"].endswith("web") for row in set_aside)
    ingest_letters = [row for row in stored.dead_letters if row["rejected_by"] == "ingest"]
    assert len(ingest_letters) == len(oracle.invalid(records))


def test_hostile_records_mixed_into_traffic_end_as_documented(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """Every record of tests/hostile.py (sizes up to 5 MB, depths, encodings,
    number ranges, NaN and Infinity, duplicate keys, control characters,
    lone surrogates, the calendar's edges, the future) mixed into generated
    traffic: the worker stays up, accepted + rejected = received, each valid
    event is stored once and each hostile record ends as the contract says."""
    traffic = generate_traffic(TrafficSpec(people=150, seed=83))
    hostile = hostile_records(int(time.time() * 1000))
    sent = [GeneratedRecord(h.channel, None, h.raw, HOSTILE_TRUTH) for h in hostile]
    records = [item for pair in zip_longest(traffic, sent) for item in pair if item is not None]
    settings = isolated_settings(broker, tmp_path)
    asyncio.run(produce_records(settings, records))

    accepted = [h for h in hostile if h.reason is None]
    rejected = [h for h in hostile if h.reason is not None]
    valid = {r.truth.event_id for r in oracle.valid(traffic)}
    expected_ids = valid | {orjson.loads(h.raw)["event_id"] for h in accepted}
    worker = ChildWorker(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_stored(len(expected_ids), len(oracle.invalid(traffic)) + len(rejected))
        worker.wait_idle()
        stats = worker.stats()
        assert worker.health() == (200, {"status": "ok"})
    finally:
        assert worker.stop() == 0

    ingest = stats["ingest"]
    assert ingest["received"] == len(records)
    assert ingest["accepted"] + ingest["rejected"] == ingest["received"]
    assert ingest["rejected"] == len(oracle.invalid(traffic)) + len(rejected)
    stored = snapshot(settings)
    assert (stored.count, stored.unique_ids) == (len(expected_ids), len(expected_ids))
    assert {row["event_id"] for row in stored.touchpoints} == expected_ids
    kept = KEPT_BYTES  # a too_large value is kept on the topic up to the bound
    letters = Counter((row["payload_sha256"], row["reason"]) for row in stored.dead_letters)
    assert letters == Counter(
        [
            (hashlib.sha256(r.value).hexdigest(), str(r.truth.reason))
            for r in oracle.invalid(traffic)
        ]
        + [(hashlib.sha256(h.raw[:kept]).hexdigest(), str(h.reason)) for h in rejected]
    )
    sizes = {row["payload_sha256"]: row["payload_bytes"] for row in stored.dead_letters}
    five_mb = next(h for h in hostile if h.name == "size-5-mb")
    assert sizes[hashlib.sha256(five_mb.raw[:kept]).hexdigest()] == len(five_mb.raw)
