"""`cx bench steady`: what an event costs at a steady rate, against what it
costs in a backlog, in one worker in one run.

Real traffic is a steady stream: batches are small, and so are inserts.
One worker on a fresh broker first drains a backlog (its rate and CPU per
record are the run's baseline), idles (its idle CPU is measured and taken
out of every window), then gets traffic at each rate in turn for a fixed
time, paced, continuing the backlog's event time with new people. Per
rate: the worker's CPU per record and its ratio to the backlog's, the
delay from send to queryable, and ClickHouse's inserts and parts per
minute and rows per insert, by table. Then, as its peer, the Kafka
client's floor (`streams.dev.bench.relay_floor`): a bare two-hop relay on
the same client, given the same backlog and the same records at the same
rates. How to read it: docs/performance.md, "A steady rate against a
backlog".
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.dev.bench.busy import Mark, Window, idle_cores, mark, ratio
from streams.dev.bench.clickhouse_writes import PartWatch, insert_counts, per_table
from streams.dev.bench.latency import latency_summary, send_paced, stored_at
from streams.dev.bench.relay_floor import measure_floor
from streams.dev.bench.throughput import EVENTS_PER_PERSON
from streams.dev.bench.workers import bench_worker, uncompressed
from streams.dev.broker import LocalBroker
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.generator.traffic import weeks_ago
from streams.dev.produce import produce_records
from streams.runtime.kafka import ensure_topics
from streams.runtime.topics import topic_configs, topic_plan

RATE = re.compile(r"^(\d+(?:\.\d+)?)(x?)$")
"""A rate: records a second (`500`), or a share of the backlog's (`0.5x`)."""


def parse_rates(text: str) -> tuple[str, ...]:
    """`500,0.5x` -> ("500", "0.5x"); ValueError on anything else."""
    rates = tuple(part.strip() for part in text.split(","))
    for rate in rates:
        found = RATE.match(rate)
        if found is None or float(found.group(1)) <= 0:
            raise ValueError(f"not a rate: {rate!r} (records a second, or a share such as 0.5x)")
    return rates


def resolve(rate: str, backlog_rate: float) -> float:
    """Records a second of `rate`, given the backlog's."""
    found = RATE.match(rate)
    assert found is not None, rate
    value = float(found.group(1))
    return round(value * backlog_rate) if found.group(2) else value


@dataclass(frozen=True)
class SteadyPlan:
    backlog_events: int = 50_000
    rates: tuple[str, ...] = ("500", "0.5x")
    seconds: float = 30.0
    """How long each rate is offered."""
    idle_seconds: float = 10.0
    seed: int = 1
    floor: bool = True
    """Also measure the Kafka client's floor (a bare relay) on the same traffic."""


def start_worker(broker: LocalBroker, folder: Path) -> ChildWorker:
    """A worker on `broker` (the embedded ClickHouse in `folder`, the alert
    rules of deploy/alerts.toml), its topics made, started and healthy."""
    worker = bench_worker(broker, folder)
    settings = worker.settings
    asyncio.run(ensure_topics(settings, topic_plan(settings), topic_configs(settings)))
    return worker.start()


def _stored(records: list[GeneratedRecord]) -> tuple[int, int]:
    """(touchpoints, dead letters) that `records` add to the store."""
    kinds = [r.truth.kind for r in records]
    return kinds.count("valid"), kinds.count("invalid")


def _last_batch(worker: ChildWorker) -> float:
    """When (time.perf_counter()) the worker last handled a batch."""
    consumers = worker.stats()["consumers"].values()
    return time.perf_counter() - min(c["seconds_since_last_batch"] or 0.0 for c in consumers)


