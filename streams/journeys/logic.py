"""`JourneyLogic`: the journey stage's state and steps, without I/O.

It holds each partition's people (the steps of their open journeys, evicted
people's changelog offsets, the steps gathered since the last flush, the
watermark) and turns them into an `Outbox`: what a flush or a move must
send. Ended journeys leave the state as closures (`streams.journeys.closed`);
the Kafka side reads them back when `to_reopen` asks. The Kafka side
(`streams.journeys.stage`) reads the changelog and the steps, feeds them in,
and sends the Outbox. The journeys themselves are folded by `fold`, `state`
and `rows`; the wall clock is the `clock` given (tests drive it).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from dataclasses import replace
from typing import Any

from streams.journeys.closed import PENDING, Closure
from streams.journeys.fold import journeys_of_ordered
from streams.journeys.outbox import Outbox, Partition
from streams.journeys.records import Journey
from streams.journeys.rows import version_rows
from streams.journeys.rules import JourneyRules
from streams.journeys.state import (
    NO_STEPS,
    PersonRecord,
    PersonState,
    add_steps,
    close,
    decode_record,
    reopen,
    restored,
)
from streams.journeys.steps import KeyedSteps, Step

NEWEST_CLOSURE = -1
"""A reach (`Partition.reaching`) that reopens the person's newest closure
whole, and no further (event times are never negative)."""
SWEEP_SECONDS = 5.0
"""Wall-clock time between two eviction sweeps of a partition."""
SWEEP_EVENT_TIME_MS = 3_600_000
"""Or event time: a partition is swept when its watermark moved this much."""


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
        suppressed_ids: Set[str] = frozenset(),
    ) -> None:
        self.key_of = key_of
        """A person's current key (the identity graph's `key_of`)."""
        self.rules = rules
        self.lateness_ms = lateness_ms
        self.final_ms = rules.final_after_ms + lateness_ms
        """A journey ended this long before the watermark is closed."""
        self.evict_idle_s = evict_idle_s
        self.clock = clock
        self.partitions: dict[int, Partition] = {}
        self.forwarded: list[KeyedSteps] = []
        """Steps of merged keys, sent to their new key at the next flush."""
        self.pending_steps = 0
        """Steps gathered since the last flush."""
        self.counts: Counter[str] = Counter()
        self.suppressed_ids = suppressed_ids
        """Identifiers of people erased with suppression (the identity
        graph's, live): steps already on their way for them are dropped."""
        self.suppressed = 0
        """Steps dropped so."""

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
        """A partition restored to its changelog's end: this worker's now.
        A version that closed journeys and may have lost its rows in a crash
        reopens its closure (`to_reopen`), to write them again."""
        for key, state in partition.people.items():
            if state.unconfirmed and state.closed_now and state.chain >= 0:
                partition.reaching[key] = NEWEST_CLOSURE
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
        back = {key for key, _ in items} & evicted.keys() - self.suppressed_ids
        return [key for key in back if self.key_of(key) == key]

    def gather(self, number: int, items: Sequence[KeyedSteps]) -> None:
        """A batch's decoded steps of one partition, gathered per person until
        the flush; the steps of a key merged into another are forwarded."""
        now, key_of = self.clock(), self.key_of
        partition = self.partitions[number]
        pending, people, reaching = partition.pending, partition.people, partition.reaching
        watermark = partition.watermark
        suppressed = self.suppressed_ids
        for key, steps in items:
            if suppressed and key in suppressed:  # erased after it was keyed
                self.suppressed += len(steps)
                continue
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
                if state.chain >= 0 and steps:  # a late step may reach into closed journeys
                    earliest = min(step.occurred_at_ms for step in steps)
                    if self._reaches(earliest, state):
                        if key not in reaching:
                            reaching[key] = earliest
                        elif (reach := reaching[key]) is not None and reach != NEWEST_CLOSURE:
                            reaching[key] = min(reach, earliest)
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
            if steps is None and (state.unconfirmed or state.superseded):
                # Their journeys may be missing in the store, or closures
                # were reopened into the state: write them (and close) again.
                steps = state.decoded()
                self.counts[
                    "unconfirmed_rewritten" if state.unconfirmed else "reopened_unchanged"
                ] += 1
            if steps is not None:
                self._write(number, key, state, steps, watermark, out)
            yield key
        partition.pending = {}

    def _write(
        self,
        number: int,
        key: str,
        state: PersonState,
        steps: list[Step],
        as_of_ms: int,
        out: Outbox,
        *,
        evicted: bool = False,
    ) -> None:
        """A new version of the person: their journeys' rows (and deletions
        of the ones that no longer exist), the journeys that ended closed
        (`_close`), and their changelog record."""
        journeys = journeys_of_ordered(
            key, steps, self.rules, as_of_ms=as_of_ms, purchased=state.purchased
        )
        state.version += 1
        previous = state.maybe_stored()
        rows = version_rows(key, state.version, as_of_ms, journeys, previous)
        out.rows += [(key, row) for row in rows]
        ids = {journey.journey_id for journey in journeys}
        retired = tuple(dict.fromkeys(i for i in previous if i not in ids))
        ended = 0
        while ended < len(journeys) and as_of_ms - journeys[ended].last_at_ms > self.final_ms:
            ended += 1
        if ended:
            closure: int | None = self._close(number, key, state, steps, journeys[:ended], out)
        elif state.chain == PENDING:  # closed earlier in this Outbox (then swept out)
            closure = max(i for i, (_, c) in enumerate(out.closures) if c.customer_key == key)
        else:
            closure = None
        state.journey_ids = tuple(journey.journey_id for journey in journeys[ended:])
        state.unconfirmed, state.retired = False, ()
        record = PersonRecord(
            key,
            state.version,
            as_of_ms,
            state.steps,
            state.last_at_ms,
            state.journey_ids,
            retired=retired,
            chain=state.chain,
            chain_count=state.chain_count,
            closed_until_ms=state.closed_until_ms,
            purchased=state.purchased,
            closed_now=closure is not None,
            closure=closure,
            evicted=evicted,
        )
        (out.releases if evicted else out.versions).append(record)
        out.tombstones += [(number, superseded) for superseded in state.superseded]
        state.superseded = ()
        self.counts["versions_written"] += 1

    def _close(
        self,
        number: int,
        key: str,
        state: PersonState,
        steps: list[Step],
        ended: Sequence[Journey],
        out: Outbox,
    ) -> int:
        """The ended journeys closed (`close`); the closure's index in
        `out.closures`."""
        out.closures.append((number, close(key, state, steps, ended)))
        self.counts["journeys_closed"] += len(ended)
        return len(out.closures) - 1

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
            self._write(number, key, state, state.decoded(), watermark, out, evicted=True)
            self.counts["people_evicted"] += 1

    # -- closed journeys ---------------------------------------------------------
    def to_reopen(self, number: int, keys: Iterable[str] = ()) -> list[tuple[int, str]]:
        """(closure offset, key), in offset order, of the people whose closed
        journeys must come back into the state: steps gathered for them
        reach into those journeys, or (restored) the version that closed
        them may have lost its rows; and all of the closures of `keys` (a
        move). The stage reads each closure and hands it to `reopened`."""
        partition = self.partitions[number]
        people, reaching = partition.people, partition.reaching
        for key in keys:
            reaching[key] = None
        for key in [key for key in reaching if key not in people or people[key].chain < 0]:
            del reaching[key]
        return sorted((people[key].chain, key) for key in reaching)

    def _reaches(self, at_ms: int, state: PersonState) -> bool:
        """Whether a step at `at_ms` may join or precede the person's closed
        journeys (the ones before `state.chain`)."""
        return at_ms - state.closed_until_ms <= self.rules.inactivity_gap_ms

    def reopened(self, number: int, key: str, closure: Closure | None) -> int | None:
        """A closure read back into the person's state (None: it is gone from
        the topic, which is counted and the older history left as it was);
        the offset of the next one to read, or None when done. The person
        is folded at the next flush, and the closure tombstoned then."""
        partition = self.partitions[number]
        state = partition.people[key]
        reach = partition.reaching.pop(key)
        partition.pending.setdefault(key, [])
        gap = self.rules.inactivity_gap_ms
        if reach is None or reach == NEWEST_CLOSURE:
            reopen(state, closure, lambda last_at_ms: False)
        else:
            at = reach
            reopen(state, closure, lambda last_at_ms: at - last_at_ms > gap)
        self.counts["closures_reopened" if closure else "closures_missing"] += 1
        if reach == NEWEST_CLOSURE:  # then as far as steps gathered meanwhile reach
            gathered = partition.pending[key]
            reach = min(step.occurred_at_ms for step in gathered) if gathered else None
            if reach is None:
                return None
        if closure is None or state.chain < 0:
            return None
        if reach is not None and not self._reaches(reach, state):
            return None
        partition.reaching[key] = reach
        return state.chain

    def closed(self, out: Outbox, offsets: list[int]) -> None:
        """`out.closures` are sent, at `offsets`: the records that point at
        them, and the states, learn where they are."""
        for (number, closure), offset in zip(out.closures, offsets, strict=True):
            partition = self.partitions.get(number)
            state = partition.people.get(closure.customer_key) if partition else None
            if state is not None and state.chain == PENDING:
                state.chain = offset

        def located(records: list[PersonRecord]) -> list[PersonRecord]:
            return [
                r if r.closure is None else replace(r, chain=offsets[r.closure], closure=None)
                for r in records
            ]

        out.versions, out.releases = located(out.versions), located(out.releases)

    # -- identity ---------------------------------------------------------------
    def move(self, number: int, key: str, out: Outbox) -> None:
        """Send the person's steps (kept and pending) to the key they were
        merged into, retire their journeys, and forget them. An evicted
        person must be reloaded first, and their closures reopened (all of
        them: `to_reopen` with their key)."""
        partition = self.partitions[number]
        state = partition.people.pop(key, None)
        pending = partition.pending.pop(key, [])
        if state is None and not pending:
            return
        assert state is None or state.chain < 0, "a person's closures are reopened before a move"
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
        out.tombstones += [(number, superseded) for superseded in state.superseded]
        self.counts["people_moved"] += 1

    def forget(self, number: int, key: str) -> None:
        """An erased person out of memory, with what was pending for them.
        Their changelog record and closures are tombstoned by the eraser
        (`streams.erasure`), which holds off until this is done."""
        partition = self.partitions[number]
        known = partition.people.pop(key, None) is not None
        known |= partition.evicted.pop(key, None) is not None
        known |= partition.pending.pop(key, None) is not None
        partition.reaching.pop(key, None)
        if known:
            self.counts["people_erased"] += 1

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
            "step_bytes_in_memory": sum(
                len(state.steps) for p in partitions for state in p.people.values()
            ),
            "people_evicted_now": sum(len(p.evicted) for p in partitions),
            "people_pending": sum(len(p.pending) for p in partitions),
            "watermarks": {n: p.watermark for n, p in sorted(self.partitions.items())},
        }
