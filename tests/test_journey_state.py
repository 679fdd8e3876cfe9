"""Per-person journey state, its changelog record, and the journey rows it
becomes in ClickHouse (on chdb: versions replace, retired journeys vanish)."""

from __future__ import annotations

from streams.journeys.fold import person_journeys
from streams.journeys.rules import JourneyRules
from streams.journeys.state import (
    PersonRecord,
    PersonState,
    add_steps,
    decode_record,
    encode_record,
    restored,
)
from streams.journeys.steps import Step
from streams.store.clickhouse import Store
from streams.store.journey_rows import JOURNEY_COLUMNS, journey_columns
from streams.store.migrate import migrate

HOUR = 3_600_000
DAY = 24 * HOUR
RULES = JourneyRules()


def step(event_id: str, at: int, event_type: str = "page_view", **fields: object) -> Step:
    return Step(event_id, at, str(fields.pop("channel", "web")), event_type, **fields)  # type: ignore[arg-type]


def test_steps_are_kept_in_event_time_order_each_event_once() -> None:
    state = PersonState()
    assert add_steps(state, [step("b", 20), step("a", 10)]) == 2
    assert add_steps(state, [step("a", 10), step("c", 15)]) == 1  # "a" again: a repeat
    assert [s.event_id for s in state.steps] == ["a", "c", "b"]
    assert state.last_at_ms == 20


def test_a_late_step_moves_the_journey_start_and_retires_the_old_id() -> None:
    state = PersonState()
    add_steps(state, [step("b", 5 * DAY)])
    first = person_journeys("customer_id:C1", state.steps, RULES, as_of_ms=5 * DAY)
    add_steps(state, [step("a", 4 * DAY)])  # within the gap: same journey, new start
    second = person_journeys("customer_id:C1", state.steps, RULES, as_of_ms=5 * DAY)
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
    journeys = person_journeys("customer_id:C1", state.steps, RULES, as_of_ms=10)
    record = PersonRecord("customer_id:C1", 7, 10, state.steps, journeys, ["old"])
    value, steps = encode_record(record)
    data = decode_record(value)
    journey, retired = (dict(zip(JOURNEY_COLUMNS, row, strict=True)) for row in data["rows"])
    assert (journey["pain_kinds"], journey["is_deleted"]) == (["low_score"], 0)
    assert (retired["journey_id"], retired["is_deleted"], retired["version"]) == ("old", 1, 7)
    back = restored(data, steps)
    assert back is not None
    assert (back.steps, back.version, back.journey_ids) == (
        state.steps,
        7,
        (journeys[0].journey_id,),
    )
    moved = PersonRecord("anonymous_id:a", 3, 0, [], [], ["j"], moved_to="customer_id:C1")
    value, steps = encode_record(moved)
    assert restored(decode_record(value), steps) is None


def test_journey_rows_replace_by_version_and_retired_journeys_vanish(store: Store) -> None:
    migrate(store)
    key = "customer_id:C1"
    state = PersonState()
    add_steps(
        state,
        [step("b", 5 * DAY), step("c", 5 * DAY + HOUR, "purchase", revenue=20.0, currency="EUR")],
    )
    old = person_journeys(key, state.steps, RULES, as_of_ms=5 * DAY + HOUR)
    v1 = PersonRecord(key, 1, 5 * DAY + HOUR, state.steps, old, [])
    add_steps(state, [step("a", 4 * DAY)])  # a late step: the journey now starts earlier
    new = person_journeys(key, state.steps, RULES, as_of_ms=5 * DAY + HOUR)
    retired = [old[0].journey_id]
    v2 = PersonRecord(key, 2, 5 * DAY + HOUR, state.steps, new, retired)
    for record in (v1, v2):
        rows = decode_record(encode_record(record)[0])["rows"]
        store.insert("journeys", journey_columns(rows))
    rows = store.client.query(
        "SELECT journey_id, touchpoints, purchases, revenue FROM cx_test.current_journeys"
    ).result_rows
    assert [(r[0], r[1], r[2], {k: float(v) for k, v in r[3].items()}) for r in rows] == [
        (new[0].journey_id, 3, 1, {"EUR": 20.0})
    ]
