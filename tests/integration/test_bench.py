"""`cx bench throughput` end to end at a small scale: every run it reports
stored exactly what was sent. Figures are printed by the benchmark, never
asserted here (timings belong to the benchmark, not to tests)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition

from streams.clickhouse.client import Store
from streams.dev.bench.latency import send_paced
from streams.dev.bench.throughput import Plan, measure
from streams.dev.broker import LocalBroker
from streams.dev.generator import TrafficSpec, generate_traffic
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics
from tests.integration.harness import isolated_settings, read_from_start


def test_the_benchmark_runs_every_peer_on_the_same_events(tmp_path: Path) -> None:
    figures = measure(Plan(events=15_000, latency_seconds=3), tmp_path)
    runs = figures["runs"]
    valid, invalid = runs["valid"], runs["invalid"]
    assert valid + invalid < runs["records"]  # duplicates delivered too
    faust = runs["faust_peer"]
    assert (faust["touchpoints"], faust["deadletters"]) == (valid, invalid)
    # The peer's journeys, folded one event at a time, are ours, folded per
    # flush: every journey, its touchpoints, stages, channels and pain points
    # (but `ended` and the pain points that wait for event time to pass: the
    # peer's event time is its latest event's, ours each partition's).
    ours = current_journeys(tmp_path / "one")
    assert sum(journey[0] for journey in ours.values()) == valid
    assert current_journeys(tmp_path / "faust-peer") == ours
    assert faust["journey_versions"] > len(ours)
    assert runs["processor"]["people_in_memory"] > 0
    assert len(runs["two_workers"]["peak_rss_mb"]) == 2
    # Ingest alone reads every record once: each accepted or rejected
    # (repeats are accepted: the store drops them). It times the records read
    # after its first poll; at this size it may read all of them before that
    # (a poll is 0.25 s), and then reports no rate rather than a wrong one.
    alone = runs["ingest_alone"]
    assert (alone["accepted"], alone["rejected"]) == (runs["records"] - invalid, invalid)
    assert 0 <= alone["records_timed"] < runs["records"]
    alone_figures = ["ingest_alone_share_of_ceiling", "ingest_alone_main_thread_us_per_record"]
    assert all(key in figures for key in alone_figures) == (alone["records_timed"] > 0)
    latency = runs["latency"]
    assert latency["missing"] == 0 and latency["events"] > 0
    assert 0 <= latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    assert 0 < latency["main_thread_busy"] <= 1.05  # a share of the wall clock
    for key in (
        "processor_share_of_ceiling",
        "processor_vs_faust_peer",
        "two_workers_scale_up",
        "rss_mb_per_100k_people",
        "longest_gc_pause_ms",
        "longest_gc_pause_cpu_ms",
        "main_thread_us_per_record",
        "clickhouse_cpu_us_per_record",
        "broker_cpu_us_per_record",
        "cores_busy",
        "two_workers_cores_busy",
        "internal_topics_bytes_per_record",
        *(key for key in alone_figures if key in figures),
    ):
        assert figures[key] > 0, key
    held = runs["topic_bytes"]  # what the broker holds, read back from its batches
    assert len(held["channels"]) == 4 and min(held["channels"].values()) > 0
    assert held["internal"]["cx.touchpoints"] > 0 and held["internal"]["cx.journey-rows"] > 0
    # The worker's CPU is its main thread's and its other threads'.
    assert figures["worker_cpu_us_per_record"] == pytest.approx(
        figures["main_thread_us_per_record"] + figures["clickhouse_cpu_us_per_record"], abs=0.2
    )


def current_journeys(folder: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(customer key, journey id) -> what the journey holds, in a run's store."""
    store = Store(f"chdb://{folder / 'clickhouse'}", "cx")
    try:
        rows = store.client.query(
            "SELECT customer_key, journey_id, touchpoints, purchases, stages, channels, "
            "channel_switches, converted, arrayFilter(k -> k NOT IN "
            "('abandoned_checkout', 'unanswered_support'), pain_kinds) FROM cx.current_journeys"
        ).result_rows
    finally:
        store.close()
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def test_the_paced_sender_delivers_every_record_once_and_times_every_valid_event(
    broker: LocalBroker, tmp_path: Path
) -> None:
    settings = isolated_settings(broker, tmp_path)
    records = generate_traffic(TrafficSpec(people=60, seed=5))
    # Fast enough that produces are still under way when the last tick is
    # sent (their waiting records go out after the loop).
    sent_at = asyncio.run(send_paced(settings, records, rate=20_000))
    valid_ids = {r.truth.event_id for r in records if r.truth.kind == "valid" and r.truth.event_id}
    assert set(sent_at) == valid_ids
    topics = Topics(settings.topic_prefix)
    expected = Counter(topics.channel(r.channel) for r in records)
    assert asyncio.run(values_per_topic(settings, list(expected))) == expected


async def values_per_topic(settings: Settings, names: list[str]) -> Counter[str]:
    tps = [TopicPartition(name, p) for name in names for p in range(settings.channel_partitions)]
    return Counter(r.topic for r in await read_from_start(settings, tps))


def test_the_partitions_benchmark_stores_every_row_of_both_arms() -> None:
    from streams.dev.bench.partitions import measure

    figures = measure(rows=240, spans=(1, 120), rounds=2)
    assert figures["rows_stored"] == 240 * 2 * 2 * 2  # rows x spans x rounds x arms
    assert figures["months_stored"] == 120
