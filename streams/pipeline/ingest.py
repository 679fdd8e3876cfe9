"""Stage 1 glue: channel topics -> touchpoints topic (keyed by person) and the
dead-letter topic. Offsets are committed once the broker acknowledged both."""

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
from streams.ingest import ingest_batch
from streams.kafka import is_transient, produce_all
from streams.pseudonym import Pseudonymizer
from streams.retry import with_backoff
from streams.topics import Topics
from streams.touchpoint import FORMAT, encode_touchpoint

_TOUCHPOINT_HEADERS = [("cx.format", FORMAT)]


class IngestHandler:
    def __init__(
        self, producer: AIOKafkaProducer, topics: Topics, pseudonymizer: Pseudonymizer
    ) -> None:
        self.producer = producer
        self.topics = topics
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
        touchpoints = [
            (tp.person_key.encode(), encode_touchpoint(tp), _TOUCHPOINT_HEADERS)
            for tp in result.touchpoints
        ]
        dead_letters = [encode_dead_letter(letter) for letter in result.dead_letters]

        async def send() -> None:
            await asyncio.gather(
                produce_all(self.producer, self.topics.touchpoints, touchpoints),
                produce_all(self.producer, self.topics.deadletter, dead_letters),
            )

        await with_backoff(send, is_transient=is_transient, what="produce ingest batch")
        self.received += len(records)
        self.accepted.update(tp.channel.value for tp in result.touchpoints)
        self.rejected.update(letter.rejection.reason.value for letter in result.dead_letters)

    def stats(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": sum(self.accepted.values()),
            "rejected": sum(self.rejected.values()),
            "accepted_by_channel": dict(self.accepted),
            "rejected_by_reason": dict(self.rejected),
        }
