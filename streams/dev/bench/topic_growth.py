"""What a worker wrote to its own topics between two points of a run.

Every topic of the worker's plan but the channel topics counts (the
internal ones, dead letters, alerts): one the worker gets later is
counted without a change here. Each topic's records appended between two
sets of end offsets are read back: their bytes as a consumer sees them
(key, value and headers: the journey changelog carries a person's steps in
a header) and the record batches as the broker holds them (compressed with
`CX_KAFKA_COMPRESSION`). Take the offsets while the worker is idle: its
batches are then whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import TopicPartition

from streams.dev.bench.topic_batches import held_by_codec
from streams.runtime.kafka import consumer_for
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics, topic_plan

Offsets = dict[TopicPartition, int]


def worker_topics(settings: Settings) -> list[str]:
    """The topics the worker writes: its plan but the channel topics."""
    channels = Topics(settings.topic_prefix).channels
    return sorted(topic for topic in topic_plan(settings) if topic not in channels)


async def end_offsets(settings: Settings, topics: list[str]) -> Offsets:
    consumer = consumer_for(settings, None)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends: Offsets = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


@dataclass
class Appended:
    records: int = 0
    bytes_read: int = 0
    """Key, value and header names and values, as read back."""
    bytes_stored: int = 0
    """The record batches as the broker holds them."""
    latest: dict[bytes, int] = field(default_factory=dict, repr=False)
    """Bytes of the last record of each key."""

    def as_dict(self) -> dict[str, int]:
        return {
            "records": self.records,
            "bytes_read": self.bytes_read,
            "bytes_stored": self.bytes_stored,
        }


def record_bytes(key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> int:
    return (
        len(key or b"")
        + len(value or b"")
        + sum(len(name.encode()) + len(data or b"") for name, data in headers)
    )


async def appended(settings: Settings, since: Offsets, until: Offsets) -> dict[str, Appended]:
    """Per topic, the records at offsets from `since` to `until`."""
    grown = {tp: (since.get(tp, 0), end) for tp, end in until.items() if end > since.get(tp, 0)}
    found = {tp.topic: Appended() for tp in until}
    consumer = consumer_for(settings, None)
    await consumer.start()
    try:
        consumer.assign(list(grown))
        for tp, (first, _) in grown.items():
            consumer.seek(tp, first)
        empty = 0
        while grown:
            fetched = await consumer.getmany(*grown, timeout_ms=1000)
            empty = 0 if fetched else empty + 1
            if empty > 30:
                raise TimeoutError(f"no records come from {sorted(map(str, grown))}")
            for tp, records in fetched.items():
                counted = found[tp.topic]
                for record in records:
                    if record.offset >= grown[tp][1]:
                        break
                    size = record_bytes(record.key, record.value, list(record.headers))
                    counted.records += 1
                    counted.bytes_read += size
                    counted.latest[record.key or b""] = size
            for tp in list(grown):  # a compacted topic may lack the last offsets
                if await consumer.position(tp) >= grown[tp][1]:
                    del grown[tp]
                    consumer.pause(tp)
    finally:
        await consumer.stop()
    for topic, counted in found.items():
        start = {tp.partition: at for tp, at in since.items() if tp.topic == topic}
        stop = {tp.partition: at for tp, at in until.items() if tp.topic == topic}
        held = await held_by_codec(settings.bootstrap_servers, topic, start, stop)
        counted.bytes_stored = sum(h.bytes for h in held.values())
    return found
