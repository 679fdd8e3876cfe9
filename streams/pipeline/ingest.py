"""Stage 1 glue: channel topics -> touchpoints topic (routed by the event's
own identifier), journey steps (routed by person) and the dead-letter topic.
Touchpoints and steps travel in bundles, many to a Kafka record. Offsets are committed once the broker acknowledged both.

Identifiers seen together that the identity graph does not link yet are
appended to the identity log first; once this worker's replica has applied
them, every touchpoint of the batch is keyed by its person (`customer_key`)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from itertools import chain
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition

from schemas import Channel
from streams.batch_consumer import Batch
from streams.deadletter import encode_dead_letter
from streams.identity import log as identity_log
from streams.identity.graph import Evidence
from streams.ingest import ingest_batch
from streams.journeys.steps import STEPS_HEADERS, encode_keyed_steps, step_of
from streams.kafka import append_all, is_transient, produce_all, produce_bundles
from streams.pipeline.identity import IdentityReplica
from streams.pseudonym import Pseudonymizer
from streams.retry import with_backoff
from streams.topics import Topics
from streams.touchpoint import FORMAT, Touchpoint, encode_touchpoints, identifiers_of, keyed_to

_TOUCHPOINT_HEADERS = [("cx.format", FORMAT)]
_EVIDENCE_HEADERS = [("cx.format", identity_log.FORMAT)]


class IngestHandler:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        topics: Topics,
        pseudonymizer: Pseudonymizer,
        identity: IdentityReplica,
    ) -> None:
        self.producer = producer
        self.topics = topics
        self.identity = identity
        self.evidence_sent = 0
        self.identity_wait_s = 0.0
        """Time spent waiting for the replica to apply this worker's evidence."""
        self.channels: dict[str, Channel] = topics.channels
        self.pseudonymizer = pseudonymizer
        self.received = 0
        self.accepted: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()

    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        pass

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        pass

    async def handle(self, batch: Batch) -> None:
        now_ms = time.time_ns() // 1_000_000
        records = list(chain.from_iterable(batch.values()))
        result = ingest_batch(records, self.channels, now_ms, self.pseudonymizer)
        stitched = await self._stitch(result.touchpoints)
        touchpoints = [(tp.person_key.encode(), tp) for tp in stitched]
        steps = [(tp.customer_key.encode(), (tp.customer_key, (step_of(tp),))) for tp in stitched]
        dead_letters = [encode_dead_letter(letter) for letter in result.dead_letters]
        producer, topics = self.producer, self.topics

        async def send() -> None:
            await asyncio.gather(
                produce_bundles(
                    producer,
                    topics.touchpoints,
                    touchpoints,
                    encode_touchpoints,
                    _TOUCHPOINT_HEADERS,
                ),
                produce_bundles(
                    producer, topics.journey_steps, steps, encode_keyed_steps, STEPS_HEADERS
                ),
                produce_all(producer, topics.deadletter, dead_letters),
            )

        await with_backoff(send, is_transient=is_transient, what="produce ingest batch")
        self.received += len(records)
        self.accepted.update(tp.channel.value for tp in result.touchpoints)
        self.rejected.update(letter.rejection.reason.value for letter in result.dead_letters)

    async def _stitch(self, touchpoints: list[Touchpoint]) -> list[Touchpoint]:
        """The touchpoints keyed by person, after the links they carry are in
        the identity graph."""
        graph = self.identity.graph
        identifiers = [identifiers_of(tp.identifiers) for tp in touchpoints]
        news: dict[tuple[str, ...], Evidence] = {}
        for tp, ids in zip(touchpoints, identifiers, strict=True):
            if len(ids) > 1 and ids not in news and graph.is_news(ids):
                news[ids] = Evidence(tp.event_id, tp.occurred_at_ms, tp.channel.value, ids)
        if news:
            # In event-time order, so that within a batch the earlier evidence
            # wins a conflict whatever the arrival order.
            ordered = sorted(news.values(), key=lambda e: (e.occurred_at_ms, e.event_id))
            values = [identity_log.encode_evidence(e) for e in ordered]
            last = await with_backoff(
                lambda: append_all(self.producer, self.topics.identity, values, _EVIDENCE_HEADERS),
                is_transient=is_transient,
                what="append identity evidence",
            )
            waited = time.monotonic()
            await self.identity.wait_applied(last)
            self.identity_wait_s += time.monotonic() - waited
            self.evidence_sent += len(values)
        return [
            keyed_to(tp, graph.resolve(ids))
            for tp, ids in zip(touchpoints, identifiers, strict=True)
        ]

    def stats(self) -> dict[str, Any]:
        return {
            "evidence_sent": self.evidence_sent,
            "identity_wait_s": round(self.identity_wait_s, 3),
            "received": self.received,
            "accepted": sum(self.accepted.values()),
            "rejected": sum(self.rejected.values()),
            "accepted_by_channel": dict(self.accepted),
            "rejected_by_reason": dict(self.rejected),
        }
