"""`cx bench steady` and `cx bench history` end to end at a tiny size (each
starts its own brokers and workers): the reports hold every figure, with
sane values, every event sent was stored, and the steady run's floor (a
bare relay) relayed the same records. No timing is asserted:
figures belong to the benchmark, not to tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.clickhouse.client import Store
from streams.dev.bench.clickhouse_writes import last_block, parts_on_disk
from streams.dev.bench.history import HistoryPlan
from streams.dev.bench.history import measure as measure_history
from streams.dev.bench.steady import SteadyPlan
from streams.dev.bench.steady import measure as measure_steady
from streams.dev.bench.topic_growth import worker_topics
from streams.dev.broker import local_settings


def test_the_steady_benchmark_reports_each_rate_against_the_backlog(tmp_path: Path) -> None:
    plan = SteadyPlan(backlog_events=3000, rates=("150", "0.1x"), seconds=3, idle_seconds=2)
    figures = measure_steady(plan, tmp_path)
    runs = figures["runs"]
    backlog_us = figures["backlog_worker_cpu_us_per_record"]
    assert figures["backlog_records"] == runs["backlog"]["records"] > 2000
    assert backlog_us > 0 and figures["backlog_records_per_s"] > 0
    assert 0 < figures["idle_worker_cores"] < 2
    assert len(runs["windows"]) == 2
    half = runs["windows"][1]["offered_records_per_s"]
    assert half == round(0.1 * runs["backlog"]["records"] / runs["backlog"]["seconds"])
    for window in runs["windows"]:
        at = figures[f"at_{window['offered_records_per_s']:g}_per_s"]
        assert at["records"] == window["records"] > 0
        # The worker worked; what it spent beyond idling, per record (a
        # window this short can be within the idle cost's noise: 0 then).
        assert window["cpu_s"] > 0 and window["window_s"] > 0
        beyond_idle = max(0.0, window["cpu_s"] - figures["idle_worker_cores"] * window["window_s"])
        expected_us = beyond_idle * 1e6 / window["records"]
        assert at["worker_cpu_us_per_record"] == pytest.approx(expected_us, abs=0.06)
        assert at["vs_backlog"] == pytest.approx(expected_us / backlog_us, 0.01, abs=0.006)
        assert at["missing"] == 0  # every valid event sent was stored and timed
        assert 0 <= at["p50_ms"] <= at["p99_ms"]
        # The worker's own inserts, and the parts ClickHouse wrote for them.
        touchpoints = at["clickhouse"]["touchpoints"]
        assert touchpoints["inserts_per_min"] > 0 and touchpoints["parts_per_min"] > 0
        assert touchpoints["rows_per_insert"] > 0
        views = at["clickhouse"]["metrics_minute"]
        assert views["inserts_per_min"] is None and views["parts_per_min"] > 0
    # The touchpoints of the new parts seen: each stored in one part, once.
    stored = sum(window["latency"]["events"] for window in runs["windows"])
    assert 0 < sum(window["rows_seen"]["touchpoints"] for window in runs["windows"]) <= stored
    # The parts read from the directory are the ones ClickHouse lists.
    settings = local_settings("kafka://127.0.0.1:9", tmp_path / "worker")
    on_disk = {table: last_block(parts) for table, parts in parts_on_disk(settings).items()}
    store = Store.of(settings)
    try:
        listed = store.client.query(
            "SELECT table, max(max_block_number) FROM system.parts "
            "WHERE database = {db:String} GROUP BY table",
            parameters={"db": settings.database},
        ).result_rows
        touchpoints = store.client.query("SELECT count() FROM cx.touchpoints").result_rows[0][0]
    finally:
        store.close()
    assert on_disk == dict(listed)
    assert touchpoints == runs["backlog"]["touchpoints"] + stored
    # The floor (a bare relay on the same client) relayed the same records.
    floor = runs["floor"]
    assert floor["records"] == runs["backlog"]["records"]
    assert floor["cpu_s"] > 0 and floor["window_s"] > 0
    # (a backlog this small can be within the relay's idle noise: 0 then)
    drained_us = max(0.0, floor["cpu_s"] - floor["idle_cores"] * floor["window_s"])
    drained_us *= 1e6 / floor["records"]
    assert figures["floor_backlog_cpu_us_per_record"] == floor["cpu_us_per_record"]
    assert floor["cpu_us_per_record"] == pytest.approx(drained_us, abs=0.06)
    assert [(w["offered_records_per_s"], w["records"]) for w in floor["windows"]] == [
        (w["offered_records_per_s"], w["records"]) for w in runs["windows"]
    ]
    for peer in floor["windows"]:
        at = figures[f"at_{peer['offered_records_per_s']:g}_per_s"]
        assert peer["cpu_s"] > 0
        beyond_idle = max(0.0, peer["cpu_s"] - floor["idle_cores"] * peer["window_s"])
        expected_us = beyond_idle * 1e6 / peer["records"]
        assert at["floor_cpu_us_per_record"] == pytest.approx(expected_us, abs=0.06)
        if floor["cpu_us_per_record"] > 0:
            assert at["floor_vs_backlog"] == pytest.approx(
                expected_us / floor["cpu_us_per_record"], 0.01, abs=0.006
            )
        else:
            assert at["floor_vs_backlog"] is None


def test_the_history_benchmark_compares_the_same_live_events_after_two_histories(
    tmp_path: Path,
) -> None:
    plan = HistoryPlan(people=20, short=2, long=12, live=4, rate=200, idle_seconds=2)
    figures = measure_history(plan, tmp_path)
    topics = set(worker_topics(local_settings("kafka://127.0.0.1:9", tmp_path)))
    for case, length in (("short", 2), ("long", 12)):
        run, summary = figures["runs"][case], figures[case]
        assert run["history_events"] == 20 * length and run["live_events"] == 80
        assert summary["cpu_us_per_live_event"] > 0
        assert set(summary["bytes_per_live_event"]) == topics  # every topic the worker writes
        assert summary["bytes_per_live_event"]["cx.journeys"] > 0
        assert summary["stored_bytes_per_live_event"]["cx.journeys"] > 0
        assert summary["journey_state_bytes_per_person"] > 0
        assert summary["people_in_memory"] >= 20  # people not linked yet count apart
        assert run["latency"]["missing"] == 0
    ratios = figures["long_over_short"]
    short, long = figures["short"], figures["long"]
    assert ratios["cpu_us_per_live_event"] == pytest.approx(
        long["cpu_us_per_live_event"] / short["cpu_us_per_live_event"], abs=0.01
    )
    assert ratios["bytes_per_live_event"]["cx.journeys"] == pytest.approx(
        long["bytes_per_live_event"]["cx.journeys"] / short["bytes_per_live_event"]["cx.journeys"],
        abs=0.01,
    )
    # The state per person is reported as measured (whether it grows with the
    # history is what the benchmark is for, not a fixed outcome of 20 people).
    assert ratios["journey_state_bytes_per_person"] == pytest.approx(
        long["journey_state_bytes_per_person"] / short["journey_state_bytes_per_person"], abs=0.01
    )
