"""`cx bench throughput`: what the processor costs, against peers on the
same events in the same run (a validating consumer as the ceiling, a faust
agent, ingest alone, two workers), with CPU per record and the delay from
send to queryable. The runs and how to read them: docs/performance.md,
"The benchmark"."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from schemas import accept_event
from streams.dev.bench.cpu import Kinds, Reading, read_cpu, spent
from streams.dev.bench.faust_peer import run_faust_peer
from streams.dev.bench.latency import latency_summary, send_paced, stored_at
from streams.dev.bench.procfs import status_kb
from streams.dev.bench.topic_batches import held_by_codec
from streams.dev.bench.workers import bench_worker, uncompressed
from streams.dev.broker import LocalBroker, local_settings
from streams.dev.child_worker import ChildWorker, start_together, stop_together
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.produce import produce_records
from streams.runtime.kafka import ensure_topics
from streams.runtime.security import kafka_auth
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics, topic_configs, topic_plan

EVENTS_PER_PERSON = 9.39
"""Records the generator makes per person (measured; duplicates and invalid
records included)."""


@dataclass(frozen=True)
class Plan:
    events: int = 1_000_000
    seed: int = 1
    faust_peer: bool = True
    two_workers: bool = True
    ingest_alone: bool = True
    latency_seconds: float = 30.0
    """0: no latency run."""


async def ceiling(settings: Settings, expected: int) -> float:
    """Seconds for a getmany + validate consumer to read `expected` records."""
    topics = Topics(settings.topic_prefix)
    consumer = AIOKafkaConsumer(
        *topics.channels,
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
        **kafka_auth(settings),
    )
    channels = topics.channels
    await consumer.start()
    try:
        seen = 0
        started: float | None = None
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if started is None and batch:
                started = time.perf_counter()
            for tp, records in batch.items():
                channel = channels[tp.topic]
                for record in records:
                    if record.value:
                        accept_event(record.value, channel)
                seen += len(records)
        assert started is not None
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def _pid(worker: ChildWorker) -> int:
    assert worker.process is not None
    return worker.process.pid


@dataclass(frozen=True)
class Timed:
    """What `time_workers` saw (times from `time.perf_counter`)."""

    started: float
    """The first poll at which the timing had begun."""
    at_start: dict[str, Any]
    """The first worker's stats at that poll."""
    ended: float
    """When the last batch of any consumer of any worker was handled."""
    polled: float
    """When every worker was found idle."""
    cpu: dict[str, Kinds]
    """CPU seconds from `started` to `polled`: workers, broker, this harness."""
    stats: list[dict[str, Any]]
    """Every worker's final stats."""


def time_workers(
    workers: list[ChildWorker],
    broker: LocalBroker,
    *,
    begun: Callable[[dict[str, Any]], bool],
    done: Callable[[dict[str, Any]], bool],
    what: str,
) -> Timed:
    """Poll the first worker's stats (every 0.25 s) until `done`, timing from
    the first poll at which `begun`, then wait until every consumer of every
    worker has caught up; the CPU time of every process meanwhile."""
    pids = {"broker": broker.pid, "harness": os.getpid()}
    pids.update((f"worker_{i}", _pid(worker)) for i, worker in enumerate(workers))
    at_first: dict[str, Reading] = {}
    start: tuple[float, dict[str, Any]] | None = None

    def poll(stats: dict[str, Any]) -> bool:
        nonlocal start
        if start is None and begun(stats):
            start = (time.perf_counter(), stats)
            at_first.update((name, read_cpu(pid)) for name, pid in pids.items())
        return done(stats)

    workers[0].wait_until(poll, 3600, what)  # raises if the worker exits
    for worker in workers:
        worker.wait_idle(timeout=600)
    polled = time.perf_counter()
    assert start is not None
    cpu = {name: spent(pid, at_first[name], read_cpu(pid)) for name, pid in pids.items()}
    stats = [worker.stats() for worker in workers]
    # The last batch of any consumer of any worker ended this long ago:
    quiet = min(
        c["seconds_since_last_batch"] or 0.0 for s in stats for c in s["consumers"].values()
    )
    return Timed(start[0], start[1], polled - quiet, polled, cpu, stats)


