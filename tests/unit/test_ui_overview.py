"""The overview page's JSON (streams/web/overview.py) from hand-made rows of
the score views: scores rolled up from counts, sample sizes, 95% intervals
computed here by hand, clipped to each scale; the queries it reads."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest

from streams.clickhouse import sql
from streams.web.overview import Counts, overview, score

Z = 1.959963984540054


def row(
    at: date,
    channel: str,
    store_id: str,
    survey: str,
    responses: int,
    *,
    promoters: int = 0,
    detractors: int = 0,
    satisfied: int = 0,
    ces_sum: int = 0,
) -> dict[str, Any]:
    """One row as the overview queries return it."""
    return {
        "at": at,
        "channel": channel,
        "store_id": store_id,
        "survey": survey,
        "responses": responses,
        "promoters": promoters,
        "detractors": detractors,
        "satisfied": satisfied,
        "ces_sum": ces_sum,
    }


D1, D2 = date(2026, 12, 1), date(2026, 12, 2)
ROWS = [
    # NPS on the web, store S1, over two days: 5 promoters, 2 detractors of 10.
    row(D1, "web", "S1", "nps", 6, promoters=3, detractors=1),
    row(D2, "web", "S1", "nps", 4, promoters=2, detractors=1),
    # NPS in store S2: 1 promoter, 2 detractors of 3.
    row(D1, "store", "S2", "nps", 3, promoters=1, detractors=2),
    # CSAT in the app, no store: 8 satisfied of 10.
    row(D1, "app", "", "csat", 10, satisfied=8),
    # CES by SMS: answers 7, 7, 1.
    row(D2, "sms", "", "ces", 3, ces_sum=15),
    # A survey the page does not know is left out.
    row(D2, "web", "", "other", 9),
]


def test_nps_is_rolled_up_from_counts_with_its_interval() -> None:
    web = overview(ROWS)["surveys"]["nps"]["by_channel"]
    assert [item["channel"] for item in web] == ["store", "web"]
    got = web[1]
    # p = 0.5, d = 0.2 over 10: NPS 30, variance p + d - (p - d)^2 per answer.
    half = Z * 100 * math.sqrt((0.7 - 0.09) / 10)
    assert got == {
        "channel": "web",
        "n": 10,
        "score": 30.0,
        "ci_low": round(30 - half, 2),
        "ci_high": round(30 + half, 2),
    }


def test_nps_interval_is_clipped_to_its_scale() -> None:
    got = score("nps", Counts(responses=3, promoters=1, detractors=2))
    half = Z * 100 * math.sqrt((1 - 1 / 9) / 3)
    assert got["score"] == round(-100 / 3, 2)
    assert got["ci_low"] == -100.0
    assert got["ci_high"] == round(-100 / 3 + half, 2)


def test_csat_uses_the_wilson_interval() -> None:
    got = overview(ROWS)["surveys"]["csat"]["total"]
    # Wilson 95% for 8 of 10 (known value: 0.4902 .. 0.9433).
    assert got["n"] == 10
    assert got["score"] == 80.0
    assert got["ci_low"] == pytest.approx(49.02, abs=0.01)
    assert got["ci_high"] == pytest.approx(94.33, abs=0.01)


def test_ces_has_no_interval_without_its_squares() -> None:
    got = overview([{**r, "ces_sum_squares": None} for r in ROWS])["surveys"]["ces"]["total"]
    assert got == {"n": 3, "score": 5.0, "ci_low": None, "ci_high": None}
    # The queries' rows lack the column altogether: the same.
    assert overview(ROWS)["surveys"]["ces"]["total"] == got


def test_ces_interval_from_its_squares_clipped_to_seven() -> None:
    # 7, 7, 1: mean 5, variance 99 / 3 - 25 = 8.
    got = score("ces", Counts(responses=3, ces_sum=15, ces_sum_squares=99))
    half = Z * math.sqrt(8 / 3)
    assert got == {"n": 3, "score": 5.0, "ci_low": round(5 - half, 3), "ci_high": 7.0}


def test_a_missing_square_anywhere_drops_the_interval_of_the_sum() -> None:
    total = Counts(responses=1, ces_sum=7, ces_sum_squares=49) + Counts(
        responses=1, ces_sum=1, ces_sum_squares=None
    )
    assert total.ces_sum_squares is None
    assert score("ces", total)["ci_low"] is None


def test_stores_worst_first_and_rows_without_a_store_only_in_totals() -> None:
    surveys = overview(ROWS)["surveys"]
    assert [(s["store_id"], s["n"]) for s in surveys["nps"]["by_store"]] == [
        ("S2", 3),
        ("S1", 10),
    ]
    assert surveys["csat"]["by_store"] == []
    assert surveys["nps"]["total"]["n"] == 13
    assert surveys["nps"]["total"]["score"] == round(100 * (6 - 4) / 13, 2)


def test_over_time_per_bucket_and_channel_in_time_order() -> None:
    series = overview(ROWS)["surveys"]["nps"]["over_time"]
    assert [(p["at"], p["channel"], p["n"]) for p in series] == [
        ("2026-12-01", "store", 3),
        ("2026-12-01", "web", 6),
        ("2026-12-02", "web", 4),
    ]
    assert series[2]["score"] == 25.0


def test_every_survey_is_there_without_answers() -> None:
    surveys = overview([])["surveys"]
    assert list(surveys) == ["nps", "csat", "ces"]
    for survey in surveys.values():
        assert survey["total"] == {"n": 0, "score": None, "ci_low": None, "ci_high": None}
        assert survey["by_channel"] == survey["by_store"] == survey["over_time"] == []


def test_an_unknown_survey_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'nope'"):
        score("nope", Counts(responses=1))


@pytest.mark.parametrize(
    ("name", "view", "since", "until"),
    [
        ("ui_overview_daily", "scores_daily", "{since_day:Date}", "{until_day:Date}"),
        (
            "ui_overview_hourly",
            "scores_minute",
            "{since:DateTime('UTC')}",
            "{until:DateTime('UTC')}",
        ),
    ],
)
def test_the_queries_read_a_documented_view_with_the_page_filters(
    name: str, view: str, since: str, until: str
) -> None:
    text = sql.query(name)
    assert f"{{database:Identifier}}.{view}" in text
    for part in (since, until, "{channel:String}", "{store:String}"):
        assert part in text
    for column in ("at", "channel", "store_id", "survey", "responses", "ces_sum"):
        assert column in text
