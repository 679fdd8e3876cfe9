"""The journey stage's core (`JourneyLogic`) driven in-process: steps gathered
and folded, changelog records replayed, idle people swept out, merged people
moved, and what the Outbox holds, against journeys folded here directly."""

from __future__ import annotations

from streams.clickhouse.bundle import Row
from streams.journeys.fold import journeys_of_ordered
from streams.journeys.logic import SWEEP_SECONDS, JourneyLogic
from streams.journeys.outbox import Outbox, Partition
from streams.journeys.rows import deleted_row, journey_row
from streams.journeys.rules import JourneyRules
from streams.journeys.state import NO_STEPS, PersonRecord, encode_record
from streams.journeys.steps import Step, decode_steps, encode_steps

MINUTE = 60_000
HOUR = 60 * MINUTE
T0 = 1_795_000_000_000
RULES = JourneyRules(inactivity_gap_ms=HOUR)


class Clock:
    """A wall clock the test moves."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def step(event_id: str, minute: int) -> Step:
    return Step(event_id, T0 + minute * MINUTE, "web", "page_view")


def in_order(steps: list[Step]) -> list[Step]:
    return sorted(steps, key=lambda s: (s.occurred_at_ms, s.event_id))


def new_logic(
    merged: dict[str, str] | None = None,
    clock: Clock | None = None,
    *,
    lateness_ms: int = 0,
    evict_idle_s: float = 60,
) -> JourneyLogic:
    """A core holding partition 0, empty; `merged` maps merged keys to theirs."""
    keys = merged if merged is not None else {}
    logic = JourneyLogic(
        lambda key: keys.get(key, key),
        RULES,
        lateness_ms=lateness_ms,
        evict_idle_s=evict_idle_s,
        clock=clock or Clock(),
    )
    logic.adopt(0, Partition())
    return logic


def flushed(logic: JourneyLogic) -> tuple[Outbox, list[str]]:
    out = Outbox()
    folded = list(logic.flush(out))
    return out, folded


def expected_rows(key: str, version: int, steps: list[Step], as_of_ms: int) -> list[Row]:
    journeys = journeys_of_ordered(key, in_order(steps), RULES, as_of_ms=as_of_ms)
    return [journey_row(key, version, as_of_ms, journey) for journey in journeys]


def journey_ids(key: str, steps: list[Step], as_of_ms: int) -> tuple[str, ...]:
    journeys = journeys_of_ordered(key, in_order(steps), RULES, as_of_ms=as_of_ms)
    return tuple(journey.journey_id for journey in journeys)


def test_gathered_steps_fold_into_a_version_and_its_rows_per_person() -> None:
    logic = new_logic()
    a = [step("a1", 0), step("a2", 10), step("a3", 200)]  # two journeys (1 h gap)
    b = [step("b1", 30)]
    logic.gather(0, [("A", [a[2], a[0]]), ("B", b), ("A", [a[1], a[0]])])  # a1 twice
    assert logic.stats()["people_pending"] == 2
    assert logic.pending_steps == 5
    out, folded = flushed(logic)
    watermark = a[2].occurred_at_ms
    assert folded == ["A", "B"]
    assert len(journey_ids("A", a, watermark)) == 2
    assert [(r.customer_key, r.version, r.journey_ids) for r in out.versions] == [
        ("A", 1, journey_ids("A", a, watermark)),
        ("B", 1, journey_ids("B", b, watermark)),
    ]
    assert decode_steps(out.versions[0].steps) == in_order(a)  # each event once
    assert out.rows == [
        *(("A", row) for row in expected_rows("A", 1, a, watermark)),
        *(("B", row) for row in expected_rows("B", 1, b, watermark)),
    ]
    assert (out.releases, out.forwarded, out.evictions) == ([], [], [])
    stats = logic.stats()
    assert (stats["people_pending"], stats["people_in_memory"], logic.pending_steps) == (0, 2, 0)
    assert stats["watermarks"] == {0: watermark}
    # Steps already known write nothing.
    logic.gather(0, [("A", [a[1]])])
    again, _ = flushed(logic)
    assert again.empty()


def record_of(key: str, version: int, steps: list[Step], **kind: object) -> tuple[bytes, bytes]:
    as_of = max(s.occurred_at_ms for s in steps) if steps else 0
    last = max((s.occurred_at_ms for s in steps), default=0)
    ids = journey_ids(key, steps, as_of) if steps else ()
    record = PersonRecord(key, version, as_of, encode_steps(in_order(steps)), last, ids, **kind)  # type: ignore[arg-type]
    return encode_record(record)


def test_replayed_changelog_records_restore_a_partition() -> None:
    partition = Partition()
    a, b, c = [step("a1", 0), step("a2", 5)], [step("b1", 90)], [step("c1", 30)]
    JourneyLogic.replay(partition, "A", 0, *record_of("A", 1, a[:1]))
    JourneyLogic.replay(partition, "A", 1, *record_of("A", 2, a))  # the last one wins
    JourneyLogic.replay(partition, "B", 2, *record_of("B", 4, b, evicted=True))
    JourneyLogic.replay(partition, "C", 3, *record_of("C", 1, c))
    JourneyLogic.replay(partition, "C", 4, *record_of("C", 2, [], moved_to="A"))
    JourneyLogic.replay(partition, "D", 5, *record_of("D", 1, [step("d1", 1)]))
    JourneyLogic.replay(partition, "D", 6, None, b"")  # a tombstone
    assert set(partition.people) == {"A"}
    assert partition.evicted == {"B": 2}
    state = partition.people["A"]
    assert (state.version, state.decoded(), state.last_at_ms) == (2, a, a[1].occurred_at_ms)
    assert state.journey_ids == journey_ids("A", a, a[1].occurred_at_ms)
    assert state.unconfirmed  # a new version's record: its rows may be missing
    assert partition.watermark == b[0].occurred_at_ms

    logic = new_logic()
    logic.adopt(1, partition)
    assert logic.stats()["restored_people"] == 1
    assert logic.to_reload(1, ["A", "B", "X"]) == [(2, "B")]
    value, steps = record_of("B", 4, b, evicted=True)
    logic.reloaded(1, "B", value, steps)
    assert partition.people["B"].decoded() == b and not partition.people["B"].unconfirmed
    assert partition.evicted == {}


def test_a_restored_unconfirmed_state_rewrites_its_journeys_on_a_replayed_step() -> None:
    a = [step("a1", 0), step("a2", 10)]
    value, steps = record_of("A", 3, a, retired=("gone",))
    partition = Partition()
    JourneyLogic.replay(partition, "A", 0, value, steps)
    logic = new_logic()
    logic.adopt(0, partition)
    logic.gather(0, [("A", [a[1]])])  # read again after the crash: nothing new
    out, _ = flushed(logic)
    watermark = a[1].occurred_at_ms
    assert [(r.customer_key, r.version) for r in out.versions] == [("A", 4)]
    assert out.rows == [
        *(("A", row) for row in expected_rows("A", 4, a, watermark)),
        ("A", deleted_row("A", 4, watermark, "gone")),  # the lost version's retirement
    ]
    assert logic.stats()["unconfirmed_rewritten"] == 1
    logic.gather(0, [("A", [a[1]])])  # confirmed now: a repeat changes nothing
    assert flushed(logic)[0].empty()


def test_the_sweep_evicts_people_idle_in_event_time_and_on_the_wall_clock() -> None:
    clock = Clock()
    logic = new_logic(clock=clock, lateness_ms=30 * MINUTE, evict_idle_s=60)
    a, b, c = [step("a1", 0)], [step("b1", 45)], [step("c1", 120)]
    logic.gather(0, [("A", a), ("B", b), ("C", c)])
    # A is idle for the gap plus the lateness in event time (horizon minute
    # 30), B is within the lateness; but all were touched just now.
    first, _ = flushed(logic)
    assert first.evictions == [] and first.releases == []
    clock.now += 59
    assert flushed(logic)[0].empty()  # not untouched for 60 s yet
    clock.now += 2
    assert flushed(logic)[0].empty()  # swept 2 s ago: the next sweep is due later
    clock.now += SWEEP_SECONDS
    out, folded = flushed(logic)
    watermark = c[0].occurred_at_ms
    assert folded == []
    assert out.versions == []
    assert [(r.customer_key, r.version, r.evicted) for r in out.releases] == [("A", 2, True)]
    assert out.evictions == [(0, "A", 0)]
    assert out.rows == [("A", row) for row in expected_rows("A", 2, a, watermark)]
    assert set(logic.partitions[0].people) == {"B", "C"}
    assert logic.stats()["people_evicted"] == 1
    logic.sent(out, [42])  # the offset of the eviction's changelog record
    assert logic.partitions[0].evicted == {"A": 42}
    # A late step for A brings them back first (the stage reloads them).
    assert logic.returning(0, [("A", [step("a0", -5)]), ("B", b)]) == ["A"]


def test_a_move_forwards_the_steps_to_the_new_key_and_retires_the_old_journeys() -> None:
    merged: dict[str, str] = {}
    logic = new_logic(merged)
    a = [step("a1", 0), step("a2", 100)]
    logic.gather(0, [("A", a)])
    flushed(logic)
    ids = logic.partitions[0].people["A"].journey_ids
    assert len(ids) == 2
    late = step("a3", 150)
    logic.gather(0, [("A", [late])])  # pending when the merge comes
    merged["A"] = "B"
    assert logic.stale(0) == ["A"]
    out = Outbox()
    logic.move(0, "A", out)
    watermark = late.occurred_at_ms
    assert out.forwarded == [("B", [*a, late])]
    assert out.rows == [("A", deleted_row("A", 2, watermark, i)) for i in ids]
    assert out.releases == [PersonRecord("A", 2, watermark, NO_STEPS, 0, (), moved_to="B")]
    assert out.versions == []
    assert "A" not in logic.partitions[0].people and logic.stats()["people_pending"] == 0
    # Steps keyed to A before the merge go on to B at the next flush.
    logic.gather(0, [("A", [step("a4", 160)])])
    after, folded = flushed(logic)
    assert after.forwarded == [("B", [step("a4", 160)])]
    assert (after.versions, after.rows, folded) == ([], [], [])
    assert logic.stats()["steps_forwarded"] == 1


def test_the_outbox_keeps_versions_apart_from_releases_and_evictions_point_at_theirs() -> None:
    """New versions go before their rows and releases after theirs (the stage
    sends them in that order), so neither kind may land in the other list;
    an eviction names its own record among the releases of a moved person."""
    merged: dict[str, str] = {}
    clock = Clock()
    logic = new_logic(merged, clock)
    logic.gather(0, [("M", [step("m1", 0)]), ("E", [step("e1", 1)])])
    flushed(logic)
    clock.now += 120
    merged["M"] = "N"
    out = Outbox()
    logic.move(0, "M", out)
    logic.gather(0, [("V", [step("v1", 300)])])  # moves the watermark: E is idle
    folded = list(logic.flush(out))
    assert folded == ["V"]
    assert [(r.customer_key, r.evicted, r.moved_to) for r in out.versions] == [("V", False, None)]
    assert [(r.customer_key, r.evicted, r.moved_to) for r in out.releases] == [
        ("M", False, "N"),
        ("E", True, None),
    ]
    assert out.evictions == [(0, "E", 1)]
    logic.sent(out, [7, 8])
    assert logic.partitions[0].evicted == {"E": 8}
