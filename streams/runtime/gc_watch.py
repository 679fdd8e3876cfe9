"""Garbage collection in a worker that holds many long-lived objects.

When tuned (`CX_GC_TUNED`, the default), the worker collects the young
generation every `YOUNG_THRESHOLD` allocations and freezes what survives, so
no collection walks the long-lived state; `GcWatch` times every collection
by the wall clock and by CPU time. Why, and the measurements:
docs/performance.md, "Garbage collection".
"""

from __future__ import annotations

import gc
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

YOUNG_THRESHOLD = 5_000
"""Allocations between young collections (CPython's default is 700)."""

PAUSE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Upper bounds (seconds) of the pause histogram (`cx_gc_pause_seconds`).
Counted here, in plain lists: a Prometheus histogram takes a lock, and a
collection can start while that lock is held."""


@dataclass
class GcWatch:
    """Counts and durations of collections, per generation."""

    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    total_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    longest_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    cpu_total_s: float = 0.0
    longest_cpu_s: float = 0.0
    """The collecting thread's CPU time, over all generations."""
    pause_counts: list[int] = field(default_factory=lambda: [0] * (len(PAUSE_BUCKETS) + 1))
    """Pauses per bucket of PAUSE_BUCKETS (the last: longer than all)."""
    freeze_survivors: bool = False
    """Freeze what survives every collection (see the module doc)."""
    _started: float = 0.0
    _started_cpu: float = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started_cpu = time.thread_time()
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        cpu = time.thread_time() - self._started_cpu
        generation = info["generation"]
        if self.freeze_survivors:
            # Everything that survived is reachable now: out of the
            # collector's sight from here on.
            gc.freeze()
        self.collections[generation] += 1
        self.total_s[generation] += took
        self.longest_s[generation] = max(self.longest_s[generation], took)
        self.pause_counts[bisect_left(PAUSE_BUCKETS, took)] += 1
        self.cpu_total_s += cpu
        self.longest_cpu_s = max(self.longest_cpu_s, cpu)

    def install(self) -> GcWatch:
        if self not in gc.callbacks:
            gc.callbacks.append(self)
        return self

    def uninstall(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def reset(self) -> None:
        """Forget what was timed so far (start-up is not the steady state)."""
        self.collections = [0, 0, 0]
        self.total_s = [0.0, 0.0, 0.0]
        self.longest_s = [0.0, 0.0, 0.0]
        self.pause_counts = [0] * (len(PAUSE_BUCKETS) + 1)
        self.cpu_total_s = self.longest_cpu_s = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "collections": list(self.collections),
            "total_ms": [round(s * 1000, 1) for s in self.total_s],
            "longest_ms": [round(s * 1000, 1) for s in self.longest_s],
            "longest_pause_ms": round(max(self.longest_s) * 1000, 1),
            "cpu_total_ms": round(self.cpu_total_s * 1000, 1),
            "longest_pause_cpu_ms": round(self.longest_cpu_s * 1000, 1),
        }


def tune(watch: GcWatch, young_threshold: int = YOUNG_THRESHOLD) -> None:
    """Collect once and freeze what start-up left; from then on collect the
    young generation every `young_threshold` allocations and freeze its
    survivors. The watch starts counting afresh."""
    _, older, oldest = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, older, oldest)
    watch.freeze_survivors = True
    watch.reset()
