"""Which event ids of one partition are stored already: exact, bounded memory.

`SeenEvents` holds every stored event id of a touchpoints-topic partition whose
event time is at or above `floor_ms`. For such an event membership is exact;
for an older one (a late or replayed event) the caller asks ClickHouse.
Memory is bounded by `capacity`: past it, the oldest minutes of event time are
evicted and the floor rises, never falls.

Eviction is by capacity only, not by a time horizon: while a backlog is read
(after an outage, or a benchmark's pre-produced traffic) partitions are read
unevenly and event times jump back and forth by days, so a horizon measured
from the newest event would evict ids that are still needed.
"""

from __future__ import annotations

from collections.abc import Iterable

BUCKET_MS = 60_000
"""Ids are evicted a minute of event time at a time."""
NO_FLOOR = -(2**63)


class SeenEvents:
    __slots__ = ("_buckets", "_ids", "capacity", "floor_ms")

    def __init__(self, capacity: int, floor_ms: int = NO_FLOOR) -> None:
        self.capacity = capacity
        self.floor_ms = floor_ms
        self._ids: set[str] = set()
        self._buckets: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def covers(self, occurred_at_ms: int) -> bool:
        """True when membership of an event of this time is known exactly."""
        return occurred_at_ms >= self.floor_ms

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def add_all(self, events: Iterable[tuple[str, int]]) -> None:
        """Record stored (event_id, occurred_at_ms) pairs, then evict."""
        ids, buckets = self._ids, self._buckets
        for event_id, occurred_at_ms in events:
            if occurred_at_ms < self.floor_ms or event_id in ids:
                continue
            ids.add(event_id)
            start = occurred_at_ms - occurred_at_ms % BUCKET_MS
            bucket = buckets.get(start)
            if bucket is None:
                buckets[start] = [event_id]
            else:
                bucket.append(event_id)
        if len(ids) > self.capacity:
            self._evict()

    def forget(self, event_ids: set[str]) -> None:
        """Event ids no longer stored (erased). Their minutes' lists keep
        them until evicted: removing an id twice is harmless."""
        self._ids.difference_update(event_ids)

    def _evict(self) -> None:
        for oldest in sorted(self._buckets):
            if len(self._ids) <= self.capacity:
                break
            self._ids.difference_update(self._buckets.pop(oldest))
            self.floor_ms = max(self.floor_ms, oldest + BUCKET_MS)


def priming_floor(buckets_newest_first: list[tuple[int, int]], capacity: int) -> int:
    """Where to start loading a partition's stored ids: as many whole minutes,
    newest first, as fit in `capacity`. `NO_FLOOR` when all fit (the cache is
    then complete)."""
    total = 0
    for bucket, count in buckets_newest_first:
        if total + count > capacity:
            return bucket + BUCKET_MS
        total += count
    return NO_FLOOR
