"""Records read back at known offsets: an evicted person's changelog record,
a closed journey, a dead letter. One seek per run of offsets, then what a
fetch brings; the broker's high watermark comes with the fetches (tansu
answers ListOffsets with the start of the last batch, not the log's end)."""

from __future__ import annotations

import time
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

Record: TypeAlias = ConsumerRecord[bytes, bytes]

BEYOND: Any = object()
"""`read_at`'s answer for an offset at or past the partition's end."""


async def read_at(
    consumer: AIOKafkaConsumer,
    tp: TopicPartition,
    offsets: list[int],
    *,
    deadline: float | None = None,
) -> dict[int, Record | None]:
    """The records at `offsets` (ascending) of `tp`, which `consumer` is
    assigned: None where the log holds none any more (compacted away or
    past its retention: a fetch from there starts later), `BEYOND` past its
    end. Waits for the broker as long as it takes, or until `deadline`
    (time.monotonic(); TimeoutError)."""
    got: dict[int, Record | None] = {}
    at = 0
    while at < len(offsets):
        sought = offsets[at]
        consumer.seek(tp, sought)
        records: list[Record] = []
        while not records:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"reading {tp.topic} took longer than allowed")
            fetched = (await consumer.getmany(tp, timeout_ms=500)).get(tp, [])
            records = [record for record in fetched if record.offset >= sought]
            high = consumer.highwater(tp)
            if not records and high is not None and high <= sought:
                got.update(dict.fromkeys(offsets[at:], BEYOND))
                return got
        by_offset = {record.offset: record for record in records}
        while at < len(offsets) and offsets[at] <= records[-1].offset:
            got[offsets[at]] = by_offset.get(offsets[at])
            at += 1
    return got
