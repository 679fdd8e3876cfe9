"""Every ClickHouse panel of the Grafana dashboards (deploy/grafana/dashboards)
runs on the real engine and returns rows: generated traffic goes the pure
way (ingest, touchpoint rows, journeys folded per person) into a migrated
embedded ClickHouse, each panel's SQL has the plugin's macros expanded for a
fixed time range covering the traffic, and runs with the BI profile's
read-only setting. Grafana itself cannot run here."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from streams.clickhouse.bundle import encode_rows
from streams.clickhouse.client import Store
from streams.clickhouse.migrate import migrate
from streams.dev.generator import TrafficSpec, generate_traffic
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.route import ingest_batch
from streams.journeys.fold import person_journeys
from streams.journeys.rows import JOURNEY_COLUMNS, journey_row
from streams.journeys.rules import JourneyRules
from streams.journeys.state import PersonState, add_steps
from streams.journeys.steps import step_of
from streams.runtime.topics import Topics
from streams.store.rows import TOUCHPOINT_COLUMNS, touchpoint_row
from tests.examples import record

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
CLICKHOUSE_PLUGIN = "grafana-clickhouse-datasource"
DATABASE = "cx"  # the dashboards name the views as cx.<view>, as deployed
TOPICS = Topics("cx.")
SPEC = TrafficSpec(people=300, seed=29)
# The range the dashboards are asked for: the generator's journeys begin
# within `span_days` of its start and run up to about 25 days.
RANGE_FROM = SPEC.start
RANGE_TO = SPEC.start + timedelta(days=40)
INTERVAL_S = 3600  # what Grafana would pick for 40 days on a wide panel


# --- the plugin's macros ----------------------------------------------------
# As grafana-clickhouse-datasource 4.20.0 expands them (pkg/macros/macros.go):
# times as toDateTime(<unix seconds>), dates as toDate('YYYY-MM-DD') (UTC),
# milliseconds as fromUnixTimestamp64Milli(<unix ms>), intervals at least 1 s.


def _datetime(moment: datetime) -> str:
    return f"toDateTime({int(moment.timestamp())})"


def _datetime64(moment: datetime) -> str:
    return f"fromUnixTimestamp64Milli({int(moment.timestamp() * 1000)})"


def _date(moment: datetime) -> str:
    return f"toDate('{moment.strftime('%Y-%m-%d')}')"


def expand_macros(sql: str, start: datetime, end: datetime, interval_s: int) -> str:
    interval = max(interval_s, 1)
    functions = {
        "timeFilter": lambda c: f"{c} >= {_datetime(start)} AND {c} <= {_datetime(end)}",
        "timeFilter_ms": lambda c: f"{c} >= {_datetime64(start)} AND {c} <= {_datetime64(end)}",
        "dateFilter": lambda c: f"{c} >= {_date(start)} AND {c} <= {_date(end)}",
        "timeInterval": lambda c: f"toStartOfInterval(toDateTime({c}), INTERVAL {interval} second)",
        "timeInterval_ms": lambda c: (
            f"toStartOfInterval(toDateTime64({c}, 3), INTERVAL {interval * 1000} millisecond)"
        ),
    }
    values = {
        "fromTime_ms": _datetime64(start),
        "toTime_ms": _datetime64(end),
        "fromTime": _datetime(start),
        "toTime": _datetime(end),
        "interval_s": str(interval),
    }

    def function(match: re.Match[str]) -> str:
        name, argument = match[1], match[2].strip()
        if name not in functions:
            raise AssertionError(f"macro $__{name}() is not expanded by this test")
        return functions[name](argument)

    # One level of parentheses inside the argument, e.g. $__timeFilter(toDate(x)).
    sql = re.sub(r"\$__(\w+)\(((?:[^()]|\([^()]*\))*)\)", function, sql)
    for name in sorted(values, key=len, reverse=True):  # fromTime_ms before fromTime
        sql = sql.replace(f"$__{name}", values[name])
    assert "$" not in sql, f"unexpanded macro or variable left in: {sql}"
    return sql


def test_the_expander_matches_the_plugin_s_documented_expansion() -> None:
    start = datetime.fromisoformat("2014-11-12T11:45:26+00:00")
    end = datetime.fromisoformat("2015-11-12T11:45:26+00:00")
    assert expand_macros("$__timeFilter(time)", start, end, 20) == (
        "time >= toDateTime(1415792726) AND time <= toDateTime(1447328726)"
    )
    assert expand_macros("$__dateFilter(date)", start, end, 20) == (
        "date >= toDate('2014-11-12') AND date <= toDate('2015-11-12')"
    )
    assert expand_macros("$__timeInterval(column)", start, end, 20) == (
        "toStartOfInterval(toDateTime(column), INTERVAL 20 second)"
    )
    assert expand_macros("$__fromTime, $__toTime_ms, $__interval_s", start, end, 0) == (
        "toDateTime(1415792726), fromUnixTimestamp64Milli(1447328726000), 1"
    )


# --- the panels ---------------------------------------------------------------


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board.get("panels", []):
        yield panel
        yield from panels(panel)  # a collapsed row holds its panels


def clickhouse_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, raw SQL) of every ClickHouse target."""
    queries = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        for panel in panels(board):
            for target in panel.get("targets", []):
                source = target.get("datasource") or panel.get("datasource") or {}
                if source.get("type") == CLICKHOUSE_PLUGIN:
                    queries.append((path.name, panel["title"], target["rawSql"]))
    return queries


