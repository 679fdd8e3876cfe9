"""Prometheus metrics of one worker, served at `GET /metrics`.

One registry per `Processor` (never prometheus_client's global one), so that
several processors in one process (the tests) do not clash. What the
processor already counts (records, dead letters, lag, people, alerts) is read
from its state at scrape time by `StateCollector`: nothing is added to the
hot path for it, and `/stats` shows the same numbers. Only durations are
observed as they happen (histograms), once per batch, flush or insert.

Labels are low-cardinality only: stage, channel, reason, topic, partition,
table, system, state. Never a person, an event id, an identifier or a key.
"""

from __future__ import annotations

import platform
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from streams.clickhouse.client import OffLoopStore, Store
from streams.runtime.gc_watch import PAUSE_BUCKETS
from streams.runtime.retry import RETRIES

if TYPE_CHECKING:
    from streams.runtime.processor import Processor

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "TimedStore"]

BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: a batch is handled in milliseconds; a flush or an insert waiting
on a retried ClickHouse can take many seconds."""


def _version() -> str:
    try:
        return version("cx-stream-processor")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


class Metrics:
    """The registry of one processor and the metrics observed as they happen."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.batch_seconds = Histogram(
            "cx_batch_seconds",
            "Time to handle one batch (validate, route, decide what to store), by stage.",
            ["stage"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.flush_seconds = Histogram(
            "cx_flush_seconds",
            "Time to flush what the batches changed and commit their offsets, by stage.",
            ["stage"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.insert_seconds = Histogram(
            "cx_clickhouse_insert_seconds",
            "Time of each insert into ClickHouse (retries of a failing one included), by table.",
            ["table"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        build = Gauge(
            "cx_build_info",
            "The worker's version and Python version (always 1).",
            ["version", "python"],
            registry=self.registry,
        )
        build.labels(_version(), platform.python_version()).set(1)

    def watch(self, processor: Processor) -> None:
        """Expose the processor's state (read at every scrape)."""
        self.registry.register(StateCollector(processor))

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class TimedStore(OffLoopStore):
    """An `OffLoopStore` that times every insert into `cx_clickhouse_insert_seconds`."""

    def __init__(self, store: Store, metrics: Metrics) -> None:
        super().__init__(store)
        self._seconds = metrics.insert_seconds

    async def insert(
        self, table: str, columns: Mapping[str, Sequence[Any]], *, dedup_token: str | None
    ) -> None:
        with self._seconds.labels(table).time():
            await super().insert(table, columns, dedup_token=dedup_token)

    async def insert_rows(
        self, table: str, columns: Sequence[str], rows: bytes, *, dedup_token: str | None
    ) -> None:
        with self._seconds.labels(table).time():
            await super().insert_rows(table, columns, rows, dedup_token=dedup_token)


def _counter(
    name: str, doc: str, labels: tuple[str, ...], values: Iterable[tuple[tuple[str, ...], float]]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for label_values, value in sorted(values):
        family.add_metric(label_values, value)
    return family


def _gauge(
    name: str, doc: str, labels: tuple[str, ...], values: Iterable[tuple[tuple[str, ...], float]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for label_values, value in sorted(values):
        family.add_metric(label_values, value)
    return family


class StateCollector(Collector):
    """The processor's counts and gauges, read when Prometheus scrapes."""

    def __init__(self, processor: Processor) -> None:
        self.processor = processor

    def collect(self) -> Iterator[Metric]:
        p = self.processor
        received: Counter[str] = Counter()
        rejected: Counter[tuple[str, str]] = Counter()
        if p.ingest is not None:
            received.update(p.ingest.received_by_channel)
            rejected.update(p.ingest.rejections)
        if p.touchpoints is not None:
            rejected.update(p.touchpoints.rejections)
        yield _counter(
            "cx_records_received",
            "Records read from the channel topics by ingest, by channel.",
            ("channel",),
            (((channel,), n) for channel, n in received.items()),
        )
        yield _counter(
            "cx_records_rejected",
            "Records set aside as dead letters, by channel and reason.",
            ("channel", "reason"),
            rejected.items(),
        )
        suppressed = {
            stage: n
            for stage, n in (
                ("ingest", p.ingest.suppressed if p.ingest is not None else None),
                ("journeys", p.journeys.logic.suppressed if p.journeys is not None else None),
                ("store", p.touchpoints.suppressed if p.touchpoints is not None else None),
            )
            if n is not None
        }
        yield _counter(
            "cx_records_suppressed",
            "Events of people erased with suppression, dropped: by stage (ingest; journeys "
            "and store for the events already on their way when the erasure came).",
            ("stage",),
            (((stage,), n) for stage, n in suppressed.items()),
        )
        stored = p.touchpoints.stored if p.touchpoints is not None else 0
        yield _counter(
            "cx_touchpoints_stored", "Touchpoints stored in ClickHouse.", (), [((), stored)]
        )
        duplicates = p.touchpoints.duplicates if p.touchpoints is not None else 0
        yield _counter(
            "cx_duplicates",
            "Events dropped as repeats of an event already stored, by stage.",
            ("stage",),
            [(("store",), duplicates)] if p.touchpoints is not None else [],
        )
        yield from self._consumers()
        inserted = p.inserted()
        yield _counter(
            "cx_clickhouse_inserts",
            "INSERTs ClickHouse accepted (each writes a part per partition), by table.",
            ("table",),
            (((table,), counts["inserts"]) for table, counts in inserted.items()),
        )
        yield _counter(
            "cx_clickhouse_insert_rows",
            "Rows of those INSERTs, by table.",
            ("table",),
            (((table,), counts["rows"]) for table, counts in inserted.items()),
        )
        journeys = p.journeys.logic.people_in_memory() if p.journeys is not None else 0
        yield _gauge(
            "cx_people_in_memory", "People held by the journey stage.", (), [((), journeys)]
        )
        identities = len(p.identity.graph) if p.identity is not None else 0
        yield _gauge(
            "cx_identities", "Identifiers in this worker's identity graph.", (), [((), identities)]
        )
        yield self._gc()
        yield from self._alerts()
        yield _counter(
            "cx_retries",
            "Failures of ClickHouse, Kafka or a webhook that were retried, by system.",
            ("system",),
            (((system,), n) for system, n in {"clickhouse": 0, "kafka": 0, **RETRIES}.items()),
        )
        yield _gauge(
            "cx_event_loop_lag_seconds",
            "How late the event loop's last watchdog tick came.",
            (),
            [((), p.liveness.watch.lag_s)],
        )
        yield _gauge("cx_up", "1 once the worker is ready.", (), [((), float(p.ready.is_set()))])

    def _consumers(self) -> Iterator[Metric]:
        now = time.monotonic()
        consumers = self.processor.consumers
        lag: list[tuple[tuple[str, ...], float]] = []
        for c in consumers:
            for tp, behind in c.lag().items():
                if behind is not None:
                    lag.append(((c.name, tp.topic, str(tp.partition)), behind))
        yield _gauge(
            "cx_consumer_lag_records",
            "Records behind the fetch high watermark, from the group's last commit.",
            ("stage", "topic", "partition"),
            lag,
        )
        yield _counter(
            "cx_stage_records",
            "Records handled by each stage's batch consumer.",
            ("stage",),
            (((c.name,), c.stats.records) for c in consumers),
        )
        yield _gauge(
            "cx_writes_in_flight",
            "Batch writes started and not yet acknowledged, by stage.",
            ("stage",),
            (((c.name,), c.writes_in_flight) for c in consumers),
        )
        yield _gauge(
            "cx_seconds_since_last_commit",
            "Seconds since the stage last committed offsets (or started).",
            ("stage",),
            (((c.name,), now - c.stats.last_commit_at) for c in consumers),
        )

    def _gc(self) -> Metric:
        gc = self.processor.gc
        cumulative, buckets = 0, []
        for bound, n in zip((*PAUSE_BUCKETS, float("inf")), gc.pause_counts, strict=True):
            cumulative += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        family = HistogramMetricFamily(
            "cx_gc_pause_seconds", "Garbage-collection pauses (wall clock)."
        )
        family.add_metric([], buckets, sum(gc.total_s))
        return family

    def _alerts(self) -> Iterator[Metric]:
        alerts = self.processor.alerts
        sinks = alerts.sinks if alerts is not None else None
        yield _counter(
            "cx_alert_evaluations",
            "Evaluations of the alert rules.",
            (),
            [((), alerts.ticks if alerts is not None else 0)],
        )
        yield _gauge(
            "cx_alerts_open",
            "Alerts firing now.",
            (),
            [((), len(alerts.episodes or {}) if alerts is not None else 0)],
        )
        notices = sinks.notices if sinks is not None else Counter[str]()
        yield _counter(
            "cx_alert_notices",
            "Alerts delivered, by state (firing, resolved).",
            ("state",),
            (((state,), notices[state]) for state in ("firing", "resolved")),
        )
        failures = sinks.counts["webhook_failed"] if sinks is not None else 0
        yield _counter(
            "cx_webhook_failures",
            "Webhook posts that failed (refused, 5xx or unreachable).",
            (),
            [((), failures)],
        )
