"""`Processor`: the worker's own machinery, started and stopped with the faust
app: schema migration, topics, the producer, the ClickHouse store and the two
hot-path batch consumers (ingest, store)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from typing import Any

import mode
from aiokafka import AIOKafkaProducer, TopicPartition

from streams.alerts.rules import load_alerts
from streams.alerts.stage import AlertEvaluator, AlertSinks
from streams.alerts.targets import destinations
from streams.clickhouse.client import OffLoopStore, Store
from streams.clickhouse.gather import InsertLimits
from streams.clickhouse.migrate import migrate
from streams.clickhouse.reconcile import reconcile_metrics
from streams.clickhouse.retention import apply_retention
from streams.deadletters.sink import DeadLetterSink
from streams.erasure.eraser import Eraser, settle_seconds
from streams.erasure.stage import EraseStage
from streams.identity.replica import IdentityReplica
from streams.identity.sink import IdentitySink
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.stage import IngestStage
from streams.journeys.logic import JourneyLogic
from streams.journeys.rules import JourneyRules
from streams.journeys.sink import JourneySink
from streams.journeys.stage import JourneyStage
from streams.reports.person import lookup_pseudonymizer
from streams.runtime import gc_watch
from streams.runtime.batch_consumer import BatchConsumer, BatchHandler
from streams.runtime.broker_watch import BrokerWatch
from streams.runtime.kafka import (
    consumer_for,
    ensure_topics,
    is_transient_kafka_error,
    producer_for,
    stop_within,
)
from streams.runtime.liveness import Liveness, StageProgress
from streams.runtime.metrics import Metrics, TimedStore
from streams.runtime.retry import WAITING, describe, system_of, with_backoff
from streams.runtime.settings import Settings, redacted_url
from streams.runtime.topics import Topics, topic_configs, topic_plan
from streams.store.stage import KafkaDownstream, StoreStage

log = logging.getLogger(__name__)

STOP_WITHIN_S = 12.0
"""At stop, how long the consumers may take to finish their batches, write
and commit; what is not committed by then is read again at the next start.
With the identity replica and the Kafka clients after them (CLIENT_STOP_S
each), the worker stops within docker-compose's grace period (30 s)."""

JOURNEYS_STORED_WITHIN_S = 10.0
"""Longest an alert waits for the journeys it names in its context (they lag
the touchpoints by a journey flush)."""


