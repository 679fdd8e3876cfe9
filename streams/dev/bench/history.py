"""`cx bench history`: what a live event costs after a short and after a
long history of its person, the same live events in both cases.

Customers come back for years. Each case is a fresh broker and worker: a
history (`short` or `long` events per person, in event-time order) is sent
as a backlog and drained; the worker's idle CPU is measured; then every
person's timeline continues with `live` more events each, sent in
event-time order at a steady `rate`. Per case: the worker's CPU per live
event (idle taken out), the bytes written per live event to each of the
worker's topics, memory per person; then the long case over the short one.
How to read it: docs/performance.md, "Live events after a long history".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.dev.bench.busy import Window, idle_cores, mark, ratio
from streams.dev.bench.latency import latency_summary, send_paced, stored_at
from streams.dev.bench.procfs import status_kb
from streams.dev.bench.steady import start_worker
from streams.dev.bench.topic_growth import appended, end_offsets, worker_topics
from streams.dev.bench.workers import uncompressed
from streams.dev.broker import LocalBroker
from streams.dev.generator import GeneratedRecord
from streams.dev.generator.timeline import TimelineSpec, in_time_order, timelines
from streams.dev.produce import produce_records
from streams.runtime.topics import Topics


@dataclass(frozen=True)
class HistoryPlan:
    people: int = 200
    short: int = 4
    """History events per person, short case."""
    long: int = 400
    """History events per person, long case."""
    live: int = 20
    """Live events per person after the history."""
    rate: float = 400.0
    """Live events a second."""
    idle_seconds: float = 10.0
    seed: int = 1


def measure(plan: HistoryPlan, folder: Path) -> dict[str, Any]:
    if not 0 < plan.short <= plan.long:
        raise ValueError("the short history must be shorter than the long one")
    spec = TimelineSpec(
        people=plan.people, events=plan.long + plan.live, anchor_event=plan.long, seed=plan.seed
    )
    lines = timelines(spec)
    live = in_time_order(lines, plan.long, plan.long + plan.live)
    runs = {
        name: run_case(
            in_time_order(lines, plan.long - length, plan.long), live, plan, folder / name
        )
        for name, length in (("short", plan.short), ("long", plan.long))
    }
    return summarize(plan, runs)


def run_case(
    history: list[GeneratedRecord], live: list[GeneratedRecord], plan: HistoryPlan, folder: Path
) -> dict[str, Any]:
    """A fresh broker and worker: the history drained, the idle CPU, the
    live events at `plan.rate`; what the worker spent and wrote on them."""
    folder.mkdir(parents=True)
    with LocalBroker(log_path=folder / "tansu.log") as broker:
        worker = start_worker(broker, folder / "worker")
        settings = worker.settings
        try:
            assert worker.process is not None
            pid = worker.process.pid
            rss_start = status_kb("VmRSS", pid)
            asyncio.run(produce_records(uncompressed(settings), history))
            worker.wait_stored(len(history), 0, timeout=1800)
            worker.wait_idle(timeout=600)
            after_history = worker.stats()
            rss_history = status_kb("VmRSS", pid)
            topics = worker_topics(settings)
            since = asyncio.run(end_offsets(settings, topics))
            idle = idle_cores(pid, plan.idle_seconds)
            start = mark(pid)
            sent_at = asyncio.run(send_paced(uncompressed(settings), live, plan.rate))
            worker.wait_stored(len(history) + len(live), 0, timeout=600)
            worker.wait_idle(timeout=600)
            window = Window.between(start, mark(pid))
            until = asyncio.run(end_offsets(settings, topics))
            at_end = worker.stats()
            rss_end = status_kb("VmRSS", pid)
        finally:
            worker.stop()
        written = asyncio.run(appended(settings, since, until))
    changelog = written[Topics(settings.topic_prefix).journeys]
    versions = (
        at_end["journeys"]["versions_written"] - after_history["journeys"]["versions_written"]
    )
    return {
        "history_events": len(history),
        "live_events": len(live),
        "people_in_memory": after_history["journeys"]["people_in_memory"],
        "rss_kb": {"start": rss_start, "after_history": rss_history, "end": rss_end},
        "idle_cores": idle,
        "live_window_s": round(window.seconds, 3),
        "live_cpu_s": round(window.cpu_s, 3),
        "cpu_us_per_live_event": window.us_per_event(idle, len(live)),
        "journey_versions_written": versions,
        # The last changelog record of each person: their state as kept.
        "journey_state": {
            "people": len(changelog.latest),
            "bytes": sum(changelog.latest.values()),
            "max_bytes": max(changelog.latest.values(), default=0),
        },
        "topics": {topic: counted.as_dict() for topic, counted in written.items()},
        "latency": latency_summary(sent_at, stored_at(settings)),
    }


def case_figures(run: dict[str, Any], people: int) -> dict[str, Any]:
    """The per-live-event and per-person figures of one case (`people`:
    generated; the journey stage keeps more, people not yet linked to
    their other identifiers)."""
    events = run["live_events"]
    in_memory = run["people_in_memory"]
    state = run["journey_state"]
    rss = run["rss_kb"]
    return {
        "history_events_per_person": round(run["history_events"] / people, 1),
        "people_in_memory": in_memory,
        "cpu_us_per_live_event": run["cpu_us_per_live_event"],
        "bytes_per_live_event": {
            topic: round(counted["bytes_read"] / events) for topic, counted in run["topics"].items()
        },
        "stored_bytes_per_live_event": {
            topic: round(counted["bytes_stored"] / events)
            for topic, counted in run["topics"].items()
        },
        "journey_versions_per_live_event": round(run["journey_versions_written"] / events, 3),
        "journey_state_bytes_per_person": (
            round(state["bytes"] / state["people"]) if state["people"] else 0
        ),
        "rss_kb_per_person": (
            round((rss["after_history"] - rss["start"]) / in_memory) if in_memory else 0
        ),
        "p50_ms": run["latency"].get("p50_ms"),
        "p99_ms": run["latency"].get("p99_ms"),
        "idle_cores": run["idle_cores"],
    }


def long_over_short(short: dict[str, Any], long: dict[str, Any]) -> dict[str, Any]:
    """Each figure of the long case over the short one's (per topic too)."""
    ratios: dict[str, Any] = {}
    for key in (
        "cpu_us_per_live_event",
        "bytes_per_live_event",
        "stored_bytes_per_live_event",
        "journey_state_bytes_per_person",
        "rss_kb_per_person",
    ):
        if isinstance(long[key], dict):
            ratios[key] = {
                topic: ratio(v, short[key].get(topic, 0)) for topic, v in long[key].items()
            }
        else:
            ratios[key] = ratio(long[key], short[key])
    return ratios


def summarize(plan: HistoryPlan, runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    short, long = (case_figures(runs[name], plan.people) for name in ("short", "long"))
    return {
        "people": plan.people,
        "live_events_per_person": plan.live,
        "live_rate": plan.rate,
        "short": short,
        "long": long,
        "long_over_short": long_over_short(short, long),
        "runs": runs,
    }
