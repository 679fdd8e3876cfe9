"""The arithmetic of `cx bench steady` and `cx bench history`, on made-up
raw figures: idle CPU taken out, ratios from the two figures they compare,
rates, inserts read from /metrics, parts read from a data directory."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from streams.dev.bench.busy import Mark, Window, ratio
from streams.dev.bench.clickhouse_writes import (
    Part,
    PartWatch,
    Written,
    insert_counts,
    parse_part,
    parts_on_disk,
    per_table,
    written_between,
)
from streams.dev.bench.history import HistoryPlan, long_over_short
from streams.dev.bench.history import summarize as summarize_history
from streams.dev.bench.steady import parse_rates, resolve
from streams.dev.bench.steady import summarize as summarize_steady
from streams.dev.bench.topic_growth import record_bytes, worker_topics
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics, topic_plan


def test_a_window_takes_out_the_idle_cost_in_proportion_to_its_length() -> None:
    window = Window.between(Mark(10.0, 100.0), Mark(16.0, 120.0))
    assert (window.cpu_s, window.seconds) == (6.0, 20.0)
    assert window.busy_s(0.1) == pytest.approx(4.0)  # 2 s of the 6 were idle cost
    assert window.us_per_event(0.1, 2000) == 2000.0
    assert window.us_per_event(0.0, 2000) == 3000.0
    assert window.busy_s(0.5) == 0.0  # never below nothing
    assert window.us_per_event(0.1, 0) == 0.0
    assert ratio(2000.0, 125.0) == 16.0
    assert ratio(1.0, 0.0) is None


def test_rates_are_records_a_second_or_a_share_of_the_backlogs() -> None:
    assert parse_rates("500, 0.5x,1200") == ("500", "0.5x", "1200")
    assert [resolve(r, 9000.0) for r in ("500", "0.5x", "1.5x")] == [500.0, 4500, 13500]
    for wrong in ("", "fast", "0", "0x", "-5", "5 x", "500,"):
        with pytest.raises(ValueError):
            parse_rates(wrong)


def _window(rate: float, cpu_s: float, seconds: float, records: int) -> dict[str, Any]:
    return {
        "offered_records_per_s": rate,
        "records": records,
        "sending_s": seconds - 4,
        "caught_up_s": seconds - 3,
        "window_s": seconds,
        "cpu_s": cpu_s,
        "latency": {"p50_ms": 200, "p99_ms": 900, "missing": 0},
        "clickhouse": {"touchpoints": {"inserts_per_min": 400.0}},
    }


def test_steady_figures_are_per_record_against_the_backlog_of_the_same_run() -> None:
    runs = {
        "backlog": {"records": 50_000, "seconds": 5.0, "cpu_us_per_record": 100.0},
        "idle_cores": 0.2,
        "windows": [_window(500, 36.0, 34.0, 15_000), _window(4500.0, 40.0, 36.0, 135_000)],
    }
    summary = summarize_steady(runs)
    assert summary["backlog_records_per_s"] == 10_000
    at_500 = summary["at_500_per_s"]
    # (36 - 0.2 x 34) s over 15,000 records
    assert at_500["worker_cpu_us_per_record"] == pytest.approx(1946.7)
    assert at_500["vs_backlog"] == pytest.approx(19.47)
    assert at_500["caught_up_s_after_sending"] == 1.0
    assert summary["at_4500_per_s"]["vs_backlog"] == pytest.approx(
        summary["at_4500_per_s"]["worker_cpu_us_per_record"] / 100.0, abs=0.01
    )
    assert summary["runs"] is runs


def test_inserts_are_read_from_the_workers_metrics() -> None:
    text = "\n".join(
        [
            "# HELP cx_clickhouse_insert_seconds Time of each insert.",
            "# TYPE cx_clickhouse_insert_seconds histogram",
            'cx_clickhouse_insert_seconds_bucket{le="0.1",table="touchpoints"} 3.0',
            'cx_clickhouse_insert_seconds_count{table="touchpoints"} 7.0',
            'cx_clickhouse_insert_seconds_sum{table="touchpoints"} 0.4',
            'cx_clickhouse_insert_seconds_count{table="journeys"} 2.0',
            "# TYPE cx_up gauge",
            "cx_up 1.0",
        ]
    )
    assert insert_counts(text) == {"touchpoints": 7, "journeys": 2}


def test_part_names() -> None:
    assert parse_part("202609_12_17_1", 40) == Part("202609", 12, 17, 1, 40)
    assert parse_part("all_3_3_0_9", 5) == Part("all", 3, 3, 0, 5)  # mutated
    for not_a_part in ("detached", "deduplication_logs", "tmp_insert_all_4_4_0", "all_x_1_0"):
        assert parse_part(not_a_part, 1) is None


def test_parts_written_between_two_looks_at_the_disk(tmp_path: Path) -> None:
    settings = Settings(clickhouse_url=f"chdb://{tmp_path}", database="cx")
    store = tmp_path / "store" / "abc"
    (tmp_path / "data" / "cx").mkdir(parents=True)
    (tmp_path / "data" / "cx" / "touchpoints").symlink_to(store, target_is_directory=True)

    def part(name: str, rows: int) -> None:
        (store / name).mkdir(parents=True)
        (store / name / "count.txt").write_text(str(rows))

    part("202609_1_1_0", 10)
    part("202609_2_2_0", 20)
    (store / "detached").mkdir()
    (store / "format_version.txt").write_text("1")
    before = parts_on_disk(settings)
    assert sorted(p.max_block for p in before["touchpoints"].values()) == [1, 2]
    part("202609_1_3_1", 33)  # a merge, including the next insert's part
    part("202609_3_3_0", 3)
    part("202610_4_4_1", 4)  # an insert optimized on the way (level 1)...
    part("202610_4_4_2", 4)  # ...then merged alone: the same rows, once
    part("202610_6_6_0", 6)  # block 5 went to a part merged away and gone
    seen = parts_on_disk(settings, known=before)
    assert seen["touchpoints"]["202609_1_1_0"] is before["touchpoints"]["202609_1_1_0"]
    written = written_between(before, seen)
    assert written == {"touchpoints": Written(parts=4, seen=3, rows=13)}
    figures = per_table({"touchpoints": 3}, {**written, "metrics_minute": Written(8, 8, 80)}, 30.0)
    assert figures["touchpoints"] == {
        "inserts_per_min": 6.0,
        "parts_per_min": 8.0,
        "rows_per_insert": 5.8,  # 13/3 rows a part seen, 4/3 parts an insert
        "rows_per_part": 4.3,
    }
    # Filled by a materialized view: parts, no inserts of its own.
    assert figures["metrics_minute"]["inserts_per_min"] is None
    assert figures["metrics_minute"]["rows_per_insert"] is None
    # The watch keeps what it saw after the disk lost it.
    watch = PartWatch(settings, interval=0.01).start()
    part("202610_7_7_0", 7)
    time.sleep(0.2)
    shutil.rmtree(store / "202610_7_7_0")
    part("202610_4_8_3", 24)
    assert watch.stop()["touchpoints"] == Written(parts=2, seen=1, rows=7)


def test_every_topic_the_worker_writes_is_counted_with_headers() -> None:
    settings = Settings()
    topics = Topics(settings.topic_prefix)
    assert set(worker_topics(settings)) == set(topic_plan(settings)) - set(topics.channels)
    assert topics.journeys in worker_topics(settings)
    assert record_bytes(b"key", b"value", [("cx.steps", b"[[1]]"), ("h", b"")]) == 3 + 5 + 13 + 1
    assert record_bytes(None, None, []) == 0


def _case(
    history: int, cpu_us: float, changelog_bytes: int, state_bytes: int, people: int
) -> dict[str, Any]:
    return {
        "history_events": history * 200,
        "live_events": 4000,
        "people_in_memory": people,
        "rss_kb": {"start": 400_000, "after_history": 400_000 + 100 * people, "end": 0},
        "idle_cores": 0.1,
        "cpu_us_per_live_event": cpu_us,
        "journey_versions_written": 1200,
        "journey_state": {"people": people, "bytes": state_bytes * people, "max_bytes": 0},
        "topics": {
            "cx.journeys": {"records": 1, "bytes_read": changelog_bytes, "bytes_stored": 400},
            "cx.alerts": {"records": 0, "bytes_read": 0, "bytes_stored": 0},
        },
        "latency": {"p50_ms": 250, "p99_ms": 600},
    }


def test_history_figures_per_live_event_and_the_long_over_the_short() -> None:
    runs = {
        "short": _case(4, 1300.0, 4000 * 408, 1400, 350),
        "long": _case(400, 1650.0, 4000 * 8160, 29_000, 450),
    }
    summary = summarize_history(HistoryPlan(), runs)
    short, long = summary["short"], summary["long"]
    assert (short["history_events_per_person"], long["history_events_per_person"]) == (4, 400)
    assert short["bytes_per_live_event"] == {"cx.journeys": 408, "cx.alerts": 0}
    assert short["stored_bytes_per_live_event"]["cx.journeys"] == 0  # 400 bytes, 4000 events
    assert short["journey_versions_per_live_event"] == 0.3
    assert (short["journey_state_bytes_per_person"], short["rss_kb_per_person"]) == (1400, 100)
    ratios = summary["long_over_short"]
    assert ratios["cpu_us_per_live_event"] == pytest.approx(1650 / 1300, abs=0.01)
    assert ratios["bytes_per_live_event"] == {"cx.journeys": 20.0, "cx.alerts": None}
    assert ratios["journey_state_bytes_per_person"] == pytest.approx(29_000 / 1400, abs=0.01)
    assert long_over_short(short, short)["rss_kb_per_person"] == 1.0
