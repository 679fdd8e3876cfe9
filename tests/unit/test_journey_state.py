"""Per-person journey state, its changelog record, and the journey rows it
becomes in ClickHouse (on chdb: versions replace, retired journeys vanish)."""

from __future__ import annotations

import orjson

from streams.clickhouse.bundle import encode_rows
from streams.journeys.fold import person_journeys
from streams.journeys.rows import JOURNEY_COLUMNS, deleted_row, journey_row
from streams.journeys.rules import JourneyRules
from streams.journeys.state import (
    PersonRecord,
    PersonState,
    add_steps,
    decode_record,
    encode_record,
    merge_steps,
    restored,
)
from streams.journeys.steps import Step
from tests.held import held_by

HOUR = 3_600_000
DAY = 24 * HOUR
RULES = JourneyRules()


def step(event_id: str, at: int, event_type: str = "page_view", **fields: object) -> Step:
    return Step(event_id, at, str(fields.pop("channel", "web")), event_type, **fields)  # type: ignore[arg-type]


def test_kept_steps_take_about_their_length_in_memory() -> None:
    """orjson's output owns its whole write buffer (about 4 KiB here): kept
    as it is, 100,000 people's steps would take 400 MB whatever their length."""
    states = [PersonState() for _ in range(1000)]

    def kept_steps(i: int) -> bytes:
        add_steps(states[i], [step(f"e{i}-2", 20, "add_to_cart"), step(f"e{i}-1", 10)])
        return states[i].steps

    held, length = held_by(kept_steps, len(states))
    assert length > 1000 * 100
    assert held < length + 1000 * 100


def test_steps_are_kept_in_event_time_order_each_event_once() -> None:
    state = PersonState()
    assert [s.event_id for s in add_steps(state, [step("b", 20), step("a", 10)]) or []] == [
        "a",
        "b",
    ]
    merged = add_steps(state, [step("a", 10), step("c", 15)])  # "a" again: a repeat
    assert [s.event_id for s in merged or []] == ["a", "c", "b"]
    assert [s.event_id for s in state.decoded()] == ["a", "c", "b"]
    assert state.last_at_ms == 20
    assert add_steps(state, [step("c", 15), step("c", 15)]) is None  # nothing new: unchanged
    assert [s.event_id for s in state.decoded()] == ["a", "c", "b"]


def test_merge_appends_newer_steps_and_sorts_late_ones_in() -> None:
    known = [step("a", 10), step("b", 20)]
    assert merge_steps(known, [step("d", 40), step("c", 30)]) == [
        *known,
        step("c", 30),
        step("d", 40),
    ]
    assert merge_steps(known, [step("0", 5)]) == [step("0", 5), *known]
    assert merge_steps(known, [step("a", 99)]) is None  # an event id counts once, whatever its time


def test_a_late_step_moves_the_journey_start_and_retires_the_old_id() -> None:
    state = PersonState()
    first = person_journeys(
        "customer_id:C1", add_steps(state, [step("b", 5 * DAY)]) or [], RULES, as_of_ms=5 * DAY
    )
    steps = add_steps(state, [step("a", 4 * DAY)])  # within the gap: same journey, new start
    second = person_journeys("customer_id:C1", steps or [], RULES, as_of_ms=5 * DAY)
    assert [j.touchpoints for j in second] == [2]
    assert first[0].journey_id != second[0].journey_id


def test_a_record_round_trips_and_restores_the_state() -> None:
    state = PersonState()
    add_steps(
        state,
        [
            step("a", 1, "purchase", revenue=10.5, currency="EUR", order_id="o1"),
            step("b", 2, "survey_response", channel="sms", survey="nps", score=3),
        ],
    )
    record = PersonRecord("customer_id:C1", 7, 10, state.steps, state.last_at_ms, ("j1",))
    value, steps = encode_record(record)
    back = restored(decode_record(value), steps)
    assert back is not None
    assert (back.decoded(), back.version, back.journey_ids, back.last_at_ms) == (
        state.decoded(),
        7,
        ("j1",),
        2,
    )
    moved = PersonRecord("anonymous_id:a", 3, 0, b"[]", 0, (), moved_to="customer_id:C1")
    value, steps = encode_record(moved)
    assert restored(decode_record(value), steps) is None


def test_journey_rows_are_json_lines_in_column_order() -> None:
    steps = [
        step("a", DAY, "purchase", revenue=10.5, currency="EUR", order_id="o1"),
        step("b", DAY + HOUR, "survey_response", channel="sms", survey="nps", score=3),
    ]
    (journey,) = person_journeys("customer_id:C1", steps, RULES, as_of_ms=2 * DAY)
    row = dict(
        zip(
            JOURNEY_COLUMNS,
            orjson.loads(encode_rows([journey_row("k", 7, 2 * DAY, journey)])),
            strict=True,
        )
    )
    assert (row["version"], row["is_deleted"], row["touchpoints"]) == (7, 0, 2)
    assert row["started_at"] == DAY / 1000  # ClickHouse reads a JSON number as seconds
    assert row["pain_kinds"] == ["low_score"] and row["pain_points"][0]["kind"] == "low_score"
    retired = dict(
        zip(
            JOURNEY_COLUMNS, orjson.loads(encode_rows([deleted_row("k", 8, 0, "old")])), strict=True
        )
    )
    assert (retired["journey_id"], retired["is_deleted"], retired["version"]) == ("old", 1, 8)
