"""`accept_event` (the fast path the processor runs) against `validate_event`
(the contract models): the same verdict on every input, and the same values
once normalised. The fast path must never accept what the models reject."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Channel, Rejection, accept_event, normalised, validate_event
from schemas.fast import PLAIN_ADAPTERS
from schemas.validate import AcceptedEvent
from streams.generator import TrafficSpec, generate_traffic
from tests.examples import invalid_cases, valid_events


def reference(raw: bytes, channel: Channel) -> AcceptedEvent | Rejection:
    verdict = validate_event(raw, channel)
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