class Processor(mode.Service):
    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.metrics = Metrics()
        """This processor's Prometheus registry (`GET /metrics`)."""
        self.liveness = Liveness(
            loop_stuck_s=settings.loop_stuck_seconds, stall_s=settings.stall_seconds
        )
        self.lanes: dict[str, OffLoopStore] = {}
        """ClickHouse connections, one per sink (see `OffLoopStore`)."""
        self.store = self._lane("touchpoints")
        self.reads = self._lane("reads")
        """Stats and person lookups."""
        self.pseudonymizer = (
            Pseudonymizer(settings.require_pii_secret()) if settings.ingests else None
        )
        self.producers: dict[str, AIOKafkaProducer] = {}
        """One per stage that writes (aiokafka has one request in flight per
        connection: the identity log's small appends must not queue behind
        a stage's bulk writes). Made once the loop runs, as aiokafka wants."""
        self.identity: IdentityReplica | None = None
        self.identity_sink: IdentitySink | None = None
        self.alerts: AlertEvaluator | None = None
        alerting = load_alerts(settings.alert_rules) if settings.alert_rules else None
        self.rules = alerting.rules if alerting else []
        self.alert_targets = (
            destinations(
                alerting.targets, settings.webhook_urls, os.environ, str(settings.alert_rules)
            )
            if alerting
            else []
        )
        """Where notices go; a secret named in the rules file but missing
        from the environment stops the worker at start, not at the first alert."""
        self.ingest: IngestStage | None = None
        self.journeys: JourneyStage | None = None
        self.insert_limits = InsertLimits(settings.insert_max_rows, settings.insert_max_bytes)
        self.journey_store = JourneySink(self._lane("journeys"), self.insert_limits)
        self.touchpoints: StoreStage | None = None
        self.dead_letters = DeadLetterSink(self._lane("deadletters"), self.insert_limits)
        self.erasures: EraseStage | None = None
        self.consumers: list[BatchConsumer] = []
        self.ready = asyncio.Event()
        self.broker_reached: asyncio.Event | None = None
        """Set by the broker gate (`streams.runtime.preflight`) once the broker
        answers: the stages' own Kafka clients wait for it, as faust's do."""
        self.gc = gc_watch.GcWatch().install()
        self.phase = "not started"
        self.metrics_rebuilt: list[int] = []
        """Months of metrics_minute rebuilt at start (`streams.clickhouse.reconcile`)."""
        self._startup: asyncio.Task[None] | None = None
        self._broker_watch: asyncio.Task[None] | None = None
        self._loop_watch: asyncio.Task[None] | None = None
        self.metrics.watch(self)

    async def on_start(self) -> None:
        # In the background, so faust (and /health) come up while ClickHouse or
        # Kafka are still out of reach; the phase says what is awaited.
        self._startup = asyncio.create_task(self._start_pipeline(), name="processor-startup")
        self._loop_watch = asyncio.create_task(self.liveness.watch.run(), name="loop-watch")

    async def _start_pipeline(self) -> None:
        try:
            await self._start_stages()
        except Exception as exc:  # not transient (those are retried): a bug
            log.critical("processor failed to start", exc_info=exc)
            await self.crash(exc)  # stops the worker; the exception is reported there

    async def _start_stages(self) -> None:
        settings = self.settings
        log.info("roles: %s", settings.roles)
        if settings.stores:
            self.phase = "migrating the ClickHouse schema"
            log.info(
                "clickhouse: %s, database %s",
                redacted_url(settings.clickhouse_url),
                settings.database,
            )
            applied = await self.store.run("migrate", migrate)
            log.info("schema up to date (%d migrations applied now)", len(applied))
            self.phase = "applying the retention of the ClickHouse tables"
            await self.store.run("apply retention", lambda store: apply_retention(store, settings))
            if settings.embedded_clickhouse:
                self.phase = "checking the metrics against the touchpoints"
                self.metrics_rebuilt = await self.store.run("reconcile metrics", reconcile_metrics)
        if self.broker_reached is not None:
            self.phase = "waiting for the broker"
            await self.broker_reached.wait()
        self.phase = "creating topics"
        await with_backoff(
            lambda: ensure_topics(settings, topic_plan(settings), topic_configs(settings)),
            is_transient=is_transient_kafka_error,
            what="kafka: create topics",
        )
        self.phase = "reading the identity log"
        self.identity = IdentityReplica(
            # No group: every worker reads the whole log.
            consumer_for(settings, None),
            self.topics.identity,
            settings.identity_rules,
        )
        if settings.stores:
            self.identity_sink = IdentitySink(
                self._lane("identity"),
                self.crash,
                interval_s=settings.lookup_insert_interval_ms / 1000,
                replayed=self.identity.replayed,
            )
            self.identity.listeners.append(self.identity_sink)
        await self.add_runtime_dependency(self.identity)
        await self.identity.caught_up.wait()
        if settings.ingests:
            assert self.pseudonymizer is not None
            self.ingest = IngestStage(
                await self._producer("ingest"),
                await self._producer("identity"),
                self.topics,
                self.pseudonymizer,
                self.identity,
            )
            self._consume("ingest", list(self.topics.channels), self.ingest)
        if settings.journeys:
            logic = JourneyLogic(
                self.identity.graph.key_of,
                JourneyRules(inactivity_gap_ms=settings.journey_gap_minutes * 60_000),
                lateness_ms=settings.journey_lateness_minutes * 60_000,
                evict_idle_s=settings.journey_evict_idle_seconds,
                suppressed_ids=self.identity.graph.suppressed,
            )
            self.journeys = JourneyStage(
                logic,
                await self._producer("journeys"),
                consumer_for(settings, None),
                consumer_for(settings, None, max_partition_fetch_bytes=256 * 1024),
                self.topics,
                crash=self.crash,
            )
            await self.journeys.start()
            self.identity.listeners.append(self.journeys.on_identity)
            self._consume(
                "journeys",
                [self.topics.journey_steps],
                self.journeys,
                flush_interval_s=settings.journey_flush_ms / 1000,
                patient=True,
            )
        if settings.stores:
            self.touchpoints = StoreStage(
                self.store,
                KafkaDownstream(await self._producer("store"), self.topics),
                capacity=settings.dedup_cache_events,
                limits=self.insert_limits,
                suppressed_ids=self.identity.graph.suppressed,
            )
            # A sink's flush inserts what it gathered: its interval is the insert interval.
            inserts = settings.insert_interval_ms / 1000
            rows, touchpoints = self.topics.journey_rows, self.topics.touchpoints
            self._consume(
                "journey-store", [rows], self.journey_store, flush_interval_s=inserts, patient=True
            )
            self._consume(
                "store",
                [touchpoints],
                self.touchpoints,
                flush_interval_s=inserts,
                fill_to_flush=True,
            )
            self._consume(
                "deadletter-store",
                [self.topics.deadletter],
                self.dead_letters,
                flush_interval_s=settings.lookup_insert_interval_ms / 1000,
                patient=True,
            )
        if settings.stores:
            self.erasures = EraseStage(
                Eraser(
                    self._lane("erasures"),
                    await self._producer("erasures"),
                    self.topics,
                    self.pseudonymizer or lookup_pseudonymizer(settings),
                    settings.erasure_suppress,
                    settle_s=settle_seconds(settings),
                    replica=self.identity,
                    forget_events=self.touchpoints.forget if self.touchpoints else None,
                )
            )
            # Requests are rare and take seconds: fetched patiently, not 20 times a second.
            self._consume("erasures", [self.topics.erasures], self.erasures, patient=True)
        if settings.stores and self.rules:
            alerts = self._lane("alerts")
            sinks = AlertSinks(
                alerts,
                await self._producer("alerts"),
                self.topics.alerts,
                self.alert_targets,
                self.crash,
                resend_s=settings.alertmanager_resend_seconds,
            )
            self.alerts = AlertEvaluator(self.rules, alerts, sinks, settle=self.journeys_stored)
            log.info(
                "alerting: %d rules, every %ss; targets: %s",
                len(self.rules),
                settings.alert_interval_seconds,
                ", ".join(d.label for d in self.alert_targets) or "none",
            )
        self.phase = "starting consumers"
        # Together: each waits for its group join (seconds on a fresh group).
        await asyncio.gather(*(self.add_runtime_dependency(c) for c in self.consumers))
        self.phase = "running"
        if settings.gc_tuned:
            gc_watch.tune(self.gc)
        self.ready.set()

    async def journeys_stored(self, timeout_s: float = JOURNEYS_STORED_WITHIN_S) -> None:
        """Until this worker's journey stage has folded every step it has
        read, and its store has inserted the rows (at most `timeout_s`). A
        worker without both stages, or partitions another worker owns, are
        not waited for."""
        stages = {consumer.name: consumer for consumer in self.consumers}
        folding, storing = stages.get("journeys"), stages.get("journey-store")
        if self.journeys is None or folding is None or storing is None:
            return
        deadline = time.monotonic() + timeout_s

        def done(stage: BatchConsumer, ends: dict[TopicPartition, int]) -> bool:
            committed = stage.stats.committed
            return all(committed.get(tp, 0) >= end for tp, end in ends.items())

        def read_ends() -> dict[TopicPartition, int]:
            consumer = folding.consumer
            return {tp: consumer.highwater(tp) or 0 for tp in consumer.assignment()}

        # Committed means flushed: the rows of those steps are sent.
        while not done(folding, read_ends()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        rows = self.topics.journey_rows
        owned = storing.consumer.assignment()
        sent = {TopicPartition(rows, p): end for p, end in self.journeys.rows_end.items()}
        sent = {tp: end for tp, end in sent.items() if tp in owned}
        while not done(storing, sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def inserted(self) -> dict[str, dict[str, int]]:
        """INSERTs ClickHouse accepted and their rows, by table (all lanes)."""
        inserts: Counter[str] = Counter()
        rows: Counter[str] = Counter()
        for lane in self.lanes.values():
            inserts.update(lane.inserts)
            rows.update(lane.inserted_rows)
        return {table: {"inserts": n, "rows": rows[table]} for table, n in sorted(inserts.items())}

    def _lane(self, sink: str) -> OffLoopStore:
        lane = self.lanes[sink] = TimedStore(Store.of(self.settings), self.metrics)
        return lane

    async def _producer(self, name: str) -> AIOKafkaProducer:
        self.phase = f"starting the {name} producer"
        producer = self.producers[name] = producer_for(self.settings)
        await with_backoff(
            producer.start, is_transient=is_transient_kafka_error, what="kafka: start producer"
        )
        if self._broker_watch is None:
            watch = BrokerWatch(producer)
            self._broker_watch = asyncio.create_task(watch.run(), name="broker-watch")
        return producer

    def health(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body of /health: ok; starting (and what it
        waits for); or waiting on the infrastructure (ClickHouse, the broker)
        for longer than `CX_HEALTH_WAIT_SECONDS` (shorter waits are the
        ordinary retries of a busy system)."""
        waiting = [
            wait.as_dict() for wait in WAITING.longer_than(self.settings.health_wait_seconds)
        ]
        if not self.ready.is_set() or self.crash_reason:
            starting: dict[str, Any] = {"status": "starting", "phase": self.phase}
            return 503, {**starting, "waiting": waiting} if waiting else starting
        if waiting:
            return 503, {"status": "waiting", "waiting": waiting}
        return 200, {"status": "ok"}

    def live(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body of /live (`streams.runtime.liveness`)."""
        stages = [
            StageProgress(
                c.name,
                sum(n for n in c.lag().values() if n is not None),
                c.stats.last_commit_at,
            )
            for c in self.consumers
        ]
        waiting = any(system_of(w.what) != "webhook" for w in WAITING.longer_than(0))
        return self.liveness.check(stages, waiting=waiting)

    def _consume(
        self,
        stage: str,
        topics: list[str],
        handler: BatchHandler,
        *,
        flush_interval_s: float | None = None,
        patient: bool = False,
        fill_to_flush: bool = False,
    ) -> None:
        """A batch consumer for `stage`, in its own consumer group. A
        `patient` stage, whose writes wait for its flush interval anyway and
        whose delay no touchpoint waits for, fills its batches for up to half
        that interval: at a steady rate it handles a few large batches a
        second, not one per `CX_BATCH_MAX_WAIT_MS` (a backlog fills them
        anyway). A stage that `fill_to_flush`es, whose writes wait for its
        flush too but whose delay users see, fills its batches until its next
        flush is due (never later) and fetches as often as any."""
        settings = self.settings
        interval_s = (
            settings.commit_interval_ms / 1000 if flush_interval_s is None else flush_interval_s
        )
        max_wait_ms, fetch_wait_ms = settings.batch_max_wait_ms, settings.kafka_fetch_max_wait_ms
        if patient:  # and its fetches may wait on the broker as long (fewer of them)
            max_wait_ms = max(max_wait_ms, round(interval_s * 1000 / 2))
            fetch_wait_ms = max(fetch_wait_ms, max_wait_ms // 2)
        if fill_to_flush:
            max_wait_ms = max(max_wait_ms, round(interval_s * 1000))
        consumer = BatchConsumer(
            stage,
            consumer_for(settings, f"{settings.app_id}.{stage}", fetch_max_wait_ms=fetch_wait_ms),
            topics,
            handler,
            max_records=settings.batch_max_records,
            max_wait_ms=max_wait_ms,
            flush_interval_s=interval_s,
            stop_within_s=STOP_WITHIN_S,
        )
        consumer.observe_batch = self.metrics.batch_seconds.labels(stage).observe
        consumer.observe_flush = self.metrics.flush_seconds.labels(stage).observe
        self.consumers.append(consumer)

    async def on_stop(self) -> None:
        if self._startup is not None and not self._startup.done():
            self._startup.cancel()
        if self._broker_watch is not None:
            self._broker_watch.cancel()
        if self._loop_watch is not None:
            self._loop_watch.cancel()
        # Every consumer finishes its batch, writes and commits, within
        # STOP_WITHIN_S whatever it waits on; each commits only what it wrote.
        stopped = await asyncio.gather(
            *(consumer.stop() for consumer in self.consumers), return_exceptions=True
        )
        for consumer, outcome in zip(self.consumers, stopped, strict=True):
            if isinstance(outcome, BaseException):
                log.warning("%s did not stop cleanly: %s", consumer.label, describe(outcome))
        if self.identity is not None:
            await self.identity.stop()
        if self.identity_sink is not None:
            await self.identity_sink.stop()
        if self.alerts is not None:
            await self.alerts.sinks.stop()
        # The Kafka clients together, each within CLIENT_STOP_S: a broker that
        # does not answer must not hold the worker past its grace period.
        # The journey stage goes first: it stops its mover (which sends with a
        # producer) before its first wait, so before any producer stops.
        stopping = [stop_within(producer) for producer in self.producers.values()]
        if self.journeys is not None:
            stopping.insert(0, self.journeys.stop())
        await asyncio.gather(*stopping)
        for lane in self.lanes.values():
            await lane.close()
        self.gc.uninstall()

    async def stats(self) -> dict[str, Any]:
        stored = (
            await self.reads.query("table_counts", retry=False)
            if self.ready.is_set() and self.settings.stores
            else []
        )
        return {
            "ready": self.ready.is_set(),
            "roles": self.settings.roles,
            "phase": self.phase,
            "clickhouse": {str(table): int(rows) for table, rows in stored},
            "clickhouse_inserts": self.inserted(),
            "ingest": self.ingest.stats() if self.ingest else {},
            "identity": self.identity.stats() if self.identity else {},
            "journeys": self.journeys.stats() if self.journeys else {},
            "journey_store": self.journey_store.stats(),
            "alerts": (
                {
                    "ticks": self.alerts.ticks,
                    **self.alerts.sinks.counts,
                    "open": len(self.alerts.episodes or {}),
                }
                if self.alerts
                else {}
            ),
            "store": {
                **(self.touchpoints.stats() if self.touchpoints else {}),
                "metrics_months_rebuilt_at_start": self.metrics_rebuilt,
            },
            "gc": self.gc.as_dict(),
            "deadletters": self.dead_letters.stats(),
            "erasures": self.erasures.stats() if self.erasures else {},
            "consumers": {c.name: c.stats.as_dict(c.consumer) for c in self.consumers},
            "waiting": [wait.as_dict() for wait in WAITING.longer_than(0)],
        }
