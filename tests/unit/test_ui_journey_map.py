"""The journey map's JSON (streams/web/journey_map.py) from hand-made rows
of its queries: reach, conversion and drop-off per stage, reach per
channel, the Sankey's nodes and forward links with steps back counted
apart, scores and pain points per stage, and support response times; the
queries read the documented views with the page's filters."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest

from streams.clickhouse import sql
from streams.web.journey_map import (
    STAGES,
    flows,
    journey_map,
    node_name,
    response_times,
    stage_pains,
    stage_scores,
)

Z = 1.959963984540054


def funnel_row(
    first_channel: str,
    journeys: int,
    converted: int,
    reached: tuple[int, ...],
    continued: tuple[int, ...],
) -> dict[str, Any]:
    """A `ui_journey_funnel` row: reach of each stage, and of each after the
    first, the journeys that reached it and the one before."""
    return {
        "first_channel": first_channel,
        "journeys": journeys,
        "converted": converted,
        **{f"reached_{stage}": n for stage, n in zip(STAGES, reached, strict=True)},
        **{f"continued_{stage}": n for stage, n in zip(STAGES[1:], continued, strict=True)},
    }


def flow(src: str, src_ch: str, dst: str, dst_ch: str, n: int) -> dict[str, Any]:
    return {
        "from_stage": src,
        "from_channel": src_ch,
        "to_stage": dst,
        "to_channel": dst_ch,
        "journeys": n,
    }


FLOWS = [
    flow("", "", "awareness", "web", 6),
    flow("", "", "consideration", "store", 2),
    flow("", "", "loyalty", "store", 1),
    flow("awareness", "web", "consideration", "web", 4),
    flow("awareness", "web", "consideration", "app", 1),
    flow("consideration", "web", "purchase", "store", 3),
    flow("consideration", "store", "purchase", "store", 2),
    flow("loyalty", "store", "purchase", "store", 1),  # back: not drawn
]


def test_nodes_carry_reach_and_entries_links_go_forward_only() -> None:
    got = flows(FLOWS)
    nodes = {n["name"]: (n["journeys"], n["entered"]) for n in got["nodes"]}
    assert nodes == {
        "awareness · web": (6, 6),
        "consideration · web": (4, 0),
        "consideration · app": (1, 0),
        "consideration · store": (2, 2),
        "purchase · store": (6, 0),
        "loyalty · store": (1, 1),
    }
    assert [n["stage"] for n in got["nodes"]] == [
        "awareness",
        "consideration",
        "consideration",
        "consideration",
        "purchase",
        "loyalty",
    ]
    links = {(ln["source"], ln["target"]): ln["value"] for ln in got["links"]}
    assert links == {
        ("awareness · web", "consideration · web"): 4,
        ("awareness · web", "consideration · app"): 1,
        ("consideration · web", "purchase · store"): 3,
        ("consideration · store", "purchase · store"): 2,
    }
    assert got["returned"] == 1
    names = {n["name"] for n in got["nodes"]}
    assert all(ln["source"] in names and ln["target"] in names for ln in got["links"])


def test_a_stage_reached_before_migration_015_has_an_unknown_channel() -> None:
    got = flows([flow("", "", "awareness", "", 2), flow("awareness", "", "purchase", "", 1)])
    assert [n["name"] for n in got["nodes"]] == [
        node_name("awareness", "unknown"),
        node_name("purchase", "unknown"),
    ]


def test_stages_have_reach_conversion_drop_off_and_reach_per_channel() -> None:
    rows = [
        funnel_row("web", 8, 3, (6, 5, 3, 2, 0), (4, 3, 2, 0)),
        funnel_row("store", 3, 2, (0, 2, 2, 1, 1), (0, 1, 1, 1)),
    ]
    got = journey_map(rows, FLOWS, [], [])
    assert (got["journeys"], got["converted"]) == (11, 5)
    assert got["began_on"] == {"store": 3, "web": 8}
    stages = {s["stage"]: s for s in got["stages"]}
    assert [s["stage"] for s in got["stages"]] == list(STAGES)
    first = stages["awareness"]
    assert (first["reached"], first["share"]) == (6, round(6 / 11, 4))
    assert (first["conversion"], first["drop_off"], first["joined"]) == (None, None, None)
    # 7 reached consideration, 4 of them after (or with) awareness: 3 joined there
    consideration = stages["consideration"]
    assert consideration["reached"] == 7
    assert consideration["conversion"] == round(4 / 6, 4)
    assert (consideration["drop_off"], consideration["joined"]) == (6 - 4, 7 - 4)
    purchase = stages["purchase"]
    assert (purchase["conversion"], purchase["drop_off"], purchase["joined"]) == (
        round(4 / 7, 4),
        7 - 4,
        5 - 4,
    )
    assert (stages["post_purchase"]["drop_off"], stages["post_purchase"]["joined"]) == (5 - 3, 0)
    assert stages["loyalty"]["conversion"] == round(1 / 3, 4)
    assert consideration["by_channel"] == {"app": 1, "store": 2, "web": 4}
    assert stages["loyalty"]["journeys"] == 11


def test_conversion_never_exceeds_the_stage_before() -> None:
    """More journeys reach purchase (in store, without considering online)
    than consideration: conversion counts only those that reached both."""
    got = journey_map([funnel_row("store", 10, 9, (0, 2, 9, 0, 0), (0, 1, 0, 0))], [], [], [])
    purchase = {s["stage"]: s for s in got["stages"]}["purchase"]
    assert (purchase["conversion"], purchase["drop_off"], purchase["joined"]) == (0.5, 1, 8)
    assert all(s["conversion"] is None or s["conversion"] <= 1 for s in got["stages"])


def test_no_journey_reached_the_stage_before_no_conversion() -> None:
    got = journey_map([funnel_row("web", 3, 0, (0, 2, 0, 0, 0), (0, 0, 0, 0))], [], [], [])
    assert [s["conversion"] for s in got["stages"]] == [None, None, 0.0, None, None]
    assert [s["joined"] for s in got["stages"]] == [None, 2, 0, 0, 0]


def score_row(stage: str, survey: str, responses: int, **counts: int) -> dict[str, Any]:
    return {
        "stage": stage,
        "survey": survey,
        "responses": responses,
        "promoters": counts.get("promoters", 0),
        "detractors": counts.get("detractors", 0),
        "satisfied": counts.get("satisfied", 0),
        "ces_sum": counts.get("ces_sum", 0),
        "ces_sum_squares": counts.get("ces_sum_squares", 0),
    }


def test_scores_per_stage_roll_up_from_counts_with_intervals() -> None:
    rows = [
        score_row("purchase", "nps", 3, promoters=2, detractors=1),
        score_row("purchase", "nps", 1, promoters=1),
        score_row("purchase", "ces", 2, ces_sum=9, ces_sum_squares=41),
        score_row("", "csat", 4, satisfied=3),
        score_row("nonsense", "csat", 1, satisfied=1),
    ]
    got = stage_scores(rows)
    nps = got["purchase"]["nps"]
    assert nps["n"] == 4 and nps["score"] == 50.0
    assert nps["ci_low"] is not None and nps["ci_low"] < 50.0 < nps["ci_high"]
    ces = got["purchase"]["ces"]
    assert (ces["n"], ces["score"]) == (2, 4.5)
    half = Z * math.sqrt((41 / 2 - 4.5**2) / 2)  # the standard error of a mean
    assert (ces["ci_low"], ces["ci_high"]) == (round(4.5 - half, 3), round(4.5 + half, 3))
    assert got[""]["csat"]["n"] == 5  # a stage not in the contract is no stage
    assert got["awareness"]["nps"] == {"n": 0, "score": None, "ci_low": None, "ci_high": None}


def test_pain_points_per_stage_most_first() -> None:
    rows = [
        {"stage": "post_purchase", "kind": "slow_support", "pain_points": 2},
        {"stage": "post_purchase", "kind": "unanswered_support", "pain_points": 5},
        {"stage": "post_purchase", "kind": "slow_support", "pain_points": 4},
        {"stage": "", "kind": "app_crash_in_session", "pain_points": 1},
    ]
    got = stage_pains(rows)
    assert got["post_purchase"] == [
        {"pain_point": "slow_support", "count": 6},
        {"pain_point": "unanswered_support", "count": 5},
    ]
    assert got[""] == [{"pain_point": "app_crash_in_session", "count": 1}]
    assert got["awareness"] == []


def test_response_times_are_exact_means_and_the_views_daily_quantiles() -> None:
    totals = [
        {
            "channel": "web",
            "contacts": 3,
            "answered": 2,
            "resolved": 0,
            "first_answer_sum_ms": 3000,
            "resolution_sum_ms": 0,
        }
    ]
    daily = [
        {
            "day": date(2026, 11, 23),
            "channel": "web",
            "contacts": 3,
            "answered": 2,
            "resolved": 0,
            "first_answer_p50_ms": 1000,
            "first_answer_p90_ms": 2000,
            "resolution_p50_ms": 0,
            "resolution_p90_ms": 0,
        }
    ]
    got = response_times(totals, daily)
    assert got["by_channel"] == [
        {
            "channel": "web",
            "contacts": 3,
            "answered": 2,
            "resolved": 0,
            "first_answer_mean_seconds": 1.5,
            "resolution_mean_seconds": None,
        }
    ]
    day = got["daily"][0]
    assert day["day"] == "2026-11-23"
    assert (day["first_answer_p50_seconds"], day["first_answer_p90_seconds"]) == (1.0, 2.0)
    assert day["resolution_p50_seconds"] is None  # nothing resolved: no quantile
    assert got["filters"] == ["channel"]


@pytest.mark.parametrize(
    ("name", "view"),
    [
        ("ui_journey_funnel", "funnel_by_segment_daily"),
        ("ui_journey_flows", "journey_flows_daily"),
        ("ui_journey_scores", "scores_by_stage_daily"),
        ("ui_journey_pains", "pain_points_by_stage_daily"),
        ("ui_journey_store_funnel", "store_funnel_daily"),
        ("ui_journey_store_flows", "store_journey_flows_daily"),
        ("ui_journey_store_scores", "store_scores_by_stage_daily"),
        ("ui_journey_store_pains", "store_pain_points_by_stage_daily"),
    ],
)
def test_the_queries_read_a_documented_view_with_every_filter(name: str, view: str) -> None:
    text = sql.query(name)
    assert f"{{database:Identifier}}.{view}" in text
    for part in (
        "{since_day:Date}",
        "{until_day:Date}",
        "first_channel = {channel:String}",
        "segment = {segment:String}",
        "b2b = {b2b:Int8}",
    ):
        assert part in text
    at_store = "store_id = {store:String}" in text
    assert at_store == (view.startswith("store_"))  # the others have no store to filter


def test_the_store_views_are_their_twins_with_a_store() -> None:
    """Each store_ view of migration 017 has its twin's columns (015), with
    store_id after the day; the funnel's and flows' queries differ only in
    the view and the store."""
    text = {name: body for _, name, body in sql.migrations()}["017_ui_stores_comments.sql"]
    for twin, own in [
        ("ui_journey_funnel", "ui_journey_store_funnel"),
        ("ui_journey_flows", "ui_journey_store_flows"),
        ("ui_journey_scores", "ui_journey_store_scores"),
        ("ui_journey_pains", "ui_journey_store_pains"),
    ]:
        code = [ln for ln in sql.query(twin).splitlines() if not ln.startswith("--")]
        mine = [ln for ln in sql.query(own).splitlines() if not ln.startswith("--")]
        assert [ln for ln in mine if "store_id = {store:String}" not in ln] == [
            ln.replace(".funnel_by_segment_daily", ".store_funnel_daily")
            .replace(".journey_flows_daily", ".store_journey_flows_daily")
            .replace(".scores_by_stage_daily", ".store_scores_by_stage_daily")
            .replace(".pain_points_by_stage_daily", ".store_pain_points_by_stage_daily")
            for ln in code
        ]
    assert text.count("ARRAY JOIN stores AS store_id") == 4
