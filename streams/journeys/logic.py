"""`JourneyLogic`: the journey stage's state and steps, without I/O.

It holds each partition's people (their steps, evicted people's changelog
offsets, the steps gathered since the last flush, the watermark) and turns
them into an `Outbox`: what a flush or a move must send. The Kafka side
(`streams.journeys.stage`) reads the changelog and the steps, feeds them in,
and sends the Outbox. The journeys themselves are folded by `fold`, `state`
and `rows`; the wall clock is the `clock` given (tests drive it).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.clickhouse.bundle import Row
from streams.journeys.fold import journeys_of_ordered
from streams.journeys.rows import version_rows
from streams.journeys.rules import JourneyRules
from streams.journeys.state import (
    NO_STEPS,
    PersonRecord,
    PersonState,
    add_steps,
    decode_record,
    restored,
)
from streams.journeys.steps import KeyedSteps, Step

SWEEP_SECONDS = 5.0
"""Wall-clock time between two eviction sweeps of a partition."""
SWEEP_EVENT_TIME_MS = 3_600_000
"""Or event time: a partition is swept when its watermark moved this much."""

People = dict[str, PersonState]


@dataclass
class Partition:
    """One journey-steps partition's state in memory."""

    people: People = field(default_factory=dict)
    evicted: dict[str, int] = field(default_factory=dict)
    """People evicted from memory: the changelog offset of the record that
    holds their state, reloaded if a late step comes."""
    pending: dict[str, list[Step]] = field(default_factory=dict)
    """Steps handled since the last flush, by person."""
    watermark: int = 0
    """Latest event time seen (ms)."""
    swept: tuple[float, int] = (0.0, 0)
    """Wall clock and watermark of the last eviction sweep."""


@dataclass
class Outbox:
    """What a flush or a move sends, in this order: `versions`, then `rows`
    and `forwarded`, then `releases`.

    A new version's changelog record goes before its rows: the store never
    holds a journey the person's state does not know, so a journey that later
    vanishes is always retired (a crash in between leaves the state ahead of
    the store; the state it restores is `unconfirmed` and writes its journeys
    again). An eviction or a move changes no journey id: its rows go first,
    then the record that lets the state go."""

    versions: list[PersonRecord] = field(default_factory=list)
    """Changelog records of new versions: sent before their rows."""
    rows: list[tuple[str, Row]] = field(default_factory=list)
    forwarded: list[KeyedSteps] = field(default_factory=list)
    """Steps for the key their person was merged into."""
    releases: list[PersonRecord] = field(default_factory=list)
    """Changelog records of people evicted or moved: sent after their rows."""
    evictions: list[tuple[int, str, int]] = field(default_factory=list)
    """(partition, key, index in releases) of each person evicted."""

    def empty(self) -> bool:
        return not (self.versions or self.rows or self.forwarded or self.releases)


