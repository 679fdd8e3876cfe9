"""The in-memory part of event-id deduplication."""

from __future__ import annotations

from streams.store.dedup import BUCKET_MS, NO_FLOOR, SeenEvents, priming_floor

T0 = 1_795_000_000_000 - 1_795_000_000_000 % BUCKET_MS


def test_membership_is_exact_above_the_floor() -> None:
    seen = SeenEvents(capacity=100)
    seen.add_all([("a", T0), ("b", T0 + BUCKET_MS)])
    assert "a" in seen and "b" in seen and "c" not in seen
    assert seen.covers(T0 - 1000 * BUCKET_MS)  # nothing evicted: everything covered


def test_out_of_order_event_times_evict_nothing_below_capacity() -> None:
    seen = SeenEvents(capacity=100)
    seen.add_all([("new", T0 + 30 * 24 * BUCKET_MS), ("old", T0)])  # days apart, either order
    assert "old" in seen and seen.covers(T0)


def test_capacity_evicts_oldest_minutes_and_raises_the_floor() -> None:
    seen = SeenEvents(capacity=3)
    seen.add_all([(f"h{h}-{i}", T0 + h * BUCKET_MS) for h in range(3) for i in range(2)])
    assert len(seen) <= 3
    assert "h2-0" in seen and "h0-0" not in seen and "h1-0" not in seen
    assert seen.floor_ms == T0 + 2 * BUCKET_MS
    assert not seen.covers(T0 + BUCKET_MS) and seen.covers(T0 + 2 * BUCKET_MS)


def test_ids_below_the_floor_are_not_remembered() -> None:
    seen = SeenEvents(capacity=10, floor_ms=T0)
    seen.add_all([("late", T0 - 1)])
    assert "late" not in seen and len(seen) == 0


def test_priming_loads_the_newest_minutes_that_fit() -> None:
    minutes = [(T0 + 2 * BUCKET_MS, 5), (T0 + BUCKET_MS, 5), (T0, 5)]
    assert priming_floor([], 100) == NO_FLOOR
    assert priming_floor(minutes, 100) == NO_FLOOR
    assert priming_floor(minutes, 10) == T0 + BUCKET_MS  # the two newest minutes fit
    assert priming_floor(minutes, 4) == T0 + 3 * BUCKET_MS  # not even the newest minute fits
