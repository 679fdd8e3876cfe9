"""Hostile channel records, as data: each is a valid event apart from one
hostile feature (its size, nesting, encoding, a number, a string's length, a
duplicate key, its event time), with the verdict the contract gives it.

`tests/test_hostile.py` checks every verdict with `accept_event` and
`validate_event` and that every accepted one is representable downstream; an
integration test can send the same records through a real worker. Event times
near the future bound are relative to the receive time given to
`hostile_records`, with a margin of an hour, so a worker that receives them a
little later gives the same verdicts; every other event time is fixed, in the
past or far outside the bounds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from schemas import Channel, RejectReason
from schemas.limits import (
    INT64_MAX,
    INT64_MIN,
    MAX_CONTEXT_CHARS,
    MAX_DEPTH,
    MAX_EVENT_ID_CHARS,
    MAX_EXTERNAL_ID_CHARS,
    MAX_IDENTIFIER_CHARS,
    MAX_TEXT_CHARS,
    MAX_VALUE_BYTES,
)


class Hostile(NamedTuple):
    name: str
    channel: Channel
    raw: bytes
    reason: RejectReason | None
    """Why it is rejected; None: it is accepted."""


RECEIVED_AT_MS = 1_795_800_000_000
"""A fixed receive time for unit tests (2026-11-27T17:20Z)."""

WEB, APP, STORE, SMS = Channel.WEB, Channel.APP, Channel.STORE, Channel.SMS
TOO_LARGE = RejectReason.TOO_LARGE
TOO_DEEP = RejectReason.TOO_DEEP
NUMBER = RejectReason.NUMBER_OUT_OF_RANGE
TIME = RejectReason.TIMESTAMP_OUT_OF_RANGE
BAD_TIME = RejectReason.INVALID_TIMESTAMP
VALUE = RejectReason.INVALID_VALUE
JSON = RejectReason.INVALID_JSON
ENCODING = RejectReason.INVALID_ENCODING
NOT_OBJECT = RejectReason.NOT_AN_OBJECT
ACCEPTED = None


def _event(name: str, event_type: str = "page_view", **fields: Any) -> dict[str, Any]:
    """A valid event with id `hostile-<name>`; `fields` replace or add fields."""
    return {
        "event_id": f"hostile-{name}",
        "event_type": event_type,
        "occurred_at": "2026-11-23T09:41:07.250+03:30",
        "identity": {"customer_id": "C10023456"},
        **fields,
    }


def _raw(value: Any, splice: bytes = b"") -> bytes:
    """JSON of `value` (NaN and big integers as written); `splice`, if given,
    replaces the string "@" in it, for what JSON encoders do not write."""
    text = json.dumps(value, ensure_ascii=False).encode()
    return text.replace(b'"@"', splice) if splice else text


def _sized(name: str, size: int) -> bytes:
    """A page view padded to exactly `size` bytes."""
    empty = _raw(_event(name, properties={"pad": ""}))
    return _raw(_event(name, properties={"pad": "x" * (size - len(empty))}))


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"child": value}
    return value


def _long_id(name: str, length: int) -> str:
    prefix = f"hostile-{name}-"
    return prefix + "x" * (length - len(prefix))


def _extra(name: str, literal: bytes) -> bytes:
    """A page view whose extra property `x` is written as `literal`."""
    return _raw(_event(name, properties={"x": "@"}), literal)


def _cart(name: str, **properties: Any) -> dict[str, Any]:
    return _event(name, "add_to_cart", properties={"product_id": "SKU-48213", **properties})


def _pos(name: str, revenue: Any) -> dict[str, Any]:
    props = {"order_id": 100482331, "revenue": revenue, "currency": "IRR", "staff_id": "S-1187"}
    return _event(name, "pos_purchase", properties=props, context={"store_id": "tehran-04"})


def _at(name: str, occurred_at: str) -> bytes:
    return _raw(_event(name, occurred_at=occurred_at))


FIXED: list[Hostile] = [
    # -- sizes: the whole value, at most MAX_VALUE_BYTES
    Hostile("size-at-limit", WEB, _sized("size-at-limit", MAX_VALUE_BYTES), ACCEPTED),
    Hostile("size-over-limit", WEB, _sized("size-over-limit", MAX_VALUE_BYTES + 1), TOO_LARGE),
    Hostile("size-5-mb", WEB, _sized("size-5-mb", 5 * 1024 * 1024), TOO_LARGE),
    Hostile("empty-value", WEB, b"", JSON),
    Hostile("json-null", WEB, b"null", NOT_OBJECT),
    Hostile("json-array", WEB, _raw([_event("json-array")]), NOT_OBJECT),
    # -- depth: arrays and objects inside a property, at most MAX_DEPTH levels
    Hostile("depth-32", WEB, _raw(_event("depth-32", properties={"x": _nested(MAX_DEPTH)})), ACCEPTED),
    Hostile("depth-33", WEB, _raw(_event("depth-33", properties={"x": _nested(MAX_DEPTH + 1)})), TOO_DEEP),
    Hostile("depth-5000", WEB, _extra("depth-5000", b"[" * 5000 + b"]" * 5000), TOO_DEEP),
    # -- encodings: UTF-8 JSON only
    Hostile("utf8-bom", WEB, b"\xef\xbb\xbf" + _raw(_event("utf8-bom")), JSON),
    Hostile("utf16-with-bom", WEB, json.dumps(_event("utf16-with-bom")).encode("utf-16"), ENCODING),
    Hostile("utf16le-without-bom", WEB, json.dumps(_event("utf16le-without-bom")).encode("utf-16-le"), JSON),
    Hostile("invalid-utf8", WEB, _extra("invalid-utf8", b'"caf\xe9"'), ENCODING),
    Hostile("lone-high-surrogate", WEB, _extra("lone-high-surrogate", b'"\\ud800"'), JSON),
    Hostile("lone-low-surrogate", WEB, _extra("lone-low-surrogate", b'"\\udc00x"'), JSON),
    Hostile("surrogate-as-utf8-bytes", WEB, _extra("surrogate-as-utf8-bytes", b'"\xed\xa0\x80"'), ENCODING),
    Hostile("surrogate-pair", WEB, _extra("surrogate-pair", b'"\\ud83d\\ude00"'), ACCEPTED),
    Hostile("control-characters-escaped", WEB, _raw(_event("control-escaped", identity={"customer_id": "C\x001"}, properties={"note": "a\x00\x1f\x7fb"})), ACCEPTED),
    Hostile("control-character-raw", WEB, _extra("control-character-raw", b'"a\x01b"'), JSON),
    # -- numbers in properties: integers within signed 64 bits, finite, amounts below 1e14
    Hostile("int64-max", WEB, _raw(_event("int64-max", properties={"x": INT64_MAX})), ACCEPTED),
    Hostile("int64-max-plus-1", WEB, _raw(_event("int64-max-plus-1", properties={"x": INT64_MAX + 1})), NUMBER),
    Hostile("int64-min", WEB, _raw(_event("int64-min", properties={"x": INT64_MIN})), ACCEPTED),
    Hostile("int64-min-minus-1", WEB, _raw(_event("int64-min-minus-1", properties={"x": INT64_MIN - 1})), NUMBER),
    Hostile("int-2^70-extra", APP, _raw(_event("int-2-70-extra", "app_open", properties={"build": 2**70})), NUMBER),
    Hostile("int-2^70-nested", WEB, _raw(_event("int-2-70-nested", properties={"x": {"y": [1, 2**70]}})), NUMBER),
    Hostile("quantity-int64-max", WEB, _raw(_cart("quantity-int64-max", quantity=INT64_MAX)), ACCEPTED),
    Hostile("quantity-2^63", WEB, _raw(_cart("quantity-2-63", quantity=2**63)), NUMBER),
    Hostile("quantity-2^70", APP, _raw(_cart("quantity-2-70", quantity=2**70)), NUMBER),
    Hostile("revenue-just-under-1e14", STORE, _raw(_pos("revenue-just-under", 99_999_999_999_999.98)), ACCEPTED),
    Hostile("revenue-1e14", STORE, _raw(_pos("revenue-1e14", 10**14)), NUMBER),
    Hostile("revenue-1e20", STORE, _raw(_pos("revenue-1e20", 1e20)), NUMBER),
    Hostile("revenue-negative-zero", STORE, _raw(_pos("revenue-negative-zero", -0.0)), ACCEPTED),
    Hostile("revenue-nan", STORE, _raw(_pos("revenue-nan", "@"), b"NaN"), NUMBER),
    Hostile("price-just-under-1e14", WEB, _raw(_cart("price-just-under", price=99_999_999_999_999.98)), ACCEPTED),
    Hostile("price-1e14", WEB, _raw(_cart("price-1e14", price=1e14)), NUMBER),
    Hostile("order-id-int64-max", STORE, _raw(_event("order-id-int64-max", "pickup", properties={"order_id": INT64_MAX})), ACCEPTED),
    Hostile("order-id-2^64", STORE, _raw(_event("order-id-2-64", "pickup", properties={"order_id": 2**64})), NUMBER),
    Hostile("score-2^70", SMS, _raw(_event("score-2-70", "survey_response", properties={"survey": "nps", "score": 2**70})), RejectReason.SCORE_OUT_OF_RANGE),
    Hostile("nan-extra", WEB, _extra("nan-extra", b"NaN"), NUMBER),
    Hostile("infinity-extra", WEB, _extra("infinity-extra", b"Infinity"), NUMBER),
    Hostile("minus-infinity-extra", WEB, _extra("minus-infinity-extra", b"-Infinity"), NUMBER),
    Hostile("1e400-extra", WEB, _extra("1e400-extra", b"1e400"), NUMBER),
    Hostile("1e-400-extra", WEB, _extra("1e-400-extra", b"1e-400"), ACCEPTED),  # reads as 0.0
    Hostile("1e300-extra", WEB, _extra("1e300-extra", b"1e300"), ACCEPTED),
    # -- duplicate keys: the last one wins
    Hostile("duplicate-identity", WEB, _raw(_event("duplicate-identity")).replace(b'"identity"', b'"identity": {"customer_id": "C1"}, "identity"'), ACCEPTED),
    Hostile("duplicate-property", WEB, _raw(_event("duplicate-property", properties={"url": "@"}), b'"https://a.example/", "url": "https://b.example/"'), ACCEPTED),
    Hostile("duplicate-event-type", WEB, _raw(_event("duplicate-event-type")).replace(b'"event_type": "page_view"', b'"event_type": "page_view", "event_type": "pos_purchase"'), RejectReason.UNKNOWN_EVENT_TYPE),
    # -- string lengths, per kind: at the bound and one over
    Hostile("event-id-128", WEB, _raw(_event("x", event_id=_long_id("event-id-128", MAX_EVENT_ID_CHARS))), ACCEPTED),
    Hostile("event-id-129", WEB, _raw(_event("x", event_id=_long_id("event-id-129", MAX_EVENT_ID_CHARS + 1))), VALUE),
    Hostile("identifier-256", WEB, _raw(_event("identifier-256", identity={"customer_id": "C" * MAX_IDENTIFIER_CHARS})), ACCEPTED),
    Hostile("identifier-257", WEB, _raw(_event("identifier-257", identity={"anonymous_id": "a" * (MAX_IDENTIFIER_CHARS + 1)})), VALUE),
    Hostile("email-257", APP, _raw(_event("email-257", "login", identity={"email": "s" * (MAX_IDENTIFIER_CHARS - 11) + "@example.com"})), VALUE),
    Hostile("context-1024", WEB, _raw(_event("context-1024", context={"user_agent": "M" * MAX_CONTEXT_CHARS})), ACCEPTED),
    Hostile("context-1025", STORE, _raw(_event("context-1025", "store_visit", context={"store_id": "t" * (MAX_CONTEXT_CHARS + 1)})), VALUE),
    Hostile("order-id-256", STORE, _raw(_event("order-id-256", "pickup", properties={"order_id": "o" * MAX_EXTERNAL_ID_CHARS})), ACCEPTED),
    Hostile("order-id-257", STORE, _raw(_event("order-id-257", "pickup", properties={"order_id": "o" * (MAX_EXTERNAL_ID_CHARS + 1)})), VALUE),
    Hostile("product-id-257", APP, _raw(_event("product-id-257", "product_view", properties={"product_id": "p" * (MAX_EXTERNAL_ID_CHARS + 1)})), VALUE),
    Hostile("contact-id-257", SMS, _raw(_event("contact-id-257", "support_contact_answered", properties={"contact_id": "c" * (MAX_EXTERNAL_ID_CHARS + 1)})), VALUE),
    Hostile("url-8192", WEB, _raw(_event("url-8192", properties={"url": "u" * MAX_TEXT_CHARS})), ACCEPTED),
    Hostile("url-8193", WEB, _raw(_event("url-8193", properties={"url": "u" * (MAX_TEXT_CHARS + 1)})), VALUE),
    Hostile("query-8193", WEB, _raw(_event("query-8193", "search", properties={"query": "q" * (MAX_TEXT_CHARS + 1)})), VALUE),
    Hostile("comment-8193", SMS, _raw(_event("comment-8193", "survey_response", properties={"survey": "csat", "score": 4, "comment": "c" * (MAX_TEXT_CHARS + 1)})), VALUE),
    Hostile("sms-text-8193", SMS, _raw(_event("sms-text-8193", "sms_reply", properties={"text": "t" * (MAX_TEXT_CHARS + 1)})), VALUE),
    Hostile("extra-text-100-kib", WEB, _raw(_event("extra-text-100-kib", properties={"html": "h" * 100 * 1024})), ACCEPTED),
    # -- event times: at or after 1970, at most 24 hours after receipt; the calendar's edges
    Hostile("year-0001", WEB, _at("year-0001", "0001-01-01T00:00:00Z"), TIME),
    Hostile("year-0001-plus-1h", WEB, _at("year-0001-plus-1h", "0001-01-01T00:00:00+01:00"), TIME),
    Hostile("year-9999", WEB, _at("year-9999", "9999-12-31T23:59:59Z"), TIME),
    Hostile("year-9999-minus-23h59", WEB, _at("year-9999-minus", "9999-12-31T23:59:59-23:59"), TIME),
    Hostile("year-2300", WEB, _at("year-2300", "2300-01-01T00:00:00Z"), TIME),
    Hostile("before-1970", WEB, _at("before-1970", "1969-12-31T23:59:59Z"), TIME),
    Hostile("epoch", WEB, _at("epoch", "1970-01-01T00:00:00Z"), ACCEPTED),
    Hostile("feb-29-2026", WEB, _at("feb-29-2026", "2026-02-29T12:00:00Z"), BAD_TIME),
    Hostile("feb-29-2024", WEB, _at("feb-29-2024", "2024-02-29T12:00:00Z"), ACCEPTED),
    Hostile("leap-second", WEB, _at("leap-second", "2016-12-31T23:59:60Z"), BAD_TIME),
]  # fmt: skip


def _after(received_at_ms: int, delta: timedelta) -> str:
    moment = datetime.fromtimestamp(received_at_ms / 1000, UTC) + delta
    return moment.isoformat(timespec="milliseconds")


def hostile_records(received_at_ms: int = RECEIVED_AT_MS) -> list[Hostile]:
    """Every hostile record; those near the future bound are relative to
    `received_at_ms`."""
    return [
        *FIXED,
        Hostile("future-23h", WEB, _at("future-23h", _after(received_at_ms, timedelta(hours=23))), ACCEPTED),
        Hostile("future-25h", WEB, _at("future-25h", _after(received_at_ms, timedelta(hours=25))), TIME),
        Hostile("future-10-years", WEB, _at("future-10-years", _after(received_at_ms, timedelta(days=3653))), TIME),
    ]  # fmt: skip
