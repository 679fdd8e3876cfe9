"""Hostile records (tests/hostile.py) against the contract, without a broker
or ClickHouse: the fast path and the models give each its expected verdict,
and every accepted one is representable downstream (JSON by orjson, revenue
in Decimal(18, 4), event time in DateTime64(3)), as a touchpoint row too."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from pydantic_core import from_json

from schemas import Rejection, RejectReason, accept_event, normalised, validate_event
from schemas.validate import AcceptedEvent
from streams.clickhouse.bundle import encode_bundle
from streams.deadletters.letter import DeadLetter, encode_dead_letter
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.route import ingest_record, route_batch
from streams.runtime.topics import Topics
from tests.examples import record
from tests.hostile import RECEIVED_AT_MS, Hostile, hostile_records

RECORDS = hostile_records()
TOPICS = Topics("cx.")
# What a ClickHouse DateTime64(3) column holds, in epoch milliseconds.
DATETIME64_FIRST_MS = int(datetime(1900, 1, 1, tzinfo=UTC).timestamp() * 1000)
DATETIME64_LAST_MS = int(datetime(2300, 1, 1, tzinfo=UTC).timestamp() * 1000) - 1
DECIMAL_18_4_BOUND = Decimal(10) ** 14


def _event_id(raw: bytes) -> str | None:
    try:
        value = from_json(raw)
    except ValueError:
        return None
    return value.get("event_id") if isinstance(value, dict) else None


def test_names_and_event_ids_are_unique() -> None:
    assert not [name for name, n in Counter(r.name for r in RECORDS).items() if n > 1]
    ids = [event_id for r in RECORDS if (event_id := _event_id(r.raw)) is not None]
    assert len(ids) == len(set(ids)) > len(RECORDS) * 0.8
    assert all(event_id.startswith("hostile-") for event_id in ids)


def test_every_bound_is_met_from_both_sides() -> None:
    reasons = Counter(r.reason for r in RECORDS)
    bounds = {RejectReason.TOO_LARGE, RejectReason.TOO_DEEP, RejectReason.NUMBER_OUT_OF_RANGE,
              RejectReason.TIMESTAMP_OUT_OF_RANGE, RejectReason.INVALID_VALUE}  # fmt: skip
    assert bounds <= set(reasons)
    assert reasons[None] > 20  # accepted: at the bounds, and the hostile but harmless


@pytest.mark.parametrize("case", RECORDS, ids=lambda r: r.name)
def test_verdict(case: Hostile) -> None:
    fast = accept_event(case.raw, case.channel, received_at_ms=RECEIVED_AT_MS)
    model = validate_event(case.raw, case.channel, received_at_ms=RECEIVED_AT_MS)
    if case.reason is None:
        assert not isinstance(fast, Rejection), fast
        assert not isinstance(model, Rejection), model
        assert fast == normalised(model)
        assert fast["event_id"].startswith("hostile-")
        assert_representable(fast)
    else:
        assert isinstance(fast, Rejection), f"accepted: {fast!r:.300}"
        assert fast.reason is case.reason, fast.errors
        assert model == fast


def assert_representable(event: AcceptedEvent) -> None:
    orjson.dumps(event)  # raises on an integer beyond 64 bits
    assert DATETIME64_FIRST_MS <= event["occurred_at_ms"] <= DATETIME64_LAST_MS
    for name in ("revenue", "price"):
        if name in event["properties"]:
            text = orjson.dumps(event["properties"][name]).decode()
            assert abs(Decimal(text)) < DECIMAL_18_4_BOUND, text


@pytest.mark.parametrize("case", RECORDS, ids=lambda r: r.name)
def test_ingest_makes_a_row_or_a_dead_letter_it_can_encode(case: Hostile) -> None:
    source = record(TOPICS.channel(case.channel), case.raw, offset=7)
    outcome = ingest_record(source, case.channel, RECEIVED_AT_MS, Pseudonymizer(b"k"))
    if case.reason is None:
        assert not isinstance(outcome, DeadLetter), outcome.rejection
        routed = route_batch([outcome], [outcome.person_key], 4)
        assert routed.failed == []  # a row and a step, encoded
        assert [len(encode_bundle(entries)) > 0 for entries in routed.bundles.values()] == [True]
    else:
        assert isinstance(outcome, DeadLetter)
        assert outcome.rejection.reason is case.reason
        assert outcome.value == case.raw  # the original bytes, for a replay
        encode_dead_letter(outcome)
