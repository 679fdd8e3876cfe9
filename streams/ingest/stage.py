"""Stage 1 glue: channel topics -> touchpoints topic (each event's store row
and journey step, routed by its event id) and the dead-letter topic. Rows
travel in bundles, many to a Kafka record. Offsets are committed once the
broker acknowledged all of them.

Identifiers seen together that the identity graph does not link yet are
appended to the identity log first; once this worker's replica has applied
them, every touchpoint of the batch is keyed by its person (`customer_key`)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from itertools import chain
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas import Channel
from streams.clickhouse.bundle import bundle_size, encode_bundle
from streams.deadletters.letter import DeadLetter, encode_dead_letter
from streams.identity import log as identity_log
from streams.identity.graph import Evidence
from streams.identity.replica import IdentityReplica
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.route import (
    TOUCHPOINTS_HEADERS,
    IngestResult,
    RawRecord,
    ingest_batch,
    route_batch,
    set_aside,
)
from streams.ingest.touchpoint import Touchpoint, identifiers_of
from streams.runtime.batch_consumer import Batch, StatelessHandler, Write
from streams.runtime.failures import FailureBudget
from streams.runtime.kafka import (
    append_all,
    is_transient_kafka_error,
    partition_count,
    produce_all,
    produce_bundles,
)
from streams.runtime.retry import with_backoff
from streams.runtime.topics import Topics

RECORDS_BETWEEN_YIELDS = 250
"""Ingest validates a batch in slices of this many records and lets the event
loop run between two (a few ms each): a 10,000-record batch validated in one
go held the loop, and every socket read and other stage, for ~200 ms."""


class IngestStage(StatelessHandler):
    def __init__(
        self,
        producer: AIOKafkaProducer,
        identity_producer: AIOKafkaProducer,
        topics: Topics,
        pseudonymizer: Pseudonymizer,
        identity: IdentityReplica,
    ) -> None:
        self.producer = producer
        self.identity_producer = identity_producer
        self.topics = topics
        self.identity = identity
        self.evidence_sent = 0
        self.channels: dict[str, Channel] = topics.channels
        self.pseudonymizer = pseudonymizer
        self.received_by_channel: Counter[str] = Counter()
        """Records read, by channel (counted per batch and partition)."""
        self._appending: dict[tuple[str, ...], asyncio.Future[int]] = {}
        """Identifiers appended as evidence, with the append (its result: the
        last offset), that the replica had not applied yet: a later batch
        need not append them again."""
        self._last_append: asyncio.Future[int] | None = None
        """The latest append: appends run one after the other, in batch order."""
        self.seconds: defaultdict[str, float] = defaultdict(float)
        """Wall-clock time per step of `handle` (awaits included)."""
        self.accepted: Counter[str] = Counter()
        """Touchpoints sent on to the store, by channel."""
        self.rejections: Counter[tuple[str, str]] = Counter()
        """Dead letters, by channel and reason."""
        self.suppressed = 0
        """Events of people erased with suppression, dropped."""
        self.budget = FailureBudget("ingest")

    async def handle(self, batch: Batch) -> Write:
        """Validate the batch and append the links it brings to the identity
        log; returns the rest (`_key_and_send`), which the batch consumer
        lets run while it reads and validates the next batch."""
        clock = time.monotonic()
        now_ms = time.time_ns() // 1_000_000
        records = list(chain.from_iterable(batch.values()))
        result = IngestResult([], [], [])
        for start in range(0, len(records), RECORDS_BETWEEN_YIELDS):
            if start:
                await asyncio.sleep(0)  # let the sockets and other stages go on
            part = ingest_batch(
                records[start : start + RECORDS_BETWEEN_YIELDS],
                self.channels,
                now_ms,
                self.pseudonymizer,
            )
            result.touchpoints.extend(part.touchpoints)
            result.dead_letters.extend(part.dead_letters)
            result.failed.extend((start + at, exc) for at, exc in part.failed)
        self.budget.count(
            len(records), [(at, _position(records[at]), exc) for at, exc in result.failed]
        )
        identifiers = [identifiers_of(tp.identifiers) for tp in result.touchpoints]
        if self.identity.graph.suppressed:
            self._suppress(result, identifiers)
        self._append_news(result.touchpoints, identifiers)
        self._spent("validate", clock)
        for tp, read in batch.items():
            self.received_by_channel[self.channels[tp.topic].value] += len(read)
        return self._key_and_send(result, identifiers, self._last_append, records)

    def _suppress(self, result: IngestResult, identifiers: list[tuple[str, ...]]) -> None:
        """Drop (and count) the touchpoints of people erased with suppression."""
        is_suppressed = self.identity.graph.is_suppressed
        kept = [i for i, ids in enumerate(identifiers) if not is_suppressed(ids)]
        if len(kept) == len(identifiers):
            return
        self.suppressed += len(identifiers) - len(kept)
        result.touchpoints[:] = [result.touchpoints[i] for i in kept]
        identifiers[:] = [identifiers[i] for i in kept]

    def _append_news(
        self, touchpoints: list[Touchpoint], identifiers: list[tuple[str, ...]]
    ) -> None:
        """Start appending the identifiers seen together that the graph does
        not link yet (nor an earlier batch appended) to the identity log,
        after the appends of earlier batches."""
        graph, applied = self.identity.graph, self.identity.applied
        if self._appending:
            self._appending = {
                ids: append
                for ids, append in self._appending.items()
                if not append.done() or append.result() > applied
            }
        appending = self._appending
        news: dict[tuple[str, ...], Evidence] = {}
        for tp, ids in zip(touchpoints, identifiers, strict=True):
            if len(ids) > 1 and ids not in news and ids not in appending and graph.is_news(ids):
                news[ids] = Evidence(tp.event_id, tp.occurred_at_ms, tp.channel.value, ids)
        if not news:
            return
        # In event-time order, so that within a batch the earlier evidence
        # wins a conflict whatever the arrival order.
        ordered = sorted(news.values(), key=lambda e: (e.occurred_at_ms, e.event_id))
        values = [identity_log.encode_evidence(e) for e in ordered]
        append = asyncio.ensure_future(self._append_after(self._last_append, values))
        appending.update(dict.fromkeys(news, append))
        self._last_append = append
        self.evidence_sent += len(values)

    async def _append_after(self, previous: asyncio.Future[int] | None, values: list[bytes]) -> int:
        """Append `values` once `previous` is appended; their last offset."""
        if previous is not None:
            await previous
        started = time.monotonic()
        last = await with_backoff(
            lambda: append_all(
                self.identity_producer, self.topics.identity, values, identity_log.HEADERS
            ),
            is_transient=is_transient_kafka_error,
            what="kafka: append identity evidence",
        )
        self._spent("append_identity", started)
        return last

    async def _key_and_send(
        self,
        result: IngestResult,
        identifiers: list[tuple[str, ...]],
        appended: asyncio.Future[int] | None,
        records: list[RawRecord],
    ) -> None:
        """Once this worker's replica has applied the evidence appended up to
        this batch (`appended`, the latest append), key each touchpoint by its
        person and send rows (with steps) and dead letters; done when the
        broker acknowledged all of them."""
        clock = time.monotonic()
        if appended is not None:
            last = await appended
            if last > self.identity.applied:
                await self.identity.wait_applied(last)
            clock = self._spent("identity_wait", clock)
        resolve = self.identity.graph.resolve
        keys = [resolve(ids) for ids in identifiers]
        producer, topics = self.producer, self.topics
        routed = route_batch(
            result.touchpoints, keys, await partition_count(producer, topics.touchpoints)
        )
        letters = result.dead_letters
        if routed.failed:
            letters = [*letters, *self._set_aside(result.touchpoints, routed.failed, records)]
        dead_letters = [encode_dead_letter(letter) for letter in letters]
        clock = self._spent("route", clock)

        async def send() -> None:
            await asyncio.gather(
                produce_bundles(
                    producer,
                    topics.touchpoints,
                    routed.bundles,
                    encode_bundle,
                    TOUCHPOINTS_HEADERS,
                    size_of=bundle_size,
                ),
                produce_all(producer, topics.deadletter, dead_letters),
            )

        await with_backoff(
            send, is_transient=is_transient_kafka_error, what="kafka: produce ingest batch"
        )
        self._spent("produce", clock)
        failed = {at for at, _ in routed.failed}
        self.accepted.update(
            tp.channel.value for at, tp in enumerate(result.touchpoints) if at not in failed
        )
        self.rejections.update(
            (letter.channel.value, letter.rejection.reason.value) for letter in letters
        )

    def _set_aside(
        self,
        touchpoints: list[Touchpoint],
        failed: list[tuple[int, Exception]],
        records: list[RawRecord],
    ) -> list[DeadLetter]:
        """Dead letters of the touchpoints no row or step could be made of."""
        by_position = {_position(record): record for record in records}
        letters = []
        for at, exc in failed:
            tp = touchpoints[at]
            position = f"{tp.source_topic}/{tp.source_partition}/{tp.source_offset}"
            self.budget.fail(position, exc)
            record = by_position[position]
            letters.append(set_aside(record, tp.channel, tp.received_at_ms, "ingest", exc))
        return letters

    def _spent(self, step: str, since: float) -> float:
        now = time.monotonic()
        self.seconds[step] += now - since
        return now

    @property
    def received(self) -> int:
        return sum(self.received_by_channel.values())

    def stats(self) -> dict[str, Any]:
        rejected: Counter[str] = Counter()
        for (_, reason), n in self.rejections.items():
            rejected[reason] += n
        return {
            "seconds": {step: round(spent, 3) for step, spent in self.seconds.items()},
            "evidence_sent": self.evidence_sent,
            "received": self.received,
            "accepted": sum(self.accepted.values()),
            "rejected": sum(rejected.values()),
            "suppressed": self.suppressed,
            "accepted_by_channel": dict(self.accepted),
            "rejected_by_reason": dict(rejected),
        }


def _position(record: RawRecord) -> str:
    return f"{record.topic}/{record.partition}/{record.offset}"