# --- a generated run, the pure way --------------------------------------------


def fill(store: Store) -> None:
    traffic = generate_traffic(SPEC)
    received_at_ms = int(time.time() * 1000)
    records = [
        record(TOPICS.channel(r.channel), r.value, offset=i, key=r.key)
        for i, r in enumerate(traffic)
    ]
    touchpoints = ingest_batch(
        records, TOPICS.channels, received_at_ms, Pseudonymizer(b"dashboards")
    ).touchpoints
    first = list({t.event_id: t for t in reversed(touchpoints)}.values())  # one per event
    store.insert_rows(
        "touchpoints",
        TOUCHPOINT_COLUMNS,
        encode_rows([touchpoint_row(t, t.person_key, 0) for t in first]),
        dedup_token=None,
    )
    steps = defaultdict(list)
    for t in first:
        steps[t.person_key].append(step_of(t))
    rules = JourneyRules()
    rows = []
    for person, own in steps.items():
        ordered = add_steps(PersonState(), own) or []
        for journey in person_journeys(person, ordered, rules, as_of_ms=received_at_ms):
            rows.append(journey_row(person, 1, received_at_ms, journey))
    store.insert_rows("journeys", JOURNEY_COLUMNS, encode_rows(rows), dedup_token=None)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store(f"chdb://{tmp_path_factory.mktemp('dashboards') / 'clickhouse'}", DATABASE)
    try:
        migrate(store)
        fill(store)
        yield store
    finally:
        store.close()


QUERIES = clickhouse_queries()


def test_the_cx_dashboard_has_clickhouse_panels() -> None:
    assert len(QUERIES) >= 10, QUERIES


@pytest.mark.parametrize("sql", [q[2] for q in QUERIES], ids=[f"{q[0]}: {q[1]}" for q in QUERIES])
def test_every_clickhouse_panel_returns_rows(filled: Store, sql: str) -> None:
    expanded = expand_macros(sql, RANGE_FROM, RANGE_TO, INTERVAL_S)
    result = filled.client.query(expanded, settings={"readonly": 2})
    assert result.result_rows, f"no rows for the generated run:\n{expanded}"
    for row in result.result_rows:
        assert any(value not in (None, 0) for value in row), f"an empty row:\n{expanded}"
