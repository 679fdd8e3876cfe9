"""The journey map's comments (streams/web/comments.py, the `comments`
endpoint of streams/web/api.py): the latest comments per stage from
hand-made rows of the `ui_comments` query, each with the touchpoint it
rates and nothing naming the person; the query string read into one
question (one-line refusals); the query reads the documented view with
the journey map's filters and never a person's identifier."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from streams.clickhouse import sql
from streams.runtime.settings import Settings
from streams.web.api import CommentsAsk, endpoints, parse_comments
from streams.web.comments import comments

NOW = datetime(2026, 11, 23, 9, 41, tzinfo=UTC)


def row(stage: str, at: datetime, score: int, text: str, total: int, **fields: Any) -> dict:
    return {
        "stage": stage,
        "at": at.replace(tzinfo=None),  # as ClickHouse's DateTime64('UTC') comes
        "survey": "nps",
        "score": score,
        "comment": text,
        "channel": "sms",
        "store_id": "tehran-04",
        "touchpoint_event_type": "pos_purchase",
        "touchpoint_channel": "store",
        "touchpoint_store_id": "tehran-04",
        "comments": total,
        **fields,
    }


def test_the_latest_comments_per_stage_with_the_touchpoint_they_rate() -> None:
    rows = [
        row("", datetime(2026, 11, 22, 8, 0, tzinfo=UTC), 5, "hm", 1, touchpoint_event_type=""),
        row("purchase", datetime(2026, 11, 23, 9, 0, 0, 250_000, tzinfo=UTC), 2, "Rude.", 7),
        row("purchase", datetime(2026, 11, 21, 18, 30, tzinfo=UTC), 10, "Lovely staff", 7),
    ]
    got = comments(rows)
    assert [s["stage"] for s in got["stages"]] == [
        "awareness",
        "consideration",
        "purchase",
        "post_purchase",
        "loyalty",
    ]
    purchase = got["stages"][2]
    assert purchase["comments"] == 7  # in range; the latest two shown
    assert purchase["latest"] == [
        {
            "at": "2026-11-23T09:00:00.250000Z",
            "survey": "nps",
            "score": 2,
            "comment": "Rude.",
            "channel": "sms",
            "store_id": "tehran-04",
            "touchpoint": {
                "event_type": "pos_purchase",
                "channel": "store",
                "store_id": "tehran-04",
            },
        },
        {
            "at": "2026-11-21T18:30:00Z",
            "survey": "nps",
            "score": 10,
            "comment": "Lovely staff",
            "channel": "sms",
            "store_id": "tehran-04",
            "touchpoint": {
                "event_type": "pos_purchase",
                "channel": "store",
                "store_id": "tehran-04",
            },
        },
    ]
    assert got["stages"][0] == {"stage": "awareness", "comments": 0, "latest": []}
    assert got["unstaged"]["comments"] == 1
    assert got["unstaged"]["latest"][0]["touchpoint"] is None  # rates no touchpoint


def test_one_stage_asked_gives_that_stage_only() -> None:
    rows = [row("loyalty", datetime(2026, 11, 22, tzinfo=UTC), 9, "ok", 1)]
    got = comments(rows, "loyalty")
    assert [s["stage"] for s in got["stages"]] == ["loyalty"] and got["unstaged"] is None
    none = comments([row("", datetime(2026, 11, 22, tzinfo=UTC), 9, "ok", 1)], "")
    assert none["stages"] == [] and none["unstaged"]["comments"] == 1


def test_the_question_takes_the_journey_maps_filters_a_stage_a_survey_and_a_limit() -> None:
    asked = parse_comments(
        {"from": "2026-11-01", "store": "tehran-04", "segment": "new", "stage": "purchase"}, NOW
    )
    assert isinstance(asked, CommentsAsk)
    assert (asked.stage, asked.survey, asked.limit) == ("purchase", "", 10)
    assert asked.params.store == "tehran-04" and asked.params.segment == "new"
    assert asked.params.first_day == date(2026, 11, 1)
    assert parse_comments({}, NOW).stage is None  # every stage
    assert parse_comments({"stage": "none"}, NOW).stage == ""  # rating no stage
    assert parse_comments({"survey": "ces", "limit": "100"}, NOW).limit == 100
    for query, says in [
        ({"stage": "checkout"}, "stage: 'checkout': one of awareness, consideration, purchase, "),
        ({"survey": "nss"}, "survey: 'nss': one of nps, csat, ces"),
        ({"limit": "101"}, "limit: '101': 1 to 100 comments per stage"),
        ({"limit": "-1"}, "limit: '-1'"),
        ({"limit": "²"}, "limit: '²'"),
        ({"grain": "hour"}, "grain: comments are by day"),
        ({"person": "C1"}, "unknown parameter 'person': from, to, grain, channel, segment, b2b"),
        ({"channel": "fax"}, "channel: no channel 'fax'"),
    ]:
        with pytest.raises(ValueError) as refused:
            parse_comments(query, NOW)
        assert says in str(refused.value) and "\n" not in str(refused.value)


def test_the_endpoint_reads_the_view_with_every_filter_and_is_personal() -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    class Store:
        def query_named(self, name: str, **params: Any) -> list[dict[str, Any]]:
            asked.append((name, params))
            return [row("purchase", datetime(2026, 11, 22, tzinfo=UTC), 3, "slow", 1)]

    endpoint = endpoints(Settings())["comments"]
    assert endpoint.personal
    got = endpoint.read(Store(), endpoint.parse({"stage": "purchase", "store": "x-1"}))  # type: ignore[arg-type]
    ((name, params),) = asked
    assert name == "ui_comments"
    assert (params["any_stage"], params["stage"], params["store"], params["limit"]) == (
        0,
        "purchase",
        "x-1",
        10,
    )
    assert (got["stage"], got["survey"], got["limit"]) == ("purchase", None, 10)
    assert got["filters"]["store"] == "x-1" and got["stages"][0]["latest"][0]["comment"] == "slow"
    text = sql.query("ui_comments")
    assert "{database:Identifier}.survey_comments" in text
    for part in (
        "first_channel = {channel:String}",
        "segment = {segment:String}",
        "b2b = {b2b:Int8}",
        "has(stores, {store:String})",
        "stage = {stage:String}",
        "survey = {survey:String}",
        "LIMIT {limit:UInt32} BY stage",
    ):
        assert part in text
    code = "\n".join(ln for ln in text.splitlines() if not ln.startswith("--"))
    assert not re.search(r"customer_key|journey_id|_hash|anonymous_id|customer_id", code)


def test_the_comments_view_names_no_one() -> None:
    """survey_comments (migration 017) has no column of the person's."""
    text = {name: body for _, name, body in sql.migrations()}["017_ui_stores_comments.sql"]
    view = text.split("VIEW IF NOT EXISTS {database:Identifier}.survey_comments AS", 1)[1]
    columns = re.findall(r"\bAS (\w+),?$", view.split("\nFROM", 1)[0], flags=re.M)
    assert "comment" in columns and "touchpoint_store_id" in columns and "stores" in columns
    assert not {c for c in columns if re.search(r"customer|journey_id|hash|anonymous", c)}
