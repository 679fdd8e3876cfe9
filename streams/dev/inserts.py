"""What the worker's ClickHouse inserts cost, on the embedded engine.

Two parts, each in arms run one after the other in this process's window:

* `steady`: a fresh worker fed `rate` records a second for `seconds`, once
  per insert interval asked (0: an insert per batch, as before the sinks
  gathered; 1000: the default), and the same records sent at once (a
  backlog). Per arm: inserts and rows per insert by table, the store's
  batches, the worker's CPU per record while it works, and the touchpoints'
  produce-to-queryable latency (`stored_at`, as `cx bench throughput`).
* `engine`: chdb alone, no worker: the time of one insert into
  `touchpoints` by its size, with and without the metrics view, under the
  insert settings that could cut its fixed cost, and whether chdb does
  asynchronous inserts at all.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord

from streams.clickhouse.bundle import encode_row
from streams.clickhouse.client import Store, insert_settings
from streams.clickhouse.migrate import migrate
from streams.dev.bench.cpu import read_cpu, spent
from streams.dev.bench.latency import latency_summary, send_paced, stored_at
from streams.dev.broker import LocalBroker, local_settings
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.produce import produce_records
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.route import ingest_batch
from streams.runtime.kafka import ensure_topics
from streams.runtime.topics import Topics, topic_configs, topic_plan
from streams.store.rows import TOUCHPOINT_COLUMNS, touchpoint_row

EVENTS_PER_PERSON = 9.39
"""Records the generator makes per person (`streams.dev.bench.throughput`)."""
TABLES = ("touchpoints", "journeys", "deadletters", "identity_links", "identity_map")


def steady(
    folder: Path,
    rate: float,
    seconds: float,
    intervals_ms: list[int],
    *,
    backlog: bool = True,
    seed: int = 1,
) -> dict[str, Any]:
    people = max(50, round(rate * seconds / EVENTS_PER_PERSON))
    records = generate_traffic(TrafficSpec(people=people, seed=seed))
    figures: dict[str, Any] = {"records": len(records), "offered_records_per_s": rate}
    folder.mkdir(parents=True)
    with LocalBroker(log_path=folder / "tansu.log") as broker:
        for interval in intervals_ms:
            for paced in (True, False) if backlog else (True,):
                name = f"{'steady' if paced else 'backlog'}_{interval}ms"
                run = folder / name
                figures[name] = _run(broker, run, records, rate if paced else 0.0, interval)
    return figures


def _run(
    broker: LocalBroker, folder: Path, records: list[GeneratedRecord], rate: float, interval: int
) -> dict[str, Any]:
    """One worker fed `records` at `rate` a second (0: all at once)."""
    folder.mkdir(parents=True)
    settings = local_settings(  # topics and groups of its own: nothing left by another run
        broker.url,
        folder,
        log_level="WARNING",
        insert_interval_ms=interval,
        topic_prefix=f"{folder.name}.",
        app_id=f"cx-{folder.name}",
    )
    asyncio.run(ensure_topics(settings, topic_plan(settings), topic_configs(settings)))
    worker = ChildWorker(settings, folder / "worker.log").start()
    valid = len({r.truth.event_id for r in records if r.truth.kind == "valid"})
    invalid = sum(r.truth.kind == "invalid" for r in records)
    try:
        assert worker.process is not None
        pid, started = worker.process.pid, time.perf_counter()
        before = read_cpu(pid)
        sending = settings.model_copy(update={"kafka_compression": "none"})
        if rate:
            sent_at = asyncio.run(send_paced(sending, records, rate))
        else:
            now_ms = time.time_ns() // 1_000_000
            asyncio.run(produce_records(sending, records))
            valid_ids = (r.truth.event_id for r in records if r.truth.kind == "valid")
            sent_at = {event_id: now_ms for event_id in valid_ids if event_id is not None}
        worker.wait_stored(valid, invalid, timeout=600)
        cpu = spent(pid, before, read_cpu(pid))
        took = time.perf_counter() - started
        worker.wait_idle()
        stats = worker.stats()
    finally:
        worker.stop()
    inserted = stats["clickhouse_inserts"]
    store_batches = stats["consumers"]["store"]["batches"]
    return {
        "seconds": round(took, 2),
        "store_batches": store_batches,
        "rows_per_store_batch": round(valid / store_batches, 1),
        "inserts_per_s": {t: round(inserted[t]["inserts"] / took, 2) for t in TABLES},
        "rows_per_insert": {
            t: round(inserted[t]["rows"] / inserted[t]["inserts"], 1) for t in TABLES
        },
        "worker_cpu_us_per_record": {
            kind: round(seconds * 1e6 / len(records), 1) for kind, seconds in cpu.items()
        },
        **latency_summary(sent_at, stored_at(settings)),
    }


# --- the engine alone --------------------------------------------------------


def _rows(people: int) -> list[bytes]:
    """Touchpoint rows as the worker inserts them, one per event."""
    topics = Topics("cx.")
    traffic = generate_traffic(TrafficSpec(people=people, seed=3, duplicate_share=0))
    records = [
        ConsumerRecord(
            topic=topics.channel(r.channel),
            partition=0,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=r.key,
            value=r.value,
            checksum=None,
            serialized_key_size=len(r.key or b""),
            serialized_value_size=len(r.value),
            headers=(),
        )
        for offset, r in enumerate(traffic)
    ]
    received_ms = time.time_ns() // 1_000_000
    batch = ingest_batch(records, topics.channels, received_ms, Pseudonymizer(b"bench"))
    first = {t.event_id: t for t in reversed(batch.touchpoints)}.values()
    return [encode_row(touchpoint_row(t, t.person_key, 0)) for t in first]


SETTINGS_TRIED: dict[str, dict[str, Any]] = {
    "as_the_worker": {},
    "no_deduplication": {"insert_deduplicate": 0},
    "no_view_deduplication": {"deduplicate_blocks_in_dependent_materialized_views": 0},
    "parallel_view_processing": {"parallel_view_processing": 1},
    "optimize_on_insert_off": {"optimize_on_insert": 0},
    "no_parallel_parsing": {"input_format_parallel_parsing": 0},
    "one_thread": {"max_threads": 1, "max_insert_threads": 1},
    "skip_indexes_not_built": {"materialize_skip_indexes_on_insert": 0},
    "statistics_not_built": {"materialize_statistics_on_insert": 0},
    "async_wait": {"async_insert": 1, "wait_for_async_insert": 1},
}


def engine(folder: Path, inserts: int = 40) -> dict[str, Any]:
    rows = _rows(1600)
    store = Store(f"chdb://{folder / 'clickhouse'}", "cx_bench")
    figures: dict[str, Any] = {"rows_available": len(rows)}
    tokens = itertools.count()
    at = itertools.count()

    def insert(database: str, size: int, extra: dict[str, Any]) -> float:
        start = next(at) * size % (len(rows) - size)
        block = b"\n".join(rows[start : start + size])
        settings = {
            "input_format_json_read_objects_as_strings": 1,
            **insert_settings(f"t{next(tokens)}"),
            **extra,
        }
        began = time.perf_counter()
        store.client.raw_insert(
            f"{database}.touchpoints",
            list(TOUCHPOINT_COLUMNS),
            block,
            settings=settings,
            fmt="JSONCompactEachRow",
        )
        return time.perf_counter() - began

    try:
        # First, on a quiet engine: what the inserts and the merges they
        # cause do, by ClickHouse's counters (merges given 3 s to settle).
        store.database = "cx_events"
        migrate(store)
        time.sleep(3)
        before = _events(store)
        for _ in range(inserts):
            insert("cx_events", 60, {})
        time.sleep(3)
        after = _events(store)
        figures["60_rows_events_per_insert"] = {
            name: round((after.get(name, 0) - before.get(name, 0)) / inserts, 1)
            for name in PROFILED
        }
        databases = {"with_view": "cx_view", "without_view": "cx_plain"}
        for database in databases.values():
            store.database = database
            migrate(store)
        store.command("DROP VIEW cx_plain.metrics_minute_mv")
        for size in (1, 60, 1000, 10_000):
            times: dict[str, list[float]] = {arm: [] for arm in databases}
            for _ in range(max(5, inserts * 60 // max(size, 60))):
                for arm, database in databases.items():  # alternating
                    times[arm].append(insert(database, size, {}))
            for arm, spent_s in times.items():
                figures[f"{size}_rows_{arm}_ms"] = _median_ms(spent_s)
        arms = {name: f"cx_s{n}" for n, name in enumerate(SETTINGS_TRIED)}
        for database in arms.values():
            store.database = database
            migrate(store)
        times = {name: [] for name in arms}
        for _ in range(inserts):
            for name, database in arms.items():
                times[name].append(insert(database, 60, SETTINGS_TRIED[name]))
        figures["60_rows_by_setting_ms"] = {name: _median_ms(t) for name, t in times.items()}
        figures["async_insert"] = _async_check(store, rows)
    finally:
        store.close()
    return figures


PROFILED = (
    "InsertQueryTimeMicroseconds",
    "QueryAnalysisMicroseconds",
    "QueryPlanBuildMicroseconds",
    "QueryPlanOptimizeMicroseconds",
    "QueryPipelineBuildMicroseconds",
    "DiskWriteElapsedMicroseconds",
    "MergeMutateBackgroundExecutorTaskExecuteStepMicroseconds",
    "InsertedCompactParts",
    "MergedRows",
    "FileOpen",
)
"""ClickHouse's own counters (system.events) of what an insert does, and
the merges it causes."""


def _events(store: Store) -> dict[str, int]:
    found = store.client.query("SELECT event, value FROM system.events").result_rows
    return {str(name): int(value) for name, value in found}


def _async_check(store: Store, rows: list[bytes]) -> dict[str, Any]:
    """Ten inserts with async_insert=1 and wait_for_async_insert=0: whether
    chdb buffered them (fewer parts, async-insert events) or not."""
    client, database = store.client, "cx_view"

    def events() -> dict[str, int]:
        found = client.query(
            "SELECT event, value FROM system.events WHERE event LIKE 'AsyncInsert%' "
            "OR event IN ('InsertQuery', 'MergeTreeDataWriterBlocks')"
        ).result_rows
        return {str(name): int(value) for name, value in found}

    before = events()
    for n in range(10):
        block = b"\n".join(rows[n * 10 : n * 10 + 10])
        client.raw_insert(
            f"{database}.touchpoints",
            list(TOUCHPOINT_COLUMNS),
            block,
            settings={
                "input_format_json_read_objects_as_strings": 1,
                "async_insert": 1,
                "wait_for_async_insert": 0,
                "insert_deduplicate": 0,
            },
            fmt="JSONCompactEachRow",
        )
    after = events()
    return {name: after[name] - before.get(name, 0) for name in after}


def _median_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


def measure(
    rate: float, seconds: float, intervals_ms: list[int], *, engine_alone: bool, backlog: bool
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="cx-bench-inserts-"))
    figures: dict[str, Any] = {}
    if engine_alone:
        figures["engine"] = engine(folder / "engine")
    if seconds > 0:
        figures["workers"] = steady(
            folder / "workers", rate, seconds, intervals_ms, backlog=backlog
        )
    return figures
