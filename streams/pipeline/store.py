"""Stage 2 glue: row bundles of touchpoints -> ClickHouse `touchpoints`, each
event id stored once. The rows were built at ingest; only their index (event
id and time) is read here, and the fresh rows go to ClickHouse as they came.

Duplicates of an event carry the same identity, hence the same person key and
partition, so one consumer sees them all: per partition, `SeenEvents` answers
from memory, and ClickHouse answers for events older than what memory holds.
Offsets are committed (by the batch consumer) only after the insert returned.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiokafka import TopicPartition

from streams.batch_consumer import Batch, StatelessHandler, Write
from streams.store.bundle import decode_bundle, split_rows
from streams.store.clickhouse import OffLoopStore
from streams.store.dedup import NO_FLOOR, SeenEvents, priming_floor
from streams.store.rows import TOUCHPOINT_COLUMNS


class TouchpointStoreHandler(StatelessHandler):
    def __init__(self, store: OffLoopStore, *, capacity: int) -> None:
        self.store = store
        self.capacity = capacity
        self.seen: dict[int, SeenEvents] = {}
        self.stored = 0
        self.duplicates = 0
        self.looked_up = 0
        self._old_in_flight: set[str] = set()
        """Event ids below a partition's memory whose insert has not returned:
        the next batch's ClickHouse lookup could miss them."""

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            self.seen.pop(tp.partition, None)

    async def _prime(self, partition: int) -> SeenEvents:
        """The stored ids of a partition, from ClickHouse. Lazily, at its first
        batch: aiokafka may hand out records before on_assigned has finished."""
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

    async def handle(self, batch: Batch) -> Write | None:
        """Keep the rows of events not stored yet; returns their insert. They
        count as seen at once: the next batch may come before the insert
        returns (a failed insert crashes the worker, memory and all)."""
        chunks: list[bytes] = []  # fresh rows, a bundle's body or a part of it
        fresh = 0
        old: set[str] = set()  # kept events below memory
        for tp, records in batch.items():
            bundles = [decode_bundle(record.value) for record in records]
            entries = [entry for index, _ in bundles for entry in index]
            keep = await self._unseen(tp.partition, entries, old)
            new = [
                (event_id, ms) for (event_id, ms), kept in zip(entries, keep, strict=True) if kept
            ]
            self.seen[tp.partition].add_all(new)
            fresh += len(new)
            at = 0
            for index, body in bundles:
                wanted = keep[at : at + len(index)]
                at += len(index)
                if all(wanted):
                    chunks.append(body)
                elif any(wanted):
                    rows = split_rows(body)
                    chunks.append(
                        b"\n".join(r for r, kept in zip(rows, wanted, strict=True) if kept)
                    )
        if not chunks:
            return None
        self.stored += fresh
        return self._insert(b"\n".join(chunks), _token(batch), old)

    async def _insert(self, rows: bytes, token: str, old: set[str]) -> None:
        """Insert the rows; then the old events among them, below every
        partition's memory, are ClickHouse's to answer for."""
        await self.store.insert_rows("touchpoints", TOUCHPOINT_COLUMNS, rows, dedup_token=token)
        self._old_in_flight.difference_update(old)

    async def _unseen(
        self, partition: int, entries: list[list[Any]], kept_old: set[str]
    ) -> list[bool]:
        """Per (event_id, occurred_at_ms) entry, whether it is new: neither
        stored before nor earlier in this batch. The new ones below memory
        are added to `kept_old` (and held in flight until their insert)."""
        seen = self.seen.get(partition)
        if seen is None:
            seen = self.seen[partition] = await self._prime(partition)
        in_batch, in_flight = set(), self._old_in_flight
        keep: list[bool] = []
        old: list[int] = []  # entries older than memory: ClickHouse knows
        covers = seen.covers
        for event_id, occurred_at_ms in entries:
            if event_id in in_batch or (
                event_id in seen if covers(occurred_at_ms) else event_id in in_flight
            ):
                self.duplicates += 1
                keep.append(False)
                continue
            in_batch.add(event_id)
            if not covers(occurred_at_ms):
                old.append(len(keep))
            keep.append(True)
        if old:
            self.looked_up += len(old)
            stored = {
                row[0]
                for row in await self.store.query(
                    "stored_event_ids",
                    event_ids=[entries[i][0] for i in old],
                    min_ms=min(entries[i][1] for i in old),
                    max_ms=max(entries[i][1] for i in old),
                )
            }
            for i in old:
                if entries[i][0] in stored:
                    keep[i] = False
                    self.duplicates += 1
                else:  # kept: until its insert returns, ClickHouse does not know it
                    in_flight.add(entries[i][0])
                    kept_old.add(entries[i][0])
        return keep

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
