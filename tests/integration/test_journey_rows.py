"""Journey rows on the real engine: a person's versions replace each other
in `journeys`, and the journeys a version retires vanish."""

from __future__ import annotations

from datetime import UTC

from streams.clickhouse.bundle import encode_rows
from streams.clickhouse.client import Store
from streams.journeys.fold import person_journeys
from streams.journeys.rows import JOURNEY_COLUMNS, deleted_row, journey_row
from streams.journeys.rules import JourneyRules
from streams.journeys.state import (
    PersonState,
    add_steps,
)
from tests.unit.test_journey_state import step

HOUR = 3_600_000
DAY = 24 * HOUR
RULES = JourneyRules()


def test_journey_rows_replace_by_version_and_retired_journeys_vanish(migrated: Store) -> None:
    store = migrated
    key = "customer_id:C1"
    as_of = 5 * DAY + HOUR
    state = PersonState()
    steps = add_steps(
        state,
        [step("b", 5 * DAY), step("c", 5 * DAY + HOUR, "purchase", revenue=20.0, currency="EUR")],
    )
    old = person_journeys(key, steps or [], RULES, as_of_ms=as_of)
    steps = add_steps(state, [step("a", 4 * DAY)])  # a late step: the journey now starts earlier
    new = person_journeys(key, steps or [], RULES, as_of_ms=as_of)
    v1 = [journey_row(key, 1, as_of, j) for j in old]
    v2 = [journey_row(key, 2, as_of, j) for j in new] + [
        deleted_row(key, 2, as_of, old[0].journey_id)
    ]
    for rows in (v1, v2):
        store.insert_rows("journeys", JOURNEY_COLUMNS, encode_rows(rows), dedup_token=None)
    rows = store.client.query(
        "SELECT journey_id, touchpoints, purchases, revenue, started_at FROM cx_test.current_journeys"
    ).result_rows
    assert [(r[0], r[1], r[2], {k: float(v) for k, v in r[3].items()}) for r in rows] == [
        (new[0].journey_id, 3, 1, {"EUR": 20.0})
    ]
    started = rows[0][4].replace(tzinfo=UTC)  # the row's seconds are exact milliseconds
    assert started.timestamp() == 4 * DAY / 1000
