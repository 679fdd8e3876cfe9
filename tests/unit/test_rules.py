"""One definition per rule: where a rule is also written down elsewhere (in
SQL, in a header), the copies agree with the one definition."""

from __future__ import annotations

import ast
import re
import zlib
from pathlib import Path

import pytest

from schemas import PURCHASE_TYPES, SCORED_TYPES, Channel
from schemas.stages import Stage, stage_of
from streams.clickhouse import bundle
from streams.identity import log as identity_log
from streams.ingest import route
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.touchpoint import NO_TYPED, Touchpoint, Typed, typed_properties
from streams.journeys import state, steps
from streams.journeys.steps import Step, step_of
from streams.runtime.headers import FORMAT_HEADER, format_headers
from streams.runtime.partitioning import group_by_partition, partition_of
from streams.runtime.topics import Topics
from streams.store.rows import TOUCHPOINT_COLUMNS, touchpoint_row
from tests.examples import record, valid_events

ROOT = Path(__file__).resolve().parents[2]
SQL = ROOT / "streams" / "clickhouse" / "sql"
TOPICS = Topics("cx.")


def test_purchase_types_are_the_contract_s_purchases() -> None:
    assert frozenset({"purchase", "pos_purchase"}) == PURCHASE_TYPES
    assert {stage_of(kind) for kind in PURCHASE_TYPES} == {Stage.PURCHASE}
    assert frozenset({"survey_response"}) == SCORED_TYPES


def test_the_sql_counts_purchases_of_the_purchase_types() -> None:
    """The migrations and queries that count purchases name the event types
    in SQL (a migration cannot import them): the same set."""
    lists = [
        (path.name, frozenset(re.findall(r"'([^']*)'", found)))
        for path in sorted(SQL.rglob("*.sql"))
        for found in re.findall(r"event_type\s+IN\s*\(([^)]*)\)", path.read_text(), re.I)
    ]
    purchases = [(name, types) for name, types in lists if types & PURCHASE_TYPES]
    assert len(purchases) >= 3, lists  # 006_metrics.sql twice, summary_revenue.sql
    for name, types in purchases:
        assert types == PURCHASE_TYPES, name


def test_the_sql_finds_a_partition_s_events_as_ingest_routes_them() -> None:
    """The queries that read one touchpoints-topic partition's stored events
    compute its partition in SQL. ClickHouse's CRC32 is the IEEE CRC-32 of
    the string's bytes, zlib's: its check value (CRC32('123456789') =
    3421780262) is zlib's, so `CRC32(event_id) % partitions` is `partition_of`
    (tests/integration/test_store.py checks it on the engine)."""
    for name in ("partition_event_ids.sql", "partition_minutes.sql"):
        text = (SQL / "queries" / name).read_text()
        assert "CRC32(event_id) % {partitions:UInt32} = {partition:UInt32}" in text, name
    assert zlib.crc32(b"123456789") == 3421780262 == partition_of(b"123456789", 2**32)
    keys = [f"e-{i}-é".encode() for i in range(200)]
    grouped = group_by_partition(((key, key) for key in keys), 7)
    assert grouped == {
        p: [k for k in keys if partition_of(k, 7) == p] for p in {partition_of(k, 7) for k in keys}
    }


def test_every_internal_topic_names_its_format_in_one_header() -> None:
    for headers, value_format in (
        (bundle.HEADERS, bundle.FORMAT),
        (route.TOUCHPOINTS_HEADERS, route.TOUCHPOINTS_FORMAT),
        (steps.STEPS_HEADERS, steps.STEPS_FORMAT),
        (identity_log.HEADERS, identity_log.FORMAT),
    ):
        assert headers == format_headers(value_format) == [("cx.format", value_format)]
        assert isinstance(headers, list)  # aiokafka's batch builder takes no tuple
    formats = [bundle.FORMAT, route.TOUCHPOINTS_FORMAT, steps.STEPS_FORMAT]
    formats += [identity_log.FORMAT, state.RECORD_FORMAT]
    assert len(set(formats)) == len(formats)


