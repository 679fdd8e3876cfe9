"""`cx bench throughput` end to end at a small scale: every run it reports
stored exactly what was sent. Figures are printed by the benchmark, never
asserted here (timings belong to the benchmark, not to tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.bench.throughput import Plan, measure

pytestmark = pytest.mark.integration


def test_the_benchmark_runs_every_peer_on_the_same_events(tmp_path: Path) -> None:
    figures = measure(Plan(events=15_000, latency_seconds=3), tmp_path)
    runs = figures["runs"]
    valid, invalid = runs["valid"], runs["invalid"]
    assert valid + invalid < runs["records"]  # duplicates delivered too
    faust = runs["faust_peer"]
    assert (faust["touchpoints"], faust["deadletters"]) == (valid, invalid)
    assert runs["processor"]["people_in_memory"] > 0
    assert len(runs["two_workers"]["peak_rss_mb"]) == 2
    latency = runs["latency"]
    assert latency["missing"] == 0 and latency["events"] > 0
    assert 0 <= latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    for key in (
        "processor_share_of_ceiling",
        "processor_vs_faust_peer",
        "two_workers_scale_up",
        "rss_mb_per_100k_people",
        "longest_gc_pause_ms",
    ):
        assert figures[key] > 0, key
