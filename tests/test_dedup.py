"""The in-memory part of event-id deduplication."""

from __future__ import annotations

from streams.store.dedup import HOUR_MS, NO_FLOOR, SeenEvents, priming_floor

T0 = 1_795_000_000_000 - 1_795_000_000_000 % HOUR_MS


def test_membership_is_exact_above_the_floor() -> None:
    seen = SeenEvents(horizon_ms=48 * HOUR_MS, capacity=100)
    seen.add_all([("a", T0), ("b", T0 + HOUR_MS)])
    assert "a" in seen and "b" in seen and "c" not in seen
    assert seen.covers(T0 - 10 * HOUR_MS)  # nothing evicted: everything covered


def test_the_horizon_evicts_whole_hours_and_raises_the_floor() -> None:
    seen = SeenEvents(horizon_ms=2 * HOUR_MS, capacity=100)
    seen.add_all([("old", T0), ("mid", T0 + 2 * HOUR_MS), ("new", T0 + 4 * HOUR_MS)])
    assert "old" not in seen and "mid" in seen and "new" in seen
    assert seen.floor_ms == T0 + HOUR_MS
    assert not seen.covers(T0) and seen.covers(T0 + HOUR_MS)


def test_capacity_evicts_oldest_hours_first() -> None:
    seen = SeenEvents(horizon_ms=1000 * HOUR_MS, capacity=3)
    seen.add_all([(f"h{h}-{i}", T0 + h * HOUR_MS) for h in range(3) for i in range(2)])
    assert len(seen) <= 3
    assert "h2-0" in seen and "h0-0" not in seen
    assert seen.floor_ms == T0 + 2 * HOUR_MS


def test_ids_below_the_floor_are_not_remembered() -> None:
    seen = SeenEvents(horizon_ms=HOUR_MS, capacity=10, floor_ms=T0)
    seen.add_all([("late", T0 - 1)])
    assert "late" not in seen and len(seen) == 0


def test_priming_loads_everything_that_fits() -> None:
    hours = [(T0 + 2 * HOUR_MS, 5), (T0 + HOUR_MS, 5), (T0, 5)]
    assert priming_floor([], 48 * HOUR_MS, 100) == NO_FLOOR
    assert priming_floor(hours, 48 * HOUR_MS, 100) == NO_FLOOR
    assert priming_floor(hours, 48 * HOUR_MS, 10) == T0 + HOUR_MS  # two newest hours fit
    assert priming_floor(hours, HOUR_MS, 100) == T0 + 2 * HOUR_MS  # horizon: newest hour only
