"""Closed journeys leave the journey state (`streams.journeys.closed`): the
core driven in-process with the closed-journeys topic, the changelog and the
journeys table played by lists here. Whatever order steps come in (late
ones reaching into closed journeys, merges of people with closed history,
evictions), the journeys stored equal the ones folded here from every step
at once, and what the state holds per person is the open journey only."""

from __future__ import annotations

import random
from typing import Any

from streams.journeys.closed import (
    NO_CHAIN,
    ClosedJourney,
    Closure,
    decode_closure,
    encode_closure,
)
from streams.journeys.fold import person_journeys
from streams.journeys.logic import JourneyLogic
from streams.journeys.outbox import Outbox, Partition
from streams.journeys.rows import JOURNEY_COLUMNS, journey_row
from streams.journeys.rules import JourneyRules
from streams.journeys.state import PersonRecord, encode_record
from streams.journeys.steps import Step, decode_steps

MINUTE = 60_000
HOUR = 60 * MINUTE
T0 = 1_795_000_000_000
RULES = JourneyRules(
    inactivity_gap_ms=HOUR,
    checkout_window_ms=10 * MINUTE,
    slow_answer_ms=10 * MINUTE,
    crash_window_ms=10 * MINUTE,
    opt_out_window_ms=10 * MINUTE,
)
LATENESS = 30 * MINUTE
_VERSION, _DELETED, _AS_OF = (JOURNEY_COLUMNS.index(c) for c in ("version", "is_deleted", "as_of"))
KINDS = [
    ("page_view", "consideration"),
    ("product_view", "consideration"),
    ("purchase", "purchase"),
    ("app_open", "awareness"),
]


def step(event_id: str, minute: int, kind: int = 0) -> Step:
    event_type, stage = KINDS[kind]
    revenue = 10.0 if event_type == "purchase" else None
    currency = "EUR" if revenue else None
    return Step(
        event_id, T0 + minute * MINUTE, "web", event_type, stage, revenue=revenue, currency=currency
    )


class Stage:
    """What `streams.journeys.stage` does around the core, on lists."""

    def __init__(self, merged: dict[str, str] | None = None) -> None:
        self.merged = merged if merged is not None else {}
        self.clock = 1000.0
        self.logic = self.new_logic()
        self.logic.adopt(0, Partition())
        self.closures: list[tuple[bytes, bytes | None, bytes]] = []
        """The closed-journeys topic: (key, value, steps) by offset."""
        self.changelog: list[tuple[str, bytes | None, bytes]] = []
        self.store: dict[tuple[str, str], tuple[Any, ...]] = {}
        """The journeys table: the row of the highest version per journey."""
        self.steps_topic: list[tuple[str, list[Step]]] = []
        """Steps forwarded to the people they were merged into, not read yet."""

    def new_logic(self) -> JourneyLogic:
        return JourneyLogic(
            lambda key: self.merged.get(key, key),
            RULES,
            lateness_ms=LATENESS,
            evict_idle_s=0,
            clock=lambda: self.clock,
        )

    def handle(self, items: list[tuple[str, list[Step]]]) -> None:
        items, self.steps_topic = [*self.steps_topic, *items], []
        for key in self.logic.returning(0, items):
            for offset, _ in self.logic.to_reload(0, [key]):
                _, value, steps = self.changelog[offset]
                assert value is not None
                self.logic.reloaded(0, key, value, steps)
        self.logic.gather(0, items)
        self.reopen()

    def reopen(self, keys: list[str] | None = None) -> None:
        wanted = self.logic.to_reopen(0, keys or ())
        while wanted:
            after = []
            for offset, key in wanted:
                _, value, steps = self.closures[offset]
                closure = None if value is None else decode_closure(value, steps)
                more = self.logic.reopened(0, key, closure)
                if more is not None:
                    after.append((more, key))
            wanted = sorted(after)

    def flush(self) -> Outbox:
        if self.steps_topic:
            self.handle([])
        out = Outbox()
        list(self.logic.flush(out))
        self.send(out)
        return out

    def move(self, key: str) -> None:
        for offset, _ in self.logic.to_reload(0, [key]):
            _, value, steps = self.changelog[offset]
            assert value is not None
            self.logic.reloaded(0, key, value, steps)
        self.reopen([key])
        out = Outbox()
        self.logic.move(0, key, out)
        self.send(out)
        self.handle([])

    def send(self, out: Outbox) -> None:
        offsets = []
        for _, closure in out.closures:
            offsets.append(len(self.closures))
            self.closures.append((*encode_closure(closure)[:2], closure.steps))
        self.logic.closed(out, offsets)
        for record in out.versions:
            self.log(record)
        for key, row in out.rows:
            current = self.store.get((key, row[1]))
            if current is None or current[_VERSION] <= row[_VERSION]:
                self.store[(key, row[1])] = tuple(row)
        released = [self.log(record) for record in out.releases]
        for _, gone in out.tombstones:
            at = next(i for i, (key, _, _) in enumerate(self.closures) if key == gone)
            self.closures[at] = (gone, None, b"")
        self.logic.sent(out, released)
        self.steps_topic += [(key, list(steps)) for key, steps in out.forwarded]

    def log(self, record: PersonRecord) -> int:
        assert record.closure is None, "a record is sent once its closure's offset is known"
        value, steps = encode_record(record)
        self.changelog.append((record.customer_key, value, steps))
        return len(self.changelog) - 1

    def restart(self) -> None:
        """A new core restored from the changelog (a crash after the last send)."""
        partition = Partition()
        for offset, (key, value, steps) in enumerate(self.changelog):
            JourneyLogic.replay(partition, key, offset, value, steps)
        self.logic = self.new_logic()
        self.logic.adopt(0, partition)
        self.reopen()

    def stored(self) -> dict[tuple[str, str], tuple[Any, ...]]:
        """Current journeys, without the columns that say when they were written."""
        return {
            at: tuple(v for i, v in enumerate(row) if i not in (_VERSION, _AS_OF))
            for at, row in self.store.items()
            if not row[_DELETED]
        }


