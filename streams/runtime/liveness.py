"""`GET /live`: is this worker worth keeping, or should it be restarted?

Two failures a restart heals: an event loop held for long (a blocking call,
a bug; `LoopWatch` ticks every TICK_S and sees how late its last tick is; a
loop held for good cannot answer at all, and the probe times out), and a
stage that has records to read but has committed nothing for
`CX_STALL_SECONDS`. A stage waiting on ClickHouse or the broker is not
stalled: `/ready` reports that, and a restart does not free a disk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

TICK_S = 0.5


class StageProgress(NamedTuple):
    """What liveness needs of one stage's consumer."""

    stage: str
    lag: int
    """Records behind, over its partitions (those known)."""
    last_commit_at: float
    """Clock time of its last commit (or its start)."""


class LoopWatch:
    """A task that ticks every TICK_S: a late tick is a held event loop."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last_tick = clock()
        self.lag_s = 0.0
        """How late the last tick came."""

    async def run(self) -> None:
        self.last_tick = self.clock()  # not held before it ran
        while True:
            before = self.clock()
            await asyncio.sleep(TICK_S)
            self.last_tick = self.clock()
            self.lag_s = max(0.0, self.last_tick - before - TICK_S)

    def held_for(self) -> float:
        """How long the loop has kept the watch from ticking: now, or at
        its last tick (a loop that was held and has just come back)."""
        return max(0.0, self.clock() - self.last_tick - TICK_S, self.lag_s)


class Liveness:
    """The verdict of `/live`, on an injectable clock."""

    def __init__(
        self,
        *,
        loop_stuck_s: float,
        stall_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.loop_stuck_s = loop_stuck_s
        self.stall_s = stall_s
        self.clock = clock
        self.watch = LoopWatch(clock)

    def stalled(self, stages: Iterable[StageProgress]) -> list[dict[str, Any]]:
        """The stages with records to read and no commit for `stall_s`."""
        now = self.clock()
        return [
            {"stage": s.stage, "lag": s.lag, "since_commit_s": round(now - s.last_commit_at, 1)}
            for s in stages
            if s.lag > 0 and now - s.last_commit_at >= self.stall_s
        ]

    def check(
        self, stages: Iterable[StageProgress], *, waiting: bool
    ) -> tuple[int, dict[str, Any]]:
        """HTTP status and body: 200 alive; 503 with the held loop or the
        stalled stages. `waiting`: ClickHouse or the broker is being retried
        (a wait, not a stall)."""
        held = self.watch.held_for()
        if held >= self.loop_stuck_s:
            return 503, {"status": "stuck", "event_loop_held_s": round(held, 1)}
        stalled = [] if waiting else self.stalled(stages)
        if stalled:
            return 503, {"status": "stalled", "stalled": stalled}
        return 200, {"status": "alive"}