def test_the_format_header_is_named_in_one_place() -> None:
    spelled = set()
    for path in sorted((ROOT / "streams").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        if any(
            isinstance(node, ast.Constant) and node.value == FORMAT_HEADER
            for node in ast.walk(tree)
        ):
            spelled.add(path.relative_to(ROOT).as_posix())
    assert spelled == {"streams/runtime/headers.py"}


def _touchpoints() -> list[Touchpoint]:
    found = []
    for channel in Channel:
        records = [
            record(TOPICS.channel(channel), value, offset=i)
            for i, value in enumerate(valid_events(channel))
        ]
        result = route.ingest_batch(
            records, TOPICS.channels, 1_800_000_000_000, Pseudonymizer(b"k")
        )
        assert not result.dead_letters
        found += result.touchpoints
    return found


_TYPED_COLUMNS = tuple(name for name in Typed._fields)
_STEP_FIELDS = tuple(name for name in Typed._fields if name != "product_id")


def test_a_row_and_a_step_carry_the_same_typed_properties() -> None:
    """`touchpoint_row` and `step_of` read the properties once, through
    `typed_properties`: a row's typed columns are the step's fields ("" for a
    missing string, revenue as sent where the step has a float)."""
    items = _touchpoints()
    kinds = {tp.event_type for tp in items}
    assert kinds >= PURCHASE_TYPES | SCORED_TYPES
    for tp in items:
        typed = typed_properties(tp)
        row = dict(zip(TOUCHPOINT_COLUMNS, touchpoint_row(tp, "k", 0), strict=True))
        step = step_of(tp)
        assert step == step_of(tp, typed)
        assert touchpoint_row(tp, "k", 0) == touchpoint_row(tp, "k", 0, typed)
        for name in _TYPED_COLUMNS:
            value = getattr(typed, name)
            if name in ("revenue", "score"):
                assert row[name] == value
            else:
                assert row[name] == (value or "")
        for name in _STEP_FIELDS:
            value = getattr(typed, name)
            expected = float(value) if name == "revenue" and value is not None else value
            assert getattr(step, name) == expected
            assert type(getattr(step, name)) is type(expected)
        if tp.event_type in PURCHASE_TYPES:
            assert typed.revenue is not None and typed.currency is not None
            assert typed.currency == typed.currency.upper()
        else:
            assert (typed.revenue, typed.currency) == (None, None)
        assert (typed.score is not None) == (tp.event_type in SCORED_TYPES)


@pytest.mark.parametrize("revenue", [12, 12.5])
def test_revenue_goes_in_a_row_as_sent_and_in_a_step_as_a_float(revenue: float) -> None:
    base = _touchpoints()[0]
    tp = base._replace(
        event_type="purchase",
        properties={"order_id": "o1", "revenue": revenue, "currency": "eur", "score": 3},
    )
    row = dict(zip(TOUCHPOINT_COLUMNS, touchpoint_row(tp, "k", 0), strict=True))
    assert (row["revenue"], type(row["revenue"]), row["currency"], row["score"]) == (
        revenue,
        type(revenue),
        "EUR",
        None,  # a score is read only of a survey response
    )
    step = step_of(tp)
    assert (step.revenue, type(step.revenue), step.currency) == (float(revenue), float, "EUR")
    assert typed_properties(tp._replace(properties={})) is NO_TYPED
    assert step_of(tp._replace(properties={})) == Step(
        tp.event_id,
        tp.occurred_at_ms,
        tp.channel,
        "purchase",
        tp.stage,
        tp.context.get("store_id"),
        tp.context.get("session_id"),
    )


def test_a_condition_two_queries_share_is_written_once_and_included() -> None:
    from streams.clickhouse import sql

    selected = sql.statements(sql.query("deadletters_selected"))[0]
    for name in ("deadletters_count", "deadletters_list"):
        text = sql.query(name)
        assert f"WHERE ({selected})" in text and "{{include" not in text, name
        assert "reason IN" not in (SQL / "queries" / f"{name}.sql").read_text(), name
    assert f"({sql.statements(sql.query('erase_touchpoints'))[0]})" in sql.query(
        "erase_deadletters"
    )
