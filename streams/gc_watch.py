"""Garbage collection in a worker that holds many long-lived objects.

CPython's full collection walks every tracked object: with the journey state
of many people in memory it pauses the event loop for hundreds of
milliseconds. The worker therefore freezes what survives each full
collection (`gc.freeze()`: frozen objects are never scanned again; they are
still freed by reference counting, which is how evicted people and stored
batches go, but one that later joins a garbage cycle is never reclaimed) and
collects the young generation less often. `GcWatch` times every collection
so the pauses are visible in `/stats` and in the benchmark.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

YOUNG_THRESHOLD = 300_000
"""Allocations between young collections (CPython's default is 700)."""


@dataclass
class GcWatch:
    """Counts and durations of collections, per generation."""

    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    total_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    longest_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    freeze_after_full: bool = False
    _started: float = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        took = time.perf_counter() - self._started
        if generation == 2 and self.freeze_after_full:
            # Every object that survived a full collection is reachable now:
            # out of the collector's sight, the next full collection only
            # walks what was allocated since.
            gc.freeze()
        self.collections[generation] += 1
        self.total_s[generation] += took
        self.longest_s[generation] = max(self.longest_s[generation], took)

    def install(self) -> GcWatch:
        if self not in gc.callbacks:
            gc.callbacks.append(self)
        return self

    def uninstall(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "collections": list(self.collections),
            "total_ms": [round(s * 1000, 1) for s in self.total_s],
            "longest_ms": [round(s * 1000, 1) for s in self.longest_s],
            "longest_pause_ms": round(max(self.longest_s) * 1000, 1),
        }


def tune(young_threshold: int = YOUNG_THRESHOLD) -> None:
    """Collect the young generation every `young_threshold` allocations
    (the older generations keep their ratios), and freeze what start-up
    left, after a full collection."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young_threshold, older, oldest)
    gc.collect()
    gc.freeze()