def expected(
    people: dict[str, list[Step]], as_of_ms: int
) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = {}
    for key, steps in people.items():
        for journey in person_journeys(key, steps, RULES, as_of_ms=as_of_ms):
            row = journey_row(key, 0, as_of_ms, journey)
            rows[(key, journey.journey_id)] = tuple(
                v for i, v in enumerate(row) if i not in (_VERSION, _AS_OF)
            )
    return rows


def test_ended_journeys_leave_the_state_and_the_changelog_once_closed() -> None:
    stage = Stage()
    history = [step(f"h{i}", i * 120, kind=2 if i == 3 else 0) for i in range(40)]  # 40 journeys
    stage.handle([("A", history)])
    out = stage.flush()
    ((_number, closure),) = out.closures
    assert len(closure.journeys) == 39  # all but the last ended
    assert [j.steps for j in closure.journeys] == [1] * 39
    assert decode_steps(closure.steps) == history[:39]
    state = stage.logic.partitions[0].people["A"]
    assert state.decoded() == history[39:]
    assert state.purchased and state.closed_until_ms == history[38].occurred_at_ms
    assert state.chain == 0  # the closure's offset, once it was sent
    (record,) = out.versions
    assert record.chain == 0 and record.closed_now and decode_steps(record.steps) == history[39:]
    # Live steps: the record carries the open journey only, whatever the history.
    for minute in range(39 * 120 + 10, 39 * 120 + 30):
        stage.handle([("A", [step(f"l{minute}", minute)])])
        live = stage.flush()
        assert live.closures == []
        assert len(decode_steps(live.versions[0].steps)) <= 21
    all_steps = history + [step(f"l{m}", m) for m in range(39 * 120 + 10, 39 * 120 + 30)]
    as_of = all_steps[-1].occurred_at_ms
    assert stage.stored() == expected({"A": all_steps}, as_of)


def test_a_late_step_reopens_the_closed_journeys_it_reaches_and_no_more() -> None:
    stage = Stage()
    history = [step(f"h{i}", i * 120) for i in range(10)]
    stage.handle([("A", history[:5])])
    stage.flush()
    stage.handle([("A", history[5:])])
    stage.flush()
    assert len([c for c in stage.closures if c[1] is not None]) == 2
    # Late, bridging journeys 6 and 7 (two hours apart) and a purchase:
    # journey 8 reaches loyalty with its own purchase afterwards.
    late = [step("late1", 6 * 120 + 50, kind=2), step("late2", 7 * 120 - 50)]
    later = step("buy", 8 * 120 + 1, kind=2)
    stage.handle([("A", [*late, later])])
    out = stage.flush()
    # One closure read (journeys 4-8), three of its journeys back (4 and 5
    # stay closed there: the late steps cannot reach them); none superseded.
    assert stage.logic.counts["closures_reopened"] == 1
    assert out.tombstones == []
    ((_, again),) = out.closures
    assert (again.previous, again.previous_count) == (1, 2)
    all_steps = [*history, *late, later]
    as_of = max(s.occurred_at_ms for s in all_steps)
    assert stage.stored() == expected({"A": all_steps}, as_of)
    state = stage.logic.partitions[0].people["A"]
    assert state.decoded() == [history[9]]  # closed again
    # A step before everything reads the whole chain back: each closure is
    # superseded, tombstoned with the version that no longer needs it.
    first = step("first", -30)
    stage.handle([("A", [first])])
    out = stage.flush()
    assert sorted(key for _, key in out.tombstones) == sorted(c[0] for c in stage.closures[:3])
    assert stage.stored() == expected({"A": [*all_steps, first]}, as_of)


