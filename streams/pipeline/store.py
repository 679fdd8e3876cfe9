"""Stage 2 glue: person-keyed touchpoints -> ClickHouse `touchpoints`, each
event id stored once.

Duplicates of an event carry the same identity, hence the same person key and
partition, so one consumer sees them all: per partition, `SeenEvents` answers
from memory, and ClickHouse answers for events older than what memory holds.
Offsets are committed (by the batch consumer) only after the insert returned.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiokafka import TopicPartition

from streams.batch_consumer import Batch
from streams.store.clickhouse import OffLoopStore
from streams.store.dedup import NO_FLOOR, SeenEvents, priming_floor
from streams.store.rows import touchpoint_columns
from streams.touchpoint import Touchpoint, decode_touchpoints


class TouchpointStoreHandler:
    def __init__(self, store: OffLoopStore, *, capacity: int) -> None:
        self.store = store
        self.capacity = capacity
        self.seen: dict[int, SeenEvents] = {}
        self.stored = 0
        self.duplicates = 0
        self.looked_up = 0

    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        # Primed lazily by the first batch of each partition: aiokafka may hand
        # out records before this callback has finished.
        pass

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            self.seen.pop(tp.partition, None)

    async def _prime(self, partition: int) -> SeenEvents:
        buckets = await self.store.query("partition_minutes", partition=partition)
        floor = priming_floor([(int(h), int(n)) for h, n in buckets], self.capacity)
        seen = SeenEvents(self.capacity, floor)
        if buckets:
            since = floor if floor != NO_FLOOR else 0
            rows = await self.store.query(
                "partition_event_ids", partition=partition, since_ms=since
            )
            seen.add_all((event_id, int(ms)) for event_id, ms in rows)
        return seen

    async def handle(self, batch: Batch) -> None:
        fresh = {
            tp.partition: await self._unseen(
                tp.partition, [t for r in records for t in decode_touchpoints(r.value)]
            )
            for tp, records in batch.items()
        }
        touchpoints = [t for new in fresh.values() for t in new]
        if touchpoints:
            routes = [partition for partition, new in fresh.items() for _ in new]
            await self.store.insert(
                "touchpoints", touchpoint_columns(touchpoints, routes), dedup_token=_token(batch)
            )
        for partition, new in fresh.items():
            self.seen[partition].add_all((t.event_id, t.occurred_at_ms) for t in new)
        self.stored += len(touchpoints)

    async def _unseen(self, partition: int, touchpoints: list[Touchpoint]) -> list[Touchpoint]:
        seen = self.seen.get(partition)
        if seen is None:
            seen = self.seen[partition] = await self._prime(partition)
        in_batch: set[str] = set()
        new: list[Touchpoint] = []
        old: list[Touchpoint] = []
        for t in touchpoints:
            if t.event_id in in_batch or (seen.covers(t.occurred_at_ms) and t.event_id in seen):
                self.duplicates += 1
                continue
            in_batch.add(t.event_id)
            (new if seen.covers(t.occurred_at_ms) else old).append(t)
        if old:
            self.looked_up += len(old)
            stored = {
                row[0]
                for row in await self.store.query(
                    "stored_event_ids",
                    event_ids=[t.event_id for t in old],
                    min_ms=min(t.occurred_at_ms for t in old),
                    max_ms=max(t.occurred_at_ms for t in old),
                )
            }
            self.duplicates += sum(t.event_id in stored for t in old)
            new.extend(t for t in old if t.event_id not in stored)
        return new

    def stats(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "looked_up_in_clickhouse": self.looked_up,
            "ids_in_memory": {p: len(s) for p, s in sorted(self.seen.items())},
        }


def _token(batch: Batch) -> str:
    """Same records, same token: a retried insert of this batch is stored once."""
    ranges = sorted(
        f"{tp.topic}:{tp.partition}:{records[0].offset}-{records[-1].offset}"
        for tp, records in batch.items()
    )
    return "touchpoints:" + hashlib.sha256(";".join(ranges).encode()).hexdigest()
