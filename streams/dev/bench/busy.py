"""A worker's CPU for the events of a window, its idle cost taken out.

An idle worker is not free: its consumers poll, the journey stage ticks,
the alert rules are queried every few seconds. At a steady rate of a few
hundred events a second that is a share of the whole, so the idle cost is
measured on the same worker with no traffic (`idle_cores`) and taken out
of every window in proportion to its length. CPU is the whole process's
(every thread, chdb's included), from /proc.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from streams.dev.bench.cpu import read_cpu


@dataclass(frozen=True)
class Mark:
    """A point in a run: the worker's CPU seconds so far and the clock."""

    cpu_s: float
    at: float
    """time.perf_counter()"""


def mark(pid: int) -> Mark:
    return Mark(read_cpu(pid).total, time.perf_counter())


@dataclass(frozen=True)
class Window:
    cpu_s: float
    """The worker's CPU over the window, every thread."""
    seconds: float
    """Its wall-clock length."""

    @classmethod
    def between(cls, start: Mark, end: Mark) -> Window:
        return cls(end.cpu_s - start.cpu_s, end.at - start.at)

    def busy_s(self, idle_cores: float) -> float:
        """CPU beyond what the worker spends idle over as long (never below 0)."""
        return max(0.0, self.cpu_s - idle_cores * self.seconds)

    def us_per_event(self, idle_cores: float, events: int) -> float:
        """Busy CPU microseconds per event of the window."""
        return round(self.busy_s(idle_cores) * 1e6 / events, 1) if events else 0.0


def idle_cores(pid: int, seconds: float) -> float:
    """Cores the worker keeps busy with no traffic (CPU seconds a second),
    over `seconds` of doing nothing to it."""
    start = mark(pid)
    time.sleep(seconds)
    window = Window.between(start, mark(pid))
    return round(window.cpu_s / window.seconds, 4)


def ratio(figure: float, baseline: float) -> float | None:
    """`figure` over `baseline`, or None without a baseline."""
    return round(figure / baseline, 2) if baseline > 0 else None