class JourneyLogic:
    """The partitions this worker holds, and the pure steps on them."""

    def __init__(
        self,
        key_of: Callable[[str], str],
        rules: JourneyRules,
        *,
        lateness_ms: int,
        evict_idle_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key_of = key_of
        """A person's current key (the identity graph's `key_of`)."""
        self.rules = rules
        self.lateness_ms = lateness_ms
        self.evict_idle_s = evict_idle_s
        self.clock = clock
        self.partitions: dict[int, Partition] = {}
        self.forwarded: list[KeyedSteps] = []
        """Steps of merged keys, sent to their new key at the next flush."""
        self.pending_steps = 0
        """Steps gathered since the last flush."""
        self.counts: Counter[str] = Counter()

    # -- restore ----------------------------------------------------------------
    @staticmethod
    def replay(
        partition: Partition, key: str, offset: int, value: bytes | None, steps: bytes
    ) -> None:
        """One changelog record (its key, offset, value and `cx.steps`) into
        a partition being restored: the last record of a key wins."""
        partition.people.pop(key, None)
        partition.evicted.pop(key, None)
        if value is None:
            return
        data = decode_record(value)
        partition.watermark = max(partition.watermark, data["as_of_ms"])
        state = restored(data, steps)
        if state is not None and data["evicted"]:
            partition.evicted[key] = offset
        elif state is not None:
            partition.people[key] = state

    def adopt(self, number: int, partition: Partition) -> None:
        """A partition restored to its changelog's end: this worker's now."""
        self.partitions[number] = partition
        self.counts["restored_people"] += len(partition.people)

    def drop(self, numbers: Iterable[int]) -> None:
        """Partitions revoked (flushed already: nothing pending is lost)."""
        for number in numbers:
            self.partitions.pop(number, None)

    def stale(self, number: int) -> list[str]:
        """The partition's people merged into others since their record."""
        partition = self.partitions[number]
        return [key for key in (*partition.people, *partition.evicted) if self.key_of(key) != key]

    def to_reload(self, number: int, keys: Iterable[str]) -> list[tuple[int, str]]:
        """Of `keys`, the evicted people, as (changelog offset, key) in offset
        order; they are no longer evicted (`reloaded` brings each back)."""
        evicted = self.partitions[number].evicted
        return sorted((evicted.pop(key), key) for key in keys if key in evicted)

    def reloaded(self, number: int, key: str, value: bytes, steps: bytes) -> None:
        """An evicted person back in memory, from their changelog record."""
        state = restored(decode_record(value), steps)
        assert state is not None, "an evicted person's record holds their state"
        self.partitions[number].people[key] = state
        self.counts["people_reloaded"] += 1

    # -- steps ------------------------------------------------------------------
    def returning(self, number: int, items: Iterable[KeyedSteps]) -> list[str]:
        """The evicted people the steps are for (reload them before `gather`);
        not the ones merged into others, whose steps are forwarded."""
        evicted = self.partitions[number].evicted
        back = {key for key, _ in items} & evicted.keys()
        return [key for key in back if self.key_of(key) == key]

    def gather(self, number: int, items: Sequence[KeyedSteps]) -> None:
        """A batch's decoded steps of one partition, gathered per person until
        the flush; the steps of a key merged into another are forwarded."""
        now, key_of = self.clock(), self.key_of
        partition = self.partitions[number]
        pending, people = partition.pending, partition.people
        watermark = partition.watermark
        for key, steps in items:
            current = key_of(key)
            if current != key:  # merged into another person since it was keyed
                self.forwarded.append((current, steps))
                self.counts["steps_forwarded"] += len(steps)
                continue
            gathered = pending.get(key)
            if gathered is None:
                pending[key] = list(steps)
            else:
                gathered.extend(steps)
            state = people.get(key)
            if state is not None:
                state.touched_at = now
            self.counts["steps"] += len(steps)
            for step in steps:
                if step.occurred_at_ms > watermark:
                    watermark = step.occurred_at_ms
        partition.watermark = watermark
        self.pending_steps += sum(len(steps) for _, steps in items)

    def flush(self, out: Outbox) -> Iterator[str]:
        """Fold every person with new steps and sweep out the idle, into
        `out` (with the forwarded steps), yielding each person folded: the
        caller may let others run between two."""
        self.pending_steps = 0
        out.forwarded += self.forwarded
        self.forwarded = []
        for number in list(self.partitions):
            yield from self.fold(number, out)
            self.sweep(number, out)

    def fold(self, number: int, out: Outbox) -> Iterator[str]:
        """Fold the partition's people with new steps into `out`, one at a
        time (each yielded); the pending steps are gone once it is done."""
        partition = self.partitions[number]
        now = self.clock()
        people, watermark = partition.people, partition.watermark
        for key, new in partition.pending.items():
            state = people.get(key)
            if state is None:
                state = people[key] = PersonState()
            state.touched_at = now
            steps = add_steps(state, new)
            if steps is None and state.unconfirmed:
                steps = state.decoded()  # their journeys may be missing in the store
                self.counts["unconfirmed_rewritten"] += 1
            if steps is not None:
                self._write(key, state, steps, watermark, out)
            yield key
        partition.pending = {}

    def _write(
        self,
        key: str,
        state: PersonState,
        steps: list[Step],
        as_of_ms: int,
        out: Outbox,
        *,
        evicted: bool = False,
    ) -> None:
        """A new version of the person: their journeys' rows (and deletions
        of the ones that no longer exist), and their changelog record."""
        journeys = journeys_of_ordered(key, steps, self.rules, as_of_ms=as_of_ms)
        state.version += 1
        previous = state.maybe_stored()
        rows = version_rows(key, state.version, as_of_ms, journeys, previous)
        out.rows += [(key, row) for row in rows]
        state.journey_ids = tuple(journey.journey_id for journey in journeys)
        state.unconfirmed, state.retired = False, ()
        record = PersonRecord(
            key,
            state.version,
            as_of_ms,
            state.steps,
            state.last_at_ms,
            state.journey_ids,
            retired=tuple(dict.fromkeys(i for i in previous if i not in state.journey_ids)),
            evicted=evicted,
        )
        (out.releases if evicted else out.versions).append(record)
        self.counts["versions_written"] += 1

    def sweep(self, number: int, out: Outbox) -> None:
        """Every SWEEP_SECONDS, or when event time moved on SWEEP_EVENT_TIME_MS:
        write the final state of people idle for the gap plus the lateness
        (event time) and untouched for `evict_idle_s` (wall clock), and evict
        them from memory (their offsets come with `sent`)."""
        partition = self.partitions[number]
        now, watermark = self.clock(), partition.watermark
        last_time, last_mark = partition.swept
        if now - last_time < SWEEP_SECONDS and watermark - last_mark < SWEEP_EVENT_TIME_MS:
            return
        partition.swept = (now, watermark)
        horizon = watermark - self.rules.inactivity_gap_ms - self.lateness_ms
        untouched = now - self.evict_idle_s
        people = partition.people
        idle = [
            key
            for key, state in people.items()
            if state.last_at_ms < horizon and state.touched_at <= untouched
        ]
        for key in idle:
            state = people.pop(key)
            out.evictions.append((number, key, len(out.releases)))
            self._write(key, state, state.decoded(), watermark, out, evicted=True)
            self.counts["people_evicted"] += 1

    # -- identity ---------------------------------------------------------------
    def move(self, number: int, key: str, out: Outbox) -> None:
        """Send the person's steps (kept and pending) to the key they were
        merged into, retire their journeys, and forget them. An evicted
        person must be reloaded first."""
        partition = self.partitions[number]
        state = partition.people.pop(key, None)
        pending = partition.pending.pop(key, [])
        if state is None and not pending:
            return
        target = self.key_of(key)
        steps = [*(state.decoded() if state else []), *pending]
        out.forwarded.append((target, steps))
        if state is None:
            return  # never written: nothing to retire
        state.version += 1
        as_of = partition.watermark
        retired = version_rows(key, state.version, as_of, (), state.maybe_stored())
        out.rows += [(key, row) for row in retired]
        record = PersonRecord(key, state.version, as_of, NO_STEPS, 0, (), moved_to=target)
        out.releases.append(record)
        self.counts["people_moved"] += 1

    # -- after sending ------------------------------------------------------------
    def sent(self, out: Outbox, offsets: list[int]) -> None:
        """`out` is sent; `offsets` are its releases' changelog offsets: where
        each evicted person's state is, to reload them."""
        for number, key, index in out.evictions:
            if number in self.partitions:
                self.partitions[number].evicted[key] = offsets[index]

    def people_in_memory(self) -> int:
        return sum(len(p.people) for p in self.partitions.values())

    def stats(self) -> dict[str, Any]:
        partitions = self.partitions.values()
        return {
            **self.counts,
            "people_in_memory": self.people_in_memory(),
            "people_evicted_now": sum(len(p.evicted) for p in partitions),
            "people_pending": sum(len(p.pending) for p in partitions),
            "watermarks": {n: p.watermark for n, p in sorted(self.partitions.items())},
        }
