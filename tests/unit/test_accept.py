"""`accept_event` (the fast path the processor runs) against `validate_event`
(the contract models): the same verdict on every input, and the same values
once normalised. The fast path must never accept what the models reject."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Channel, Rejection, accept_event, normalised, validate_event
from schemas.fast import PLAIN_ADAPTERS
from schemas.limits import (
    INT64_MAX,
    INT64_MIN,
    MAX_AMOUNT,
    MAX_CONTEXT_CHARS,
    MAX_DEPTH,
    MAX_EVENT_ID_CHARS,
    MAX_EXTERNAL_ID_CHARS,
    MAX_FUTURE_MS,
    MAX_IDENTIFIER_CHARS,
    MAX_TEXT_CHARS,
)
from schemas.validate import AcceptedEvent
from streams.dev.generator import TrafficSpec, generate_traffic
from tests.examples import invalid_cases, valid_events


def reference(
    raw: bytes, channel: Channel, received_at_ms: int | None = None
) -> AcceptedEvent | Rejection:
    verdict = validate_event(raw, channel, received_at_ms=received_at_ms)
    return verdict if isinstance(verdict, Rejection) else normalised(verdict)


def plain(raw: bytes, channel: Channel) -> bool:
    """Whether the fast path alone decides (no fallback to the models)."""
    try:
        PLAIN_ADAPTERS[channel].validate_json(raw)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("channel", list(Channel), ids=lambda c: c.value)
def test_golden_examples_get_the_same_verdict(channel: Channel) -> None:
    for raw in valid_events(channel) + [case["raw"] for case in invalid_cases(channel)]:
        assert accept_event(raw, channel) == reference(raw, channel), raw


def test_generated_traffic_gets_the_same_verdict_and_mostly_takes_the_fast_path() -> None:
    records = generate_traffic(TrafficSpec(people=400, seed=3))
    fast = 0
    for r in records:
        assert accept_event(r.value, r.channel) == reference(r.value, r.channel), r.value
        fast += r.truth.kind != "invalid" and plain(r.value, r.channel)
    valid = sum(r.truth.kind != "invalid" for r in records)
    assert fast > 0.95 * valid  # the generator spells phones with spaces and 00: still fast


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "e-1",
        "event_type": "survey_response",
        "occurred_at": "2026-11-23T09:41:07.250+03:30",
        "identity": {"customer_id": "C1"},
        "properties": {"survey": "nps", "score": 9},
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    "fields",
    [
        {"identity": {"customer_id": "  C1  "}},  # blanks: trimmed by the models
        {"identity": {"customer_id": "C1", "email": "  "}},  # blank: absent
        {"identity": {"email": "Sara@Example.COM"}},  # lower-cased
        {"identity": {"email": "Zoë@example.com"}},  # not ASCII
        {"identity": {"phone": "0098 (912) 123-4567"}},
        {"identity": {"phone": "+98 912"}},
        {"identity": {"phone": "12345"}},  # not E.164
        {"identity": {"customer_id": None, "anonymous_id": "a"}},
        {"identity": {}},
        {"identity": {"customer_id": ""}},
        {"context": {"store_id": " tehran-04 ", "locale": None}},
        {"context": {"user_agent": "Mozilla/5.0 (Linux; Android 14) ✓"}},
        {"occurred_at": "2026-11-23T09:41:07Z"},
        {"occurred_at": "2026-11-23t09:41:07z"},
        {"occurred_at": "2026-11-23 09:41:07+00:00"},
        {"occurred_at": "2026-11-23T09:41:07.123456789+01:00"},
        {"occurred_at": "2026-02-30T09:41:07Z"},
        {"occurred_at": "2026-11-23T24:00:00Z"},
        {"occurred_at": "2026-11-23T09:41:60Z"},
        {"occurred_at": "2026-11-23T09:41:07+24:00"},
        {"occurred_at": "2026-11-23T09:41Z"},
        {"schema_version": 1},
        {"schema_version": 2},
        {"schema_version": True},
        {"properties": {"survey": "nps", "score": 11}},
        {"properties": {"survey": "csat", "score": 0}},
        {"properties": {"survey": "ces", "score": 7, "comment": None, "extra": None}},
        {"properties": {"survey": "ces", "score": 7.0}},
        {"properties": {"survey": "nps", "score": True}},
        {"event_type": "purchase", "properties": {"order_id": 42, "revenue": 1, "currency": "eur"}},
        {"event_type": "purchase", "properties": {"order_id": "", "revenue": 1, "currency": "EUR"}},
        {
            "event_type": "purchase",
            "properties": {"order_id": "o", "revenue": -1, "currency": "EUR"},
        },
        {"event_type": "page_view", "properties": {"url": None}},
        {"event_type": "page_view", "properties": None},
        {"event_type": "page_view", "unknown": {"x": 1}},
        {"event_type": "login"},
        {"event_type": "app_open"},
        {"event_id": ""},
        {"event_id": "x" * 129},
    ],
)
def test_unusual_spellings_get_the_models_verdict(fields: dict[str, Any]) -> None:
    raw = orjson.dumps(event(**fields))
    assert accept_event(raw, Channel.WEB) == reference(raw, Channel.WEB)


_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["C1", " C1", "a@b.c", "A@B.C", "+989121234567", "00 98 912", "", "  "]),
)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 12), st.floats(-1, 20), _text)
_identity = st.dictionaries(
    st.sampled_from(["customer_id", "anonymous_id", "email", "phone", "loyalty_id", "other"]),
    _scalar,
    max_size=4,
)
_properties = st.dictionaries(
    st.sampled_from(
        ["survey", "score", "order_id", "revenue", "currency", "url", "message_kind", "note"]
    ),
    st.one_of(_scalar, st.sampled_from(["nps", "csat", "ces", "EUR", "campaign"])),
    max_size=5,
)
_timestamps = st.one_of(
    st.sampled_from(
        [
            "2026-11-23T09:41:07Z",
            "2026-11-23T09:41:07.5+03:30",
            "2026-13-01T00:00:00Z",
            "2026-11-23T09:41:07",
            "1700000000",
        ]
    ),
    _text,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    channel=st.sampled_from(list(Channel)),
    event_type=st.sampled_from(
        ["survey_response", "purchase", "page_view", "sms_sent", "pos_purchase", "login", "nope"]
    ),
    identity=_identity,
    properties=st.one_of(st.none(), _properties),
    occurred_at=_timestamps,
)
def test_any_event_gets_the_models_verdict(
    channel: Channel,
    event_type: str,
    identity: dict[str, Any],
    properties: dict[str, Any] | None,
    occurred_at: str,
) -> None:
    fields: dict[str, Any] = {
        "event_id": "e-1",
        "event_type": event_type,
        "occurred_at": occurred_at,
        "identity": identity,
    }
    if properties is not None:
        fields["properties"] = properties
    raw = orjson.dumps(fields)
    assert accept_event(raw, channel) == reference(raw, channel)


# -- the bounds (schemas.limits): the fast path checks them as the models do -------

RECEIVED_AT_MS = 1_795_500_000_000  # 2026-11-24T06:00Z, a day after event()'s time


def _received_plus(ms: int) -> str:
    moment = datetime.fromtimestamp(RECEIVED_AT_MS / 1000, UTC) + timedelta(milliseconds=ms)
    return moment.isoformat(timespec="milliseconds")


def _nested(depth: int, leaf: Any = 1) -> Any:
    for level in range(depth):
        leaf = [leaf] if level % 2 else {"a": leaf}
    return leaf


_EDGE_NUMBERS = st.sampled_from(
    [INT64_MAX, INT64_MAX + 1, INT64_MIN, INT64_MIN - 1, 2**70, -(2**70), MAX_AMOUNT,
     float(MAX_AMOUNT), 99_999_999_999_999.98, 1e20, float("nan"), float("inf"),
     float("-inf"), 0, -0.0, 1, 2.5, True]
)  # fmt: skip
_NUMBERS = st.one_of(_EDGE_NUMBERS, st.integers(), st.floats())
_DEEP = st.tuples(st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2), st.one_of(_NUMBERS, st.none()))
_LENGTHS = sorted(
    {
        MAX_EVENT_ID_CHARS,
        MAX_IDENTIFIER_CHARS,
        MAX_EXTERNAL_ID_CHARS,
        MAX_CONTEXT_CHARS,
        MAX_TEXT_CHARS,
    }
)
_LONG_TEXT = st.sampled_from(_LENGTHS).flatmap(
    lambda n: st.sampled_from(["a" * n, "a" * (n + 1), "é" * n, " " + "a" * (n - 1)])
)
_BOUNDED = st.one_of(_NUMBERS, _DEEP.map(lambda d: _nested(*d)), _LONG_TEXT, _scalar)
_BOUNDED_PROPERTIES = st.dictionaries(
    st.sampled_from(
        ["quantity", "price", "revenue", "order_id", "product_id", "url", "comment", "x", "y"]
    ),
    _BOUNDED,
    max_size=4,
)
_BASE_PROPERTIES: dict[str, dict[str, Any]] = {
    "add_to_cart": {"product_id": "p-1"},
    "purchase": {"order_id": "o-1", "revenue": 10.5, "currency": "EUR"},
    "page_view": {},
    "survey_response": {"survey": "ces", "score": 3},
}
_EDGE_TIMES = st.sampled_from(
    ["1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "1970-01-01T00:00:00+00:01",
     "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "2026-11-23T09:41:07Z",
     _received_plus(MAX_FUTURE_MS), _received_plus(MAX_FUTURE_MS + 1),
     _received_plus(MAX_FUTURE_MS - 1)]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    channel=st.sampled_from([Channel.WEB, Channel.APP]),
    event_type=st.sampled_from(sorted(_BASE_PROPERTIES)),
    properties=_BOUNDED_PROPERTIES,
    customer_id=st.one_of(st.just("C1"), _LONG_TEXT),
    user_agent=st.one_of(st.none(), _LONG_TEXT),
    event_id=st.one_of(st.just("e-1"), _LONG_TEXT),
    occurred_at=_EDGE_TIMES,
)
def test_any_bounded_value_gets_the_models_verdict(
    channel: Channel,
    event_type: str,
    properties: dict[str, Any],
    customer_id: str,
    user_agent: str | None,
    event_id: str,
    occurred_at: str,
) -> None:
    fields: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": occurred_at,
        "identity": {"customer_id": customer_id},
        "properties": {**_BASE_PROPERTIES[event_type], **properties},
    }
    if user_agent is not None:
        fields["context"] = {"user_agent": user_agent}
    raw = json.dumps(fields).encode()  # writes NaN, Infinity and any integer, as sent
    verdict = accept_event(raw, channel, received_at_ms=RECEIVED_AT_MS)
    assert verdict == reference(raw, channel, RECEIVED_AT_MS)
    if not isinstance(verdict, Rejection):
        orjson.dumps(verdict)  # representable downstream


@pytest.mark.parametrize(
    ("occurred_at", "accepted"),
    [
        (_received_plus(MAX_FUTURE_MS), True),
        (_received_plus(MAX_FUTURE_MS + 1), False),
        ("1970-01-01T00:00:00Z", True),
        ("1969-12-31T23:59:59.999Z", False),
    ],
)
def test_event_time_bounds_are_exact_on_both_paths(occurred_at: str, accepted: bool) -> None:
    raw = orjson.dumps(event(occurred_at=occurred_at))
    assert plain(raw, Channel.WEB)  # the fast path decides the accepted ones itself
    verdict = accept_event(raw, Channel.WEB, received_at_ms=RECEIVED_AT_MS)
    assert verdict == reference(raw, Channel.WEB, RECEIVED_AT_MS)
    assert isinstance(verdict, Rejection) is not accepted


def test_the_receive_time_defaults_to_the_wall_clock() -> None:
    now = datetime.now(UTC)
    soon = orjson.dumps(event(occurred_at=(now + timedelta(hours=23)).isoformat()))
    late = orjson.dumps(event(occurred_at=(now + timedelta(hours=25)).isoformat()))
    for check in (accept_event, validate_event):
        assert not isinstance(check(soon, Channel.WEB), Rejection)
        assert isinstance(check(late, Channel.WEB), Rejection)
