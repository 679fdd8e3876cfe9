"""Identity glue: every worker's replica of the identity graph, fed by the
identity log, and the sink that records its decisions in ClickHouse.

The identity log has one partition and every worker reads all of it, without
a consumer group, from the beginning: each applies the same evidence in the
same order, so each holds the same graph (state machine replication). Ingest
appends evidence and waits until its own replica applied it before keying the
touchpoints of the batch, so a touchpoint is keyed with its own links known.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import mode
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.identity.graph import Change, Erased, IdentityGraph
from streams.identity.log import Applied, decode_erasure, decode_evidence, is_erasure
from streams.identity.rules import IdentityRules
from streams.runtime.kafka import is_transient_kafka_error, stop_within
from streams.runtime.retry import with_backoff

log = logging.getLogger(__name__)

_ERASED_KEPT = 100
"""Erasures `IdentityReplica.erased` remembers."""

Listener = Callable[[list[Applied]], Awaitable[None]]


class IdentityReplica(mode.Service):
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topic: str,
        rules: IdentityRules,
        *,
        max_records: int = 10_000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.consumer = consumer
        self.partition = TopicPartition(topic, 0)
        self.graph = IdentityGraph(rules)
        self.max_records = max_records
        self.applied = -1
        """Offset of the last evidence applied."""
        self.caught_up = asyncio.Event()
        self.replayed_until: int | None = None
        """The last offset applied replaying the log found at start (set
        once caught up)."""
        """Set once the replica reached the end of the log it found."""
        self.listeners: list[Listener] = []
        """Called with each applied batch, in order, before it counts as
        applied. They must not wait on anything slow: ingest waits for the
        replica (the recorder and the journey stage queue the work)."""
        self.decisions: Counter[str] = Counter()
        self.erasures = 0
        """Erasures applied (replayed ones included)."""
        self.erased: dict[str, Erased] = {}
        """The latest erasures applied, by request id, until the eraser
        takes them (bounded: other workers never do)."""
        self._progress = asyncio.Condition()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def on_start(self) -> None:
        await with_backoff(
            self.consumer.start,
            is_transient=is_transient_kafka_error,
            what="kafka: start identity consumer",
        )
        self.consumer.assign([self.partition])
        await self.consumer.seek_to_beginning(self.partition)
        self._task = asyncio.create_task(self._run_or_crash(), name="identity-replica")

    async def on_stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            _, pending = await asyncio.wait({self._task}, timeout=2)  # a fetch is 0.1 s
            for task in pending:
                task.cancel()
        await stop_within(self.consumer)

    async def _run_or_crash(self) -> None:
        try:
            while not self._stopping:
                await self._step()
        except Exception as exc:  # a bug: infrastructure errors are retried inside
            log.critical("identity replica crashed", exc_info=exc)
            await self.crash(exc)

    async def _step(self) -> None:
        fetched = await self.consumer.getmany(
            self.partition, timeout_ms=100, max_records=self.max_records
        )
        records = fetched.get(self.partition, [])
        if records:
            applied: list[Applied] = []
            for record in records:
                if record.value is None:
                    continue  # a tombstone
                if is_erasure(record.headers):
                    erasure = decode_erasure(record.value)
                    erased = self.graph.erase(
                        erasure.request_id, erasure.identifier, suppress=erasure.suppress
                    )
                    change = Change([], [], [], (erased,))
                    applied.append((record.offset, erasure.as_evidence(), change))
                    self.erasures += 1
                    self.erased[erasure.request_id] = erased
                    if len(self.erased) > _ERASED_KEPT:
                        del self.erased[next(iter(self.erased))]
                    continue
                evidence = decode_evidence(record.value)
                change = self.graph.observe(evidence)
                applied.append((record.offset, evidence, change))
                self.decisions.update(f"{x.decision}:{x.reason}" for x in change.links)
            for listener in self.listeners if applied else ():
                await listener(applied)
            async with self._progress:
                self.applied = records[-1].offset
                self._progress.notify_all()
        high = self.consumer.highwater(self.partition)
        if high is not None and self.applied + 1 >= high and not self.caught_up.is_set():
            log.info("identity replica caught up: %d evidence records", self.applied + 1)
            self.replayed_until = self.applied
            self.caught_up.set()

    def replayed(self, offset: int) -> bool:
        """Whether the record at `offset` was applied replaying the log this
        worker found at start (not as it came)."""
        return self.replayed_until is None or offset <= self.replayed_until

    async def wait_applied(self, offset: int) -> None:
        """Return once the evidence at `offset` has been applied."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.applied >= offset)

    def stats(self) -> dict[str, Any]:
        return {
            "applied_offset": self.applied,
            "caught_up": self.caught_up.is_set(),
            "identifiers": len(self.graph),
            "decisions": dict(self.decisions),
            "erasures_applied": self.erasures,
            "identifiers_suppressed": len(self.graph.suppressed),
        }