def measure(plan: SteadyPlan, folder: Path) -> dict[str, Any]:
    people = max(100, round(plan.backlog_events / EVENTS_PER_PERSON))
    spec = TrafficSpec(people=people, seed=plan.seed, start=weeks_ago(20), late_share=0.0)
    backlog = generate_traffic(spec)
    with LocalBroker(log_path=folder / "tansu.log") as broker:
        worker = start_worker(broker, folder / "worker")
        settings = worker.settings
        assert worker.process is not None
        pid = worker.process.pid
        try:
            before = mark(pid)
            asyncio.run(produce_records(uncompressed(settings), backlog))
            worker.wait_stored(*_stored(backlog), timeout=1800)
            worker.wait_idle(timeout=600)
            after = mark(pid)
            drained = _last_batch(worker) - before.at
            backlog_rate = len(backlog) / drained
            rates = [resolve(rate, backlog_rate) for rate in plan.rates]
            # New people, their event time from where the backlog's ended.
            ended = max(r.truth.occurred_at_ms for r in backlog)
            needed = sum(math.ceil(rate * plan.seconds) for rate in rates)
            live_spec = replace(
                spec,
                people=math.ceil(1.1 * needed / EVENTS_PER_PERSON) + 10,
                seed=plan.seed + 1,
                start=datetime.fromtimestamp(ended / 1000, tz=UTC),
                first_person=people,
            )
            live = generate_traffic(live_spec)
            while len(live) < needed:  # people made fewer records than usual
                live_spec = replace(live_spec, people=math.ceil(live_spec.people * 1.2))
                live = generate_traffic(live_spec)
            idle = idle_cores(pid, plan.idle_seconds)
            windows, offered, sent = [], [], 0
            stored = _stored(backlog)
            for rate in rates:
                records = live[sent : sent + math.ceil(rate * plan.seconds)]
                sent += len(records)
                added = _stored(records)
                stored = (stored[0] + added[0], stored[1] + added[1])
                windows.append(offer(worker, records, rate, stored))
                offered.append((rate, records))
        finally:
            worker.stop()
        when_stored = stored_at(settings)
    # After the worker, never beside it: each has the machine to itself.
    floor = (
        measure_floor(backlog, offered, plan.idle_seconds, folder / "floor") if plan.floor else None
    )
    for window in windows:
        window["latency"] = latency_summary(window.pop("sent_at"), when_stored)
    runs = {
        "backlog": {
            "records": len(backlog),
            "touchpoints": _stored(backlog)[0],
            "seconds": round(drained, 3),
            "cpu_s": round(Window.between(before, after).cpu_s, 3),
            "window_s": round(after.at - before.at, 3),
            "cpu_us_per_record": Window.between(before, after).us_per_event(idle, len(backlog)),
        },
        "idle_cores": idle,
        "windows": windows,
        "floor": floor,
    }
    return summarize(runs)


def offer(
    worker: ChildWorker, records: list[GeneratedRecord], rate: float, stored: tuple[int, int]
) -> dict[str, Any]:
    """Send `records` at `rate` a second, wait until the worker has stored
    `stored` (touchpoints, dead letters: all so far) and is idle again."""
    settings = worker.settings
    assert worker.process is not None
    pid = worker.process.pid
    watch = PartWatch(settings).start()
    inserts = insert_counts(worker.metrics())
    start = mark(pid)
    sent_at = asyncio.run(send_paced(uncompressed(settings), records, rate))
    sending_s = time.perf_counter() - start.at
    worker.wait_stored(*stored, timeout=1800)
    worker.wait_idle(timeout=600)
    end: Mark = mark(pid)
    caught_up = _last_batch(worker) - start.at
    window = Window.between(start, end)
    now_inserts = insert_counts(worker.metrics())
    inserted = {t: n - inserts.get(t, 0) for t, n in now_inserts.items() if n > inserts.get(t, 0)}
    written = watch.stop()
    return {
        "offered_records_per_s": rate,
        "records": len(records),
        "sending_s": round(sending_s, 3),
        "caught_up_s": round(caught_up, 3),
        "window_s": round(window.seconds, 3),
        "cpu_s": round(window.cpu_s, 3),
        "inserts": inserted,
        "parts": {t: w.parts for t, w in written.items() if w.parts},
        "parts_seen": {t: w.seen for t, w in written.items() if w.parts},
        "rows_seen": {t: w.rows for t, w in written.items() if w.parts},
        "clickhouse": per_table(inserted, written, sending_s),
        "sent_at": sent_at,
    }


def summarize(runs: dict[str, Any]) -> dict[str, Any]:
    """The headline figures, computed from the raw ones (kept under `runs`)."""
    backlog, idle = runs["backlog"], runs["idle_cores"]
    backlog_us = backlog["cpu_us_per_record"]
    summary: dict[str, Any] = {
        "backlog_records": backlog["records"],
        "backlog_records_per_s": round(backlog["records"] / backlog["seconds"]),
        "backlog_worker_cpu_us_per_record": backlog_us,
        "idle_worker_cores": idle,
    }
    floor = runs.get("floor")
    floor_us: dict[float, float] = {}
    if floor is not None:
        summary["floor_backlog_cpu_us_per_record"] = floor["cpu_us_per_record"]
        for peer in floor["windows"]:
            floor_us[peer["offered_records_per_s"]] = Window(
                peer["cpu_s"], peer["window_s"]
            ).us_per_event(floor["idle_cores"], peer["records"])
    for window in runs["windows"]:
        rate = window["offered_records_per_s"]
        cpu_us = Window(window["cpu_s"], window["window_s"]).us_per_event(idle, window["records"])
        summary[f"at_{rate:g}_per_s"] = {
            "records": window["records"],
            "worker_cpu_us_per_record": cpu_us,
            "vs_backlog": ratio(cpu_us, backlog_us),
            "p50_ms": window["latency"].get("p50_ms"),
            "p99_ms": window["latency"].get("p99_ms"),
            "missing": window["latency"].get("missing"),
            "caught_up_s_after_sending": round(window["caught_up_s"] - window["sending_s"], 1),
            "clickhouse": window["clickhouse"],
        }
        if rate in floor_us:
            summary[f"at_{rate:g}_per_s"] |= {
                "floor_cpu_us_per_record": floor_us[rate],
                "floor_vs_backlog": ratio(
                    floor_us[rate], summary["floor_backlog_cpu_us_per_record"]
                ),
            }
    return {**summary, "runs": runs}
