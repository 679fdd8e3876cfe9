"""Garbage collection in a worker that holds many long-lived objects.

The collector exists for reference cycles, and the hot path makes almost
none: with automatic collection off for a whole 50,000-record run, one full
collection at the end found 1,900 unreachable objects, nearly all of them
classes and functions from start-up. Its cost, though, grows with what is
alive: CPython's full collection walks every tracked object (the journey
state of many people: hundreds of milliseconds), and a young collection walks
every object allocated since the last one that is still alive, which in a
batch pipeline means the batches in flight (tens of milliseconds per 100,000
objects here).

So, when tuned (`CX_GC_TUNED`, the default), the worker:

- collects the young generation every `YOUNG_THRESHOLD` allocations, so
  each young collection walks at most that many objects;
- freezes what survives each young collection (`gc.freeze()`): the older
  generations stay empty, and no collection ever walks the long-lived state.
  Frozen objects are still freed by reference counting, which is how evicted
  people and stored batches go; a frozen object that later becomes part of a
  garbage cycle is never reclaimed (the measurement above says there are
  next to none).

`GcWatch` times every collection, so the pauses are visible in `/stats` and
in the benchmark: by the wall clock (what the event loop waited) and by the
collecting thread's CPU time (what the collector did). The two differ when
the operating system runs another thread meanwhile: on two cores shared with
the broker and ClickHouse, the longest pauses were mostly that (66.6 ms by
the wall clock and 19.0 ms on the CPU, in the two-worker run of a
million-record benchmark).

The young generation can hold more than `YOUNG_THRESHOLD` objects when it is
collected: CPython counts allocations minus deallocations, and frees of
frozen objects (stored batches, evicted people) count too. Up to 25,803
objects were seen at a collection with the threshold at 10,000, and up to
14,228 at 5,000.

A young collection's work is about proportional to the threshold, and the
total about the same whatever it is. 200,000-record runs, two at each
(`GcWatch` and a probe that timed every collection): at 10,000, about 400
young collections, 1.04-1.12 s of the collector's CPU in all, 99th
percentile 9.5-12.6 ms, longest 15.1-15.3 ms; at 5,000, about 880, 1.02-1.10 s
in all, 99th percentile 4.6-4.8 ms, longest 6.2-8.4 ms.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

YOUNG_THRESHOLD = 5_000
"""Allocations between young collections (CPython's default is 700)."""


@dataclass
class GcWatch:
    """Counts and durations of collections, per generation."""

    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    total_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    longest_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    cpu_total_s: float = 0.0
    longest_cpu_s: float = 0.0
    """The collecting thread's CPU time, over all generations."""
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
