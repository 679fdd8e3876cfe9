"""Which event ids of one partition are stored already: exact, bounded memory.

`SeenEvents` holds every stored event id of a touchpoints-topic partition whose
event time is at or above `floor_ms`. For such an event membership is exact;
for an older one (a late or replayed event) the caller asks ClickHouse.
Memory is bounded two ways: ids older than `horizon_ms` behind the newest event
time are evicted, and so are the oldest hours while more than `capacity` are
held; eviction raises the floor, never lowers it.
"""

from __future__ import annotations

from collections.abc import Iterable

HOUR_MS = 3_600_000
NO_FLOOR = -(2**63)


class SeenEvents:
    __slots__ = ("_hours", "_ids", "_newest_ms", "capacity", "floor_ms", "horizon_ms")

    def __init__(self, horizon_ms: int, capacity: int, floor_ms: int = NO_FLOOR) -> None:
        self.horizon_ms = horizon_ms
        self.capacity = capacity
        self.floor_ms = floor_ms
        self._ids: set[str] = set()
        self._hours: dict[int, list[str]] = {}
        self._newest_ms = NO_FLOOR

    def __len__(self) -> int:
        return len(self._ids)

    def covers(self, occurred_at_ms: int) -> bool:
        """True when membership of an event of this time is known exactly."""
        return occurred_at_ms >= self.floor_ms

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def add_all(self, events: Iterable[tuple[str, int]]) -> None:
        """Record stored (event_id, occurred_at_ms) pairs, then evict."""
        ids, hours = self._ids, self._hours
        newest = self._newest_ms
        for event_id, occurred_at_ms in events:
            if occurred_at_ms < self.floor_ms or event_id in ids:
                continue
            ids.add(event_id)
            hour = occurred_at_ms - occurred_at_ms % HOUR_MS
            bucket = hours.get(hour)
            if bucket is None:
                hours[hour] = [event_id]
            else:
                bucket.append(event_id)
            if occurred_at_ms > newest:
                newest = occurred_at_ms
        self._newest_ms = newest
        self._evict()

    def _evict(self) -> None:
        limit = self._newest_ms - self.horizon_ms
        while self._hours:
            oldest = min(self._hours)
            if oldest + HOUR_MS > limit and len(self._ids) <= self.capacity:
                break
            self._ids.difference_update(self._hours.pop(oldest))
            self.floor_ms = max(self.floor_ms, oldest + HOUR_MS)


def priming_floor(hours_newest_first: list[tuple[int, int]], horizon_ms: int, capacity: int) -> int:
    """Where to start loading a partition's stored ids: as many whole hours,
    newest first, as fit within the horizon and the capacity. `NO_FLOOR` when
    everything fits (the cache is then complete)."""
    if not hours_newest_first:
        return NO_FLOOR
    newest = hours_newest_first[0][0] + HOUR_MS
    total = 0
    for hour, count in hours_newest_first:
        if hour + HOUR_MS <= newest - horizon_ms or total + count > capacity:
            return hour + HOUR_MS
        total += count
    return NO_FLOOR
