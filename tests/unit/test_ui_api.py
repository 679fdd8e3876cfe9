"""The UI's endpoints (streams/web/api.py) as a route sees them: names,
which are personal, how each reads its query string (one-line refusals),
and the pure parts of the overview's volume and the alerts page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from streams.runtime.settings import Settings
from streams.web.alerts import alerts, notice
from streams.web.api import ENDPOINT_NAMES, endpoints, parse_alerts
from streams.web.params import Params
from streams.web.volume import volume

NOW = datetime(2026, 11, 23, 9, 41, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def test_every_endpoint_is_there_and_only_the_person_and_comments_are_personal() -> None:
    api = endpoints(Settings())
    assert set(api) == set(ENDPOINT_NAMES)
    assert set(ENDPOINT_NAMES) == {"overview", "journey-map", "comments", "person", "alerts"}
    assert {name for name, e in api.items() if e.personal} == {"person", "comments"}
    assert (api["person"].what, api["comments"].what) == ("person lookup", "comment lookup")


def test_the_overview_takes_no_segment_and_the_journey_map_no_hours() -> None:
    api = endpoints(Settings())
    assert isinstance(api["overview"].parse({"grain": "hour", "store": "tehran-04"}), Params)
    with pytest.raises(ValueError, match="segment: not a filter of this page"):
        api["overview"].parse({"segment": "new"})
    assert api["journey-map"].parse({"segment": "new", "b2b": "true"}).b2b is True
    assert api["journey-map"].parse({"store": " tehran-04 "}).store == "tehran-04"
    with pytest.raises(ValueError, match="store: '<b>' is no store id"):
        api["journey-map"].parse({"store": "<b>"})
    with pytest.raises(ValueError, match="grain: the journey map is by day"):
        api["journey-map"].parse({"grain": "hour"})


def test_the_journey_map_at_a_store_reads_the_store_views() -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    class Store:
        def query_named(self, name: str, **params: Any) -> list[dict[str, Any]]:
            asked.append((name, params))
            return []

    api = endpoints(Settings())
    for query in ({}, {"store": "tehran-04", "segment": "new"}):
        asked.clear()
        got = api["journey-map"].read(Store(), api["journey-map"].parse(query))  # type: ignore[arg-type]
        journeys = [(name, p["store"]) for name, p in asked if name.startswith("ui_journey_")]
        at = "store_" if query else ""
        assert journeys[:4] == [
            (f"ui_journey_{at}funnel", query.get("store", "")),
            (f"ui_journey_{at}flows", query.get("store", "")),
            (f"ui_journey_{at}scores", query.get("store", "")),
            (f"ui_journey_{at}pains", query.get("store", "")),
        ]
        assert got["filters"]["store"] == query.get("store", "")
        assert got["response_times"]["filters"] == ["channel"]  # contacts have no store


def test_the_person_lookup_hashes_email_only_with_the_secret() -> None:
    with_secret = endpoints(Settings(pii_secret="s3cret"))["person"].parse
    assert with_secret({"identifier": "customer_id:C1"}) == "customer_id:C1"
    assert with_secret({"identifier": "email:A@Example.com"}).startswith("email_hash:")
    without = endpoints(Settings())["person"].parse
    with pytest.raises(ValueError, match="set CX_PII_SECRET"):
        without({"identifier": "email:a@example.com"})
    with pytest.raises(ValueError, match="unknown parameter 'limit'"):
        without({"identifier": "customer_id:C1", "limit": "3"})


def test_alerts_are_asked_since_a_time_or_an_age_with_a_limit() -> None:
    assert parse_alerts({}, NOW).since_ms == NOW_MS - 7 * 86_400_000
    assert parse_alerts({"since": "2h"}, NOW).since_ms == NOW_MS - 2 * 3_600_000
    assert parse_alerts({"since": "2026-11-23"}, NOW).since_ms == int(
        datetime(2026, 11, 23, tzinfo=UTC).timestamp() * 1000
    )
    assert parse_alerts({"limit": "5"}, NOW).limit == 5
    for query, says in [
        ({"limit": "0"}, "limit: '0': 1 to 1,000"),
        ({"limit": "many"}, "limit: 'many'"),
        ({"since": "last week"}, "since: 'last week' is not a time"),
        ({"rule": "x"}, "unknown parameter 'rule'"),
    ]:
        with pytest.raises(ValueError, match=None) as refused:
            parse_alerts(query, NOW)
        assert says in str(refused.value)


def test_volume_sums_events_and_purchases_and_keeps_currencies_apart() -> None:
    rows = [
        {"at": date(2026, 11, 22), "channel": "web", "currency": "", "events": 10, "purchases": 0,
         "revenue": Decimal(0)},
        {"at": date(2026, 11, 22), "channel": "web", "currency": "EUR", "events": 2,
         "purchases": 2, "revenue": Decimal("19.5000")},
        {"at": date(2026, 11, 23), "channel": "store", "currency": "IRR", "events": 1,
         "purchases": 1, "revenue": Decimal("1500000.0000")},
        {"at": date(2026, 11, 23), "channel": "web", "currency": "EUR", "events": 1,
         "purchases": 1, "revenue": Decimal("0.5000")},
    ]  # fmt: skip
    got = volume(rows)
    assert got["total"] == {
        "events": 14,
        "purchases": 4,
        "revenue": {"EUR": "20.0000", "IRR": "1500000.0000"},
    }
    assert [(c["channel"], c["events"]) for c in got["by_channel"]] == [("store", 1), ("web", 13)]
    assert got["over_time"][0] == {
        "at": "2026-11-22",
        "channel": "web",
        "events": 12,
        "purchases": 2,
        "revenue": {"EUR": "19.5000"},
    }
    assert len(got["over_time"]) == 3


def alert_row(**fields: Any) -> dict[str, Any]:
    row = {
        "at_ms": NOW_MS,
        "status": "firing",
        "rule": "store-nps-drop",
        "severity": "warning",
        "metric": "nps",
        "slice": "store_id=tehran-04",
        "episode_started_at_ms": NOW_MS - 60_000,
        "value": -67.5,
        "baseline": 56.00000000000001,
        "n": 40,
        "baseline_n": 800,
        "bound": None,
        "window": "24h",
        "condition": "drop",
        "reason": "nps -67.5 vs 56.0 over 7d",
        "summary": "NPS at store tehran-04 fell to -67.5",
        "context": orjson.dumps([{"pain_point": "slow_support", "count": 12}]).decode(),
        "episode_open": 1,
    }
    return {**row, **fields}


def test_a_notice_has_its_numbers_summary_and_context() -> None:
    got = notice(alert_row())
    assert got["change"] == -123.5 and got["baseline"] == 56.0
    assert (got["n"], got["baseline_n"], got["window"], got["condition"]) == (
        40,
        800,
        "24h",
        "drop",
    )
    assert got["at"] == "2026-11-23T09:41:00Z" and got["started_at"] == "2026-11-23T09:40:00Z"
    assert got["summary"] == "NPS at store tehran-04 fell to -67.5"
    assert got["context"] == [{"pain_point": "slow_support", "count": 12}]
    assert got["open"] is True


def test_a_notice_stored_before_summaries_reads_in_one_line() -> None:
    old = alert_row(summary="", window="", condition="", baseline_n=None, value=None)
    got = notice(old)
    assert got["summary"] == "store-nps-drop at store tehran-04: nps -67.5 vs 56.0 over 7d"
    assert (got["window"], got["condition"], got["change"]) == (None, None, None)


def test_open_episodes_and_recent_notices() -> None:
    resolved = alert_row(status="resolved", episode_open=0, rule="app-csat-low")
    got = alerts([alert_row()], [alert_row(), resolved])
    assert [a["rule"] for a in got["open"]] == ["store-nps-drop"]
    assert [(a["rule"], a["open"]) for a in got["recent"]] == [
        ("store-nps-drop", True),
        ("app-csat-low", False),
    ]