def run_workers(
    workers: list[ChildWorker], valid: int, invalid: int, broker: LocalBroker
) -> dict[str, Any]:
    """Start the workers (the first one stores) and time them from the first
    touchpoint stored until every consumer of every worker has caught up;
    the CPU time of the workers, the broker and this process meanwhile."""
    start_together(workers)
    store = workers[0]
    try:
        baseline_kb = status_kb("VmRSS", _pid(store))

        def touchpoints(stats: dict[str, Any]) -> int:
            return int(stats.get("clickhouse", {}).get("touchpoints", 0))

        def all_stored(stats: dict[str, Any]) -> bool:
            dead = stats.get("clickhouse", {}).get("deadletters", 0)
            return touchpoints(stats) >= valid and dead >= invalid

        timed = time_workers(
            workers,
            broker,
            begun=lambda stats: touchpoints(stats) > 0,
            done=all_stored,
            what=f"done storing {valid} + {invalid}",
        )
        stats = timed.stats
        people = sum(s["journeys"].get("people_in_memory", 0) for s in stats)
        rss_kb = sum(status_kb("VmRSS", _pid(w)) for w in workers)
        return {
            "seconds": round(timed.ended - timed.started, 3),
            "peak_rss_mb": [status_kb("VmHWM", _pid(w)) // 1024 for w in workers],
            "rss_mb_at_start": baseline_kb // 1024,
            "rss_mb_at_end": rss_kb // 1024,
            "people_in_memory": people,
            "people_evicted": sum(s["journeys"].get("people_evicted", 0) for s in stats),
            "gc": [s["gc"] for s in stats],
            "cpu_s": timed.cpu,
            "cpu_window_s": round(timed.polled - timed.started, 3),
            "stats": stats,
        }
    finally:
        stop_together(workers)


def run_ingest_alone(worker: ChildWorker, records: int, broker: LocalBroker) -> dict[str, Any]:
    """Start a worker with the ingest stage only and time it from the first
    poll that finds a batch handled until it has read all `records`; the
    rate counts the records read in that window (the first batch is before
    it), and so does the CPU a record."""

    def received(stats: dict[str, Any]) -> int:
        return int(stats.get("ingest", {}).get("received", 0))

    worker.start()
    try:
        timed = time_workers(
            [worker],
            broker,
            begun=lambda stats: received(stats) > 0,
            done=lambda stats: received(stats) >= records,
            what=f"done reading {records} records",
        )
        ingest = timed.stats[0]["ingest"]
        return {
            "seconds": round(timed.ended - timed.started, 3),
            "records_timed": records - received(timed.at_start),
            "accepted": ingest["accepted"],
            "rejected": ingest["rejected"],
            "cpu_s": timed.cpu,
            "cpu_window_s": round(timed.polled - timed.started, 3),
            "gc": timed.stats[0]["gc"],
        }
    finally:
        worker.stop()


def _prepare(settings: Settings, records: list[GeneratedRecord]) -> None:
    asyncio.run(ensure_topics(settings, topic_plan(settings), topic_configs(settings)))
    asyncio.run(produce_records(uncompressed(settings), records))


async def topic_bytes(settings: Settings) -> dict[str, dict[str, int]]:
    """Bytes of the record batches the broker holds on each topic of the
    worker's plan, as stored (compressed or not): the channel topics and
    the worker's own (`internal`), by topic."""
    channels = Topics(settings.topic_prefix).channels
    held: dict[str, dict[str, int]] = {"channels": {}, "internal": {}}
    for topic in topic_plan(settings):
        by_codec = await held_by_codec(settings.bootstrap_servers, topic)
        kind = "channels" if topic in channels else "internal"
        held[kind][topic] = sum(h.bytes for h in by_codec.values())
    return held


def measure(plan: Plan, folder: Path) -> dict[str, Any]:
    people = max(100, round(plan.events / EVENTS_PER_PERSON))
    records = generate_traffic(TrafficSpec(people=people, seed=plan.seed))
    valid = sum(r.truth.kind == "valid" for r in records)
    invalid = sum(r.truth.kind == "invalid" for r in records)
    figures: dict[str, Any] = {"records": len(records), "valid": valid, "invalid": invalid}

    with LocalBroker(log_path=folder / "tansu-one.log") as broker:
        one = bench_worker(broker, folder / "one")
        _prepare(one.settings, records)
        figures["ceiling_s"] = round(asyncio.run(ceiling(one.settings, len(records))), 3)
        figures["processor"] = run_workers([one], valid, invalid, broker)
        figures["kafka_compression"] = one.settings.kafka_compression
        figures["topic_bytes"] = asyncio.run(topic_bytes(one.settings))
        if plan.faust_peer:
            peer = local_settings(
                broker.url,
                folder / "faust-peer",
                app_id="cx-faust-peer",
                log_level="WARNING",
            )
            (folder / "faust-peer").mkdir()
            figures["faust_peer"] = run_faust_peer(peer, folder / "faust-peer", valid, invalid)

    if plan.ingest_alone:
        with LocalBroker(log_path=folder / "tansu-ingest.log") as broker:
            alone = bench_worker(broker, folder / "ingest-alone", roles="ingest")
            _prepare(alone.settings, records)
            figures["ingest_alone"] = run_ingest_alone(alone, len(records), broker)

    if plan.two_workers:
        with LocalBroker(log_path=folder / "tansu-two.log") as broker:
            pair = [
                bench_worker(broker, folder / "two-a"),
                bench_worker(broker, folder / "two-b", roles="ingest,journeys"),
            ]
            _prepare(pair[0].settings, records)
            figures["two_workers"] = run_workers(pair, valid, invalid, broker)

    if plan.latency_seconds > 0:
        rate = 0.5 * len(records) / figures["processor"]["seconds"]
        figures["latency"] = latency_run(folder / "latency", rate, plan)
    return summarize(figures)


def latency_run(folder: Path, rate: float, plan: Plan) -> dict[str, Any]:
    """A fresh worker fed `rate` records/s for `plan.latency_seconds`."""
    people = max(100, round(rate * plan.latency_seconds / EVENTS_PER_PERSON))
    records = generate_traffic(TrafficSpec(people=people, seed=plan.seed + 1))
    with LocalBroker(log_path=folder.parent / "tansu-latency.log") as broker:
        worker = bench_worker(broker, folder)
        settings = worker.settings
        asyncio.run(ensure_topics(settings, topic_plan(settings), topic_configs(settings)))
        worker.start()
        try:
            pid, started = _pid(worker), time.perf_counter()
            before = read_cpu(pid)
            sent_at = asyncio.run(send_paced(uncompressed(settings), records, rate))
            sending = spent(pid, before, read_cpu(pid))
            sending_s = time.perf_counter() - started
            worker.wait_stored(
                sum(r.truth.kind == "valid" for r in records),
                sum(r.truth.kind == "invalid" for r in records),
                timeout=600,
            )
            gc = worker.stats()["gc"]
        finally:
            worker.stop()
        return {
            "offered_records_per_s": round(rate),
            "records": len(records),
            **latency_summary(sent_at, stored_at(settings)),
            "gc": gc,
            # How much of the sending time the worker's main thread was on a
            # core: near 1, it has no room left at this rate.
            "main_thread_busy": round(sending["main"] / sending_s, 2),
        }


def cores_busy(run: dict[str, Any]) -> float:
    """CPU time of every process of a run (workers, broker, this harness)
    over its wall-clock time: 2.0 is two cores, full."""
    busy: float = sum(kinds["total"] for kinds in run["cpu_s"].values()) / run["cpu_window_s"]
    return round(busy, 2)


def cpu_figures(run: dict[str, Any], records: int) -> dict[str, Any]:
    """What one record costs in CPU, by where it is spent, and how busy the
    machine was."""
    worker, broker = run["cpu_s"]["worker_0"], run["cpu_s"]["broker"]

    def per_record(seconds: float) -> float:
        return round(seconds * 1e6 / records, 1)

    return {
        "worker_cpu_us_per_record": per_record(worker["total"]),
        "main_thread_us_per_record": per_record(worker["main"]),
        "clickhouse_cpu_us_per_record": per_record(worker["total"] - worker["main"]),
        "broker_cpu_us_per_record": per_record(broker["total"]),
        "cores": len(os.sched_getaffinity(0)),
        "cores_busy": cores_busy(run),
    }


def summarize(figures: dict[str, Any]) -> dict[str, Any]:
    """The headline figures, computed from the raw ones (kept under `runs`)."""
    records = figures["records"]
    ours = records / figures["processor"]["seconds"]
    ceiling_rate = records / figures["ceiling_s"]
    summary: dict[str, Any] = {
        "records": records,
        "ceiling_records_per_s": round(ceiling_rate),
        "processor_records_per_s": round(ours),
        "processor_share_of_ceiling": round(ours / ceiling_rate, 3),
        "worker_peak_rss_mb": figures["processor"]["peak_rss_mb"][0],
    }
    processor = figures["processor"]
    if processor["people_in_memory"]:
        grown = processor["rss_mb_at_end"] - processor["rss_mb_at_start"]
        summary["rss_mb_per_100k_people"] = round(grown * 100_000 / processor["people_in_memory"])
    summary["longest_gc_pause_ms"] = processor["gc"][0]["longest_pause_ms"]
    summary["longest_gc_pause_cpu_ms"] = processor["gc"][0]["longest_pause_cpu_ms"]
    summary.update(cpu_figures(processor, records))
    held = figures["topic_bytes"]
    internal = sum(held["internal"].values())
    summary["kafka_compression"] = figures["kafka_compression"]
    summary["internal_topics_mb"] = round(internal / 1e6, 1)
    summary["internal_topics_bytes_per_record"] = round(internal / records)
    summary["channel_topics_mb"] = round(sum(held["channels"].values()) / 1e6, 1)
    if "faust_peer" in figures:
        faust = figures["faust_peer"]
        if faust["seconds"] > 0:  # a run stored in a single insert has no duration
            summary["faust_peer_records_per_s"] = round(records / faust["seconds"])
            summary["processor_vs_faust_peer"] = round(ours * faust["seconds"] / records, 2)
    alone = figures.get("ingest_alone")
    # Read whole before the first poll (a small run): no window to time.
    if alone is not None and alone["records_timed"] > 0 and alone["seconds"] > 0:
        alone_rate = alone["records_timed"] / alone["seconds"]
        summary["ingest_alone_records_per_s"] = round(alone_rate)
        summary["ingest_alone_share_of_ceiling"] = round(alone_rate / ceiling_rate, 3)
        main_s = alone["cpu_s"]["worker_0"]["main"]
        summary["ingest_alone_main_thread_us_per_record"] = round(
            main_s * 1e6 / alone["records_timed"], 1
        )
    if "two_workers" in figures:
        two = records / figures["two_workers"]["seconds"]
        summary["two_workers_records_per_s"] = round(two)
        summary["two_workers_scale_up"] = round(two / ours, 2)
        summary["two_workers_cores_busy"] = cores_busy(figures["two_workers"])
    if "latency" in figures:
        latency = figures["latency"]
        summary["latency_offered_records_per_s"] = latency["offered_records_per_s"]
        for key in ("p50_ms", "p99_ms", "max_ms", "missing", "main_thread_busy"):
            summary[f"latency_{key}"] = latency.get(key)
    return {**summary, "runs": figures}
