"""The Kafka side of `cx deadletters show` and `replay`: dead letters read
from the dead-letter topic at their positions (the ClickHouse table says
where; only the topic holds the bytes), and records sent to channel topics.

A replayed record goes through ingest like any other: an event stored
already is dropped there as a duplicate (by event id), a record still
invalid becomes a dead letter again, at its new source position.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import NamedTuple

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaTimeoutError

from streams.deadletters.letter import DeadLetter, decode_dead_letter
from streams.deadletters.select import Fetched, Position
from streams.runtime.kafka import consumer_for, producer_for, stop_within
from streams.runtime.read_at import BEYOND, read_at
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics

READ_WITHIN_S = 30.0
"""Longest a read of dead letters may wait on the broker."""
REPLAY_OF = "cx.replay.of"
"""Header of a replayed record: the dead letter it is (`TOPIC/PARTITION/OFFSET`
of the dead-letter topic). Ingest ignores headers; whoever reads the channel
topic can tell a replay."""


class Outgoing(NamedTuple):
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


async def read_letters(
    settings: Settings, positions: Collection[Position], within_s: float = READ_WITHIN_S
) -> tuple[dict[Position, Fetched], dict[Position, str]]:
    """The dead letters at `positions` of the dead-letter topic, and why
    each of the others could not be read (gone with the retention, ...)."""
    topic = Topics(settings.topic_prefix).deadletter
    found: dict[Position, Fetched] = {}
    missing: dict[Position, str] = {}
    wanted: dict[int, set[int]] = defaultdict(set)
    for position in positions:
        wanted[position.partition].add(position.offset)
    consumer = consumer_for(settings, None)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic)
        for partition in sorted(set(wanted) - partitions):
            for offset in wanted.pop(partition):
                missing[Position(partition, offset)] = f"{topic} has no partition {partition}"
        tps = [TopicPartition(topic, partition) for partition in sorted(wanted)]
        consumer.assign(tps)
        deadline = time.monotonic() + within_s
        gone = (
            f"no longer on {topic}: removed by its retention "
            f"(CX_DEADLETTER_RETENTION_DAYS, {settings.deadletter_retention_days} days here)"
        )
        beyond = f"not on {topic}, which ends before it (another broker, or the topic recreated?)"
        for tp in tps:
            offsets = sorted(wanted[tp.partition])
            for offset, record in (await read_at(consumer, tp, offsets, deadline=deadline)).items():
                position = Position(tp.partition, offset)
                if record is None:
                    missing[position] = gone
                elif record is BEYOND:
                    missing[position] = beyond
                else:
                    try:
                        headers = list(record.headers)
                        letter = decode_dead_letter(record.value, headers)
                        found[position] = Fetched(letter, headers)
                    except (KeyError, ValueError):
                        missing[position] = "the record there is no dead letter of this processor"
    finally:
        await stop_within(consumer)
    return found, missing


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    if topic not in await consumer.topics():
        return set()
    return set(consumer.partitions_for_topic(topic) or ())


def replay_of(letter: DeadLetter, position: Position, settings: Settings) -> Outgoing:
    """The record that sends a dead letter again: its original bytes and key,
    to the topic it came from."""
    topic = Topics(settings.topic_prefix).deadletter
    where = f"{topic}/{position.partition}/{position.offset}".encode()
    return Outgoing(letter.source_topic, letter.key, letter.value, [(REPLAY_OF, where)])


async def send_all(settings: Settings, outgoing: Sequence[Outgoing]) -> list[tuple[str, int, int]]:
    """Send the records, in order, and wait until the broker acknowledged
    every one; (topic, partition, offset) of each. A topic the broker does
    not have is a LookupError before anything is sent."""
    producer = producer_for(settings)
    await producer.start()
    try:
        for topic in sorted({record.topic for record in outgoing}):
            try:
                await asyncio.wait_for(producer.partitions_for(topic), 15)
            except (TimeoutError, KafkaTimeoutError):
                raise LookupError(f"the broker has no topic {topic}") from None
        sent = [
            await producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in outgoing
        ]
        done = await asyncio.gather(*sent)
        return [(m.topic, m.partition, m.offset) for m in done]
    finally:
        await stop_within(producer)