def test_merges_restarts_evictions_and_late_steps_in_any_order_match_one_fold() -> None:
    for seed in range(40):
        rng = random.Random(seed)
        merged: dict[str, str] = {}
        stage = Stage(merged)
        truth: dict[str, list[Step]] = {}
        keys = [f"P{n}" for n in range(6)]
        minute = 0
        for round_ in range(60):
            minute += rng.randrange(5, 90)
            batch: list[tuple[str, list[Step]]] = []
            for _ in range(rng.randrange(1, 4)):
                key = rng.choice(keys)
                late = rng.random()
                back = (
                    rng.randrange(60, 600)
                    if late < 0.15
                    else rng.randrange(600, 3000)
                    if late < 0.2
                    else 0
                )
                at = minute - back  # late: into the open journey, or ended ones
                s = step(f"e{round_}-{len(batch)}-{key}", at, kind=rng.randrange(len(KINDS)))
                owner = merged.get(key, key)
                truth.setdefault(owner, []).append(s)
                batch.append((key if rng.random() < 0.3 else owner, [s]))  # forwarded
            stage.handle(batch)
            if rng.random() < 0.6:
                stage.flush()
            if rng.random() < 0.05 and len([k for k in keys if k not in merged]) > 2:
                gone, into = rng.sample([k for k in keys if k not in merged], 2)
                stage.flush()
                merged[gone] = into
                for other, target in merged.items():
                    if target == gone:
                        merged[other] = into
                truth.setdefault(into, []).extend(truth.pop(gone, []))
                stage.move(gone)
                stage.flush()
            if rng.random() < 0.05:
                stage.flush()
                stage.restart()
        stage.flush()
        # Event time moves on: everyone else is swept out, their journeys
        # written as of that watermark (the one the fold here uses).
        far = step("z", minute + 10 * 24 * 60)
        truth["Z"] = [far]
        stage.handle([("Z", [far])])
        stage.flush()
        assert stage.stored() == expected(truth, far.occurred_at_ms), seed
        assert set(stage.logic.partitions[0].people) == {"Z"}
        assert stage.logic.counts["journeys_closed"] > 0, seed


def test_a_restored_version_that_closed_journeys_writes_them_again() -> None:
    """A crash after a closure and its changelog record, before its rows:
    the restored state reopens the closure and the next flush writes the
    closed journeys' rows again."""
    stage = Stage()
    history = [step(f"h{i}", i * 120) for i in range(6)]
    stage.handle([("A", history)])
    out = Outbox()
    list(stage.logic.flush(out))
    offsets = []
    for _, closure in out.closures:  # the closure and the record reach Kafka ...
        offsets.append(len(stage.closures))
        stage.closures.append((*encode_closure(closure)[:2], closure.steps))
    stage.logic.closed(out, offsets)
    for record in out.versions:
        stage.log(record)
    # ... the rows do not.
    stage.restart()
    assert stage.logic.counts["closures_reopened"] == 1
    stage.flush()
    assert stage.stored() == expected({"A": history}, history[-1].occurred_at_ms)


def test_a_closure_gone_from_the_topic_is_counted_and_the_rest_goes_on() -> None:
    stage = Stage()
    stage.handle([("A", [step("a1", 0), step("a2", 500)])])
    stage.flush()
    key, _, _ = stage.closures[0]
    stage.closures[0] = (key, None, b"")  # compacted away (or erased)
    stage.handle([("A", [step("a0", -5)])])
    stage.flush()
    assert stage.logic.counts["closures_missing"] == 1
    # The late step's journey is closed anew, the lost history before it gone.
    _, value, steps = stage.closures[stage.logic.partitions[0].people["A"].chain]
    assert value is not None
    closure = decode_closure(value, steps)
    assert closure.previous == NO_CHAIN and decode_steps(closure.steps) == [step("a0", -5)]


def test_a_closure_record_round_trips() -> None:
    journeys = (ClosedJourney("j1", 5, False, 2), ClosedJourney("j2", 9, True, 1))
    closure = Closure("K", 3, journeys, b"[]", 7, 2, 99, True)
    key, value, headers = encode_closure(closure)
    assert key == b"K|3"
    assert decode_closure(value, dict(headers)["cx.steps"]) == closure
