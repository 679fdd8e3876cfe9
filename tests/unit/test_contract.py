"""The wire contract (docs/producers.md) against its golden examples and its
JSON Schema documents: the models, the examples and the committed schemas must
all tell the same story."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

import schemas.jsonschema as contract_schema
from schemas import (
    EVENT_TYPES,
    Channel,
    Rejection,
    RejectReason,
    Stage,
    stage_of,
    validate_event,
)
from schemas.events import Event
from schemas.limits import (
    INT64_MAX,
    INT64_MIN,
    MAX_AMOUNT,
    MAX_CONTEXT_CHARS,
    MAX_DEPTH,
    MAX_EVENT_ID_CHARS,
    MAX_EXTERNAL_ID_CHARS,
    MAX_IDENTIFIER_CHARS,
    MAX_TEXT_CHARS,
    MAX_VALUE_BYTES,
)
from schemas.rejections import SET_ASIDE
from tests.examples import invalid_cases

EXAMPLES = files("schemas") / "examples"
FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER


def _lines(kind: str, channel: Channel) -> list[tuple[int, str]]:
    text = (EXAMPLES / kind / f"{channel.value}.jsonl").read_text(encoding="utf-8")
    return [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


VALID = [
    pytest.param(channel, line, id=f"{channel.value}:{number}:{json.loads(line)['event_type']}")
    for channel in Channel
    for number, line in _lines("valid", channel)
]
CASES: list[tuple[Channel, int, dict[str, Any]]] = [
    (channel, case["line"], case) for channel in Channel for case in invalid_cases(channel)
]
INVALID = [
    pytest.param(ch, case, id=f"{ch.value}:{n}:{case['expect']}:{case['field'] or '-'}")
    for ch, n, case in CASES
]


def _object(raw: bytes) -> dict[str, Any] | None:
    """The record as a JSON object, if it is one (strict JSON, UTF-8)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


# What a JSON Schema document cannot say: a record's size in bytes, how deep
# free-form properties nest, the range of an integer in a free-form property.
BEYOND_JSON_SCHEMA = {
    ("too_large", ""),
    ("too_deep", ""),
    ("too_deep", "properties.menu"),
    ("number_out_of_range", "properties.gateway_ref"),
}
INVALID_OBJECTS = [
    pytest.param(
        ch, {**case, "event": event}, id=f"{ch.value}:{n}:{case['expect']}:{case['field']}"
    )
    for ch, n, case in CASES
    if (case["expect"], case["field"]) not in BEYOND_JSON_SCHEMA
    and (event := _object(case["raw"])) is not None
]


def _raw(case: dict[str, Any]) -> bytes:
    return bytes(case["raw"])


def _accept(raw: bytes | dict[str, Any], channel: Channel) -> Event:
    data = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    result = validate_event(data, channel)
    assert not isinstance(result, Rejection), result
    return result


def _reject(raw: bytes | dict[str, Any], channel: Channel) -> Rejection:
    data = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    result = validate_event(data, channel)
    assert isinstance(result, Rejection), f"accepted: {result!r}"
    return result


def _validator(channel: Channel) -> Draft202012Validator:
    path = contract_schema.JSON_DIR / contract_schema.file_name(channel)
    return Draft202012Validator(json.loads(path.read_text("utf-8")), format_checker=FORMAT_CHECKER)


def _nest(depth: int, leaf: Any = 1) -> Any:
    """`leaf` inside `depth` levels of arrays and objects."""
    for level in range(depth):
        leaf = [leaf] if level % 2 else {"a": leaf}
    return leaf


def _at(event: dict[str, Any], dotted: str) -> Any:
    value: Any = event
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


# -- golden examples against the models -----------------------------------------


@pytest.mark.parametrize(("channel", "line"), VALID)
def test_valid_example_is_accepted(channel: Channel, line: str) -> None:
    event = _accept(line.encode(), channel)
    assert event.event_type in EVENT_TYPES[channel]


@pytest.mark.parametrize("channel", list(Channel))
def test_valid_examples_cover_every_event_type(channel: Channel) -> None:
    seen = {json.loads(line)["event_type"] for _, line in _lines("valid", channel)}
    assert seen == EVENT_TYPES[channel]


@pytest.mark.parametrize(("channel", "case"), INVALID)
def test_invalid_example_is_rejected_for_its_reason(channel: Channel, case: dict[str, Any]) -> None:
    rejection = _reject(_raw(case), channel)
    assert rejection.reason == RejectReason(case["expect"]), rejection.errors
    first = next(error for error in rejection.errors if error.reason == rejection.reason)
    assert first.field == case["field"], rejection.errors


def test_invalid_examples_cover_every_reason() -> None:
    seen = {case["expect"] for _, _, case in CASES}
    assert seen == {reason.value for reason in RejectReason if reason not in SET_ASIDE}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event_id": "\xff\xfe", "event_type": "login"}',
        '{"event_type": "login", "identity": {"email": "zoë@example.com"}}'.encode("latin-1"),
        b"\x80",
    ],
    ids=["invalid-bytes", "latin-1", "lone-continuation-byte"],
)
def test_non_utf8_value_is_invalid_encoding(raw: bytes) -> None:
    rejection = _reject(raw, Channel.WEB)
    assert rejection.reason is RejectReason.INVALID_ENCODING
    assert [(e.reason, e.field) for e in rejection.errors] == [(RejectReason.INVALID_ENCODING, "")]


# -- the JSON Schema documents ---------------------------------------------------


def test_committed_json_schemas_are_what_the_models_generate() -> None:
    committed = {p.name: p.read_text("utf-8") for p in contract_schema.JSON_DIR.glob("*.json")}
    generated = contract_schema.documents()
    assert sorted(committed) == sorted(generated)
    for name, text in generated.items():
        assert committed[name] == text, f"{name} is stale: run python -m schemas.jsonschema"


@pytest.mark.parametrize("channel", list(Channel))
def test_json_schema_document_is_well_formed(channel: Channel) -> None:
    document = json.loads(
        (contract_schema.JSON_DIR / f"{channel.value}.v1.schema.json").read_text()
    )
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == f"https://cx-stream-processor/schemas/{channel.value}.v1.schema.json"
    assert f"cx.{channel.value}" in document["title"]
    assert f"cx.{channel.value}" in document["description"]


def test_check_mode_reports_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(contract_schema, "JSON_DIR", tmp_path)
    assert contract_schema.main(["--check"]) == 1  # nothing written yet
    assert contract_schema.main([]) == 0
    assert contract_schema.main(["--check"]) == 0
    stale = tmp_path / "store.v1.schema.json"
    stale.write_text(stale.read_text().replace('"maximum": 10', '"maximum": 11'))
    capsys.readouterr()
    assert contract_schema.main(["--check"]) == 1
    report = capsys.readouterr().err
    assert "store.v1.schema.json" in report
    assert "web.v1.schema.json" not in report


@pytest.mark.parametrize(("channel", "line"), VALID)
def test_json_schema_accepts_valid_example(channel: Channel, line: str) -> None:
    errors = [error.message for error in _validator(channel).iter_errors(json.loads(line))]
    assert errors == []


# Invalid examples that JSON Schema cannot reject, as (field, value): why.
# (Examples of the other bounds it cannot express, too_large and too_deep and
# numbers in extra properties, are written as "raw" values.)
JSON_SCHEMA_GAPS: dict[tuple[str, str], str] = {
    ("occurred_at", "1969-12-31T23:59:59Z"): "event time before 1970",
    ("occurred_at", "2099-11-21T06:41:19.600Z"): "event time after the receive time",
}
if "date-time" not in FORMAT_CHECKER.checkers:
    # Feb 30 has the RFC 3339 shape that the `pattern` checks; only `format:
    # date-time` knows the calendar, and jsonschema checks that format only with
    # the optional rfc3339-validator package (jsonschema[format]).
    JSON_SCHEMA_GAPS["occurred_at", "2026-02-30T09:12:40+03:30"] = "calendar date"


@pytest.mark.parametrize(("channel", "case"), INVALID_OBJECTS)
def test_json_schema_rejects_invalid_example(channel: Channel, case: dict[str, Any]) -> None:
    errors = list(_validator(channel).iter_errors(case["event"]))
    value = _at(case["event"], case["field"])
    if isinstance(value, str) and (case["field"], value) in JSON_SCHEMA_GAPS:
        assert errors == [], f"the schema now rejects {value!r}: drop it from JSON_SCHEMA_GAPS"
    else:
        assert errors, f"the JSON Schema accepts an event the models reject ({case['expect']})"


# -- specific behaviours -------------------------------------------------------


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "t-0001",
        "event_type": "login",
        "occurred_at": "2026-11-23T09:41:07+03:30",
        "identity": {"customer_id": "C10023456"},
    }
    return {**event, **changes}


def test_unknown_extra_properties_are_kept() -> None:
    props = {"order_id": "W-1", "revenue": 10, "currency": "IRR", "coupon": "YALDA10", "n": [1]}
    event = _accept(_event(event_type="purchase", properties=props), Channel.WEB)
    assert event.properties.__pydantic_extra__ == {"coupon": "YALDA10", "n": [1]}
    assert event.model_dump()["properties"]["coupon"] == "YALDA10"


def test_envelope_level_unknown_fields_are_ignored() -> None:
    event = _accept(_event(producer="web-tracker/3.2.0", trace={"id": 7}), Channel.WEB)
    dumped = event.model_dump()
    assert "producer" not in dumped
    assert "trace" not in dumped


def test_email_is_stripped_and_lower_cased() -> None:
    event = _accept(_event(identity={"email": "  Sara.Ahmadi@Example.COM "}), Channel.WEB)
    assert event.identity.email == "sara.ahmadi@example.com"


@pytest.mark.parametrize(
    "phone",
    ["+989121234567", "+98 912 123 4567", "0098 912 123 4567", "0098-912-123-4567",
     "+98 (912) 123.4567", "\u00a0+98\u00a0912\u00a0123\u00a04567 "],
)  # fmt: skip
def test_phone_is_normalised_to_e164(phone: str) -> None:
    event = _accept(_event(identity={"phone": phone}), Channel.APP)
    assert event.identity.phone == "+989121234567"
    assert not list(_validator(Channel.APP).iter_errors(_event(identity={"phone": phone})))


@pytest.mark.parametrize(
    "phone",
    ["12345", "+0989121234567", "+98 912 ABC 4567", "+98\u06f9\u06f1\u06f2\u06f1\u06f2\u06f3\u06f4",
     "+1234567890123456", "00+989121234567"],
)  # fmt: skip
def test_malformed_phone_is_invalid_identifier(phone: str) -> None:
    rejection = _reject(_event(identity={"customer_id": "C1", "phone": phone}), Channel.APP)
    assert rejection.reason is RejectReason.INVALID_IDENTIFIER
    assert list(_validator(Channel.APP).iter_errors(_event(identity={"phone": phone})))


def test_empty_identifiers_count_as_absent() -> None:
    identity = {"customer_id": "", "email": "   ", "phone": "", "loyalty_id": " L0012345678 "}
    event = _accept(_event(event_type="loyalty_scan", identity=identity), Channel.STORE)
    assert event.identity.present() == {"loyalty_id": "L0012345678"}
    rejection = _reject(_event(identity={"customer_id": " ", "anonymous_id": ""}), Channel.WEB)
    assert rejection.reason is RejectReason.MISSING_IDENTITY


def test_integer_ids_are_read_as_strings() -> None:
    props = {"order_id": 100482331, "revenue": 52450000, "currency": "IRR", "staff_id": 1187}
    event = _accept(_event(event_type="pos_purchase", properties=props), Channel.STORE)
    assert event.properties.model_dump()["order_id"] == "100482331"
    assert event.properties.model_dump()["staff_id"] == "1187"


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_revenue_is_rejected(value: bytes) -> None:
    raw = json.dumps(
        _event(event_type="purchase", properties={"order_id": "W-1", "currency": "IRR"})
    )
    rejection = _reject(raw.encode().replace(b'"W-1"', b'"W-1", "revenue": ' + value), Channel.WEB)
    assert (rejection.reason, rejection.errors[0].field) == (
        RejectReason.NUMBER_OUT_OF_RANGE,
        "properties.revenue",
    )


def test_error_messages_never_repeat_the_input() -> None:
    # (not "12345": that is a substring of the example number the message gives)
    secrets = {"email": "bob.example.com", "phone": "0912-555-01"}
    rejection = _reject(_event(identity=secrets, occurred_at="last tuesday"), Channel.WEB)
    assert {e.reason for e in rejection.errors} == {
        RejectReason.INVALID_IDENTIFIER,
        RejectReason.INVALID_TIMESTAMP,
    }
    for error in rejection.errors:
        for value in [*secrets.values(), "last tuesday"]:
            assert value not in error.message
    for value in secrets.values():
        assert value not in rejection.model_dump_json()


# -- hostile input: what the contract decides -----------------------------------


def _raw_event(**changes: Any) -> bytes:
    return json.dumps(_event(**changes)).encode()


def test_duplicate_keys_the_last_one_wins() -> None:
    # As most JSON parsers do (RFC 8259 leaves it open); kept, not refused.
    raw = _raw_event(properties={"coupon": "A"}).replace(
        b'"identity": {"customer_id": "C10023456"}',
        b'"identity": {"customer_id": "C1"}, "identity": {"customer_id": "C2"}',
    )
    raw = raw.replace(b'{"coupon": "A"}', b'{"coupon": "A", "coupon": "B"}')
    event = _accept(raw, Channel.WEB)
    assert event.identity.customer_id == "C2"
    assert event.properties.__pydantic_extra__ == {"coupon": "B"}


def test_escaped_control_characters_are_kept_as_written() -> None:
    event = _accept(
        _event(identity={"customer_id": "C\x001"}, properties={"note": "a\x1f\x7fb"}),
        Channel.WEB,
    )
    assert event.identity.customer_id == "C\x001"
    assert event.properties.__pydantic_extra__ == {"note": "a\x1f\x7fb"}
    # Unescaped, a control character is not JSON (RFC 8259 7).
    raw = _raw_event(properties={"note": "a"}).replace(b'"a"', b'"a\x01b"')
    assert _reject(raw, Channel.WEB).reason is RejectReason.INVALID_JSON


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'"\\ud800"', RejectReason.INVALID_JSON),  # a lone high surrogate, escaped
        (b'"\\udc00"', RejectReason.INVALID_JSON),  # a lone low one
        (b'"\\ud800\\u0041"', RejectReason.INVALID_JSON),  # high, then not a low one
        (b'"\xed\xa0\x80"', RejectReason.INVALID_ENCODING),  # a surrogate as UTF-8 bytes
        (b'"\\ud83d\\ude00"', None),  # a pair: U+1F600
    ],
)
def test_lone_surrogates_are_refused(text: bytes, reason: RejectReason | None) -> None:
    raw = _raw_event(properties={"note": "@"}).replace(b'"@"', text)
    if reason is None:
        assert _accept(raw, Channel.WEB).properties.__pydantic_extra__ == {"note": "\U0001f600"}
    else:
        assert _reject(raw, Channel.WEB).reason is reason


def test_a_byte_order_mark_is_invalid_json() -> None:
    rejection = _reject(b"\xef\xbb\xbf" + _raw_event(), Channel.WEB)
    assert rejection.reason is RejectReason.INVALID_JSON
    assert "byte order mark" in rejection.errors[0].message


def test_utf16_is_refused() -> None:
    text = json.dumps(_event())
    assert _reject(text.encode("utf-16"), Channel.WEB).reason is RejectReason.INVALID_ENCODING
    # Without a byte order mark, UTF-16 of ASCII is valid UTF-8 (with NULs): not JSON.
    assert _reject(text.encode("utf-16-le"), Channel.WEB).reason is RejectReason.INVALID_JSON


RECEIVED_AT_MS = 1_795_500_000_000  # 2026-11-24T06:00Z


@pytest.mark.parametrize(
    ("occurred_at", "reason"),
    [
        ("0001-01-01T00:00:00Z", RejectReason.TIMESTAMP_OUT_OF_RANGE),
        ("0001-01-01T00:00:00+01:00", RejectReason.TIMESTAMP_OUT_OF_RANGE),  # year 0 in UTC
        ("9999-12-31T23:59:59Z", RejectReason.TIMESTAMP_OUT_OF_RANGE),
        ("9999-12-31T23:59:59-23:59", RejectReason.TIMESTAMP_OUT_OF_RANGE),  # year 10000 in UTC
        ("2300-01-01T00:00:00Z", RejectReason.TIMESTAMP_OUT_OF_RANGE),  # beyond DateTime64(3)
        ("1969-12-31T23:59:59Z", RejectReason.TIMESTAMP_OUT_OF_RANGE),
        ("1970-01-01T00:00:00+00:01", RejectReason.TIMESTAMP_OUT_OF_RANGE),  # 23:59 UTC
        ("1970-01-01T00:00:00Z", None),
        ("1970-01-01T01:00:00+01:00", None),
        ("2026-02-29T09:41:07Z", RejectReason.INVALID_TIMESTAMP),  # 2026 is no leap year
        ("2024-02-29T09:41:07Z", None),
        ("2016-12-31T23:59:60Z", RejectReason.INVALID_TIMESTAMP),  # leap second: not read
        ("2026-11-25T06:00:00Z", None),  # exactly 24 hours after the receive time
        ("2026-11-25T06:00:00.001Z", RejectReason.TIMESTAMP_OUT_OF_RANGE),
    ],
)
def test_event_times_at_the_calendars_edges(occurred_at: str, reason: RejectReason | None) -> None:
    verdict = validate_event(
        _raw_event(occurred_at=occurred_at), Channel.WEB, received_at_ms=RECEIVED_AT_MS
    )
    if reason is None:
        assert not isinstance(verdict, Rejection), verdict
    else:
        assert isinstance(verdict, Rejection)
        assert [(e.reason, e.field) for e in verdict.errors] == [(reason, "occurred_at")]


@pytest.mark.parametrize(
    ("field", "limit", "make"),
    [
        ("event_id", MAX_EVENT_ID_CHARS, lambda v: _event(event_id=v)),
        ("identity.customer_id", MAX_IDENTIFIER_CHARS, lambda v: _event(identity={"customer_id": v})),
        ("identity.email", MAX_IDENTIFIER_CHARS,
         lambda v: _event(identity={"email": v[:-12] + "@example.com"})),
        ("context.user_agent", MAX_CONTEXT_CHARS, lambda v: _event(context={"user_agent": v})),
        ("properties.order_id", MAX_EXTERNAL_ID_CHARS,
         lambda v: _event(event_type="purchase", properties={"order_id": v, "revenue": 1, "currency": "EUR"})),
        ("properties.url", MAX_TEXT_CHARS,
         lambda v: _event(event_type="page_view", properties={"url": v})),
    ],
)  # fmt: skip
def test_strings_longer_than_their_bound_are_invalid_value(
    field: str, limit: int, make: Any
) -> None:
    _accept(make("x" * limit), Channel.WEB)
    rejection = _reject(make("x" * (limit + 1)), Channel.WEB)
    assert [(e.reason, e.field) for e in rejection.errors] == [(RejectReason.INVALID_VALUE, field)]
    assert not list(_validator(Channel.WEB).iter_errors(make("x" * limit)))
    assert list(_validator(Channel.WEB).iter_errors(make("x" * (limit + 1))))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (INT64_MAX, None),
        (INT64_MIN, None),
        (INT64_MAX + 1, RejectReason.NUMBER_OUT_OF_RANGE),
        (INT64_MIN - 1, RejectReason.NUMBER_OUT_OF_RANGE),
        (_nest(MAX_DEPTH), None),
        (_nest(MAX_DEPTH + 1), RejectReason.TOO_DEEP),
        (_nest(MAX_DEPTH - 1, [2**70]), RejectReason.NUMBER_OUT_OF_RANGE),
        ({"a": [1, {"b": float("nan")}]}, RejectReason.NUMBER_OUT_OF_RANGE),
    ],
)
def test_extra_properties_are_bounded(value: Any, reason: RejectReason | None) -> None:
    verdict = validate_event(_raw_event(properties={"extra": value}), Channel.WEB)
    if reason is None:
        assert not isinstance(verdict, Rejection), verdict
    else:
        assert isinstance(verdict, Rejection)
        assert [(e.reason, e.field) for e in verdict.errors] == [(reason, "properties.extra")]


def test_a_value_over_the_size_bound_is_too_large_unread() -> None:
    padding = MAX_VALUE_BYTES - len(_raw_event(properties={"pad": ""}))
    assert not isinstance(
        validate_event(_raw_event(properties={"pad": "x" * padding}), Channel.WEB), Rejection
    )
    rejection = _reject(_raw_event(properties={"pad": "x" * (padding + 1)}), Channel.WEB)
    assert rejection.reason is RejectReason.TOO_LARGE
    assert (rejection.event_id, rejection.errors[0].field) == (None, "")


def test_a_value_too_deep_to_parse_is_too_deep() -> None:
    raw = _raw_event(properties={"x": "@"}).replace(b'"@"', b"[" * 5000 + b"]" * 5000)
    rejection = _reject(raw, Channel.WEB)
    assert [(e.reason, e.field) for e in rejection.errors] == [(RejectReason.TOO_DEEP, "")]


def test_rejections_read_the_event_id_where_numbers_are_out_of_range() -> None:
    raw = _raw_event(properties={"x": "@"}).replace(b'"@"', b"NaN")
    rejection = _reject(raw, Channel.WEB)
    assert (rejection.reason, rejection.event_id) == (RejectReason.NUMBER_OUT_OF_RANGE, "t-0001")


@pytest.mark.parametrize(
    ("event_type", "changes", "field"),
    [
        ("purchase", {"revenue": MAX_AMOUNT}, "properties.revenue"),
        ("purchase", {"revenue": 1e20}, "properties.revenue"),
        ("add_to_cart", {"price": float(MAX_AMOUNT)}, "properties.price"),
        ("add_to_cart", {"quantity": INT64_MAX + 1}, "properties.quantity"),
        ("purchase", {"order_id": INT64_MAX + 1}, "properties.order_id"),
    ],
)
def test_typed_numbers_beyond_what_is_stored_are_number_out_of_range(
    event_type: str, changes: dict[str, Any], field: str
) -> None:
    base = {"order_id": "W-1", "revenue": 10, "currency": "EUR", "product_id": "p-1"}
    rejection = _reject(_event(event_type=event_type, properties={**base, **changes}), Channel.WEB)
    assert [(e.reason, e.field) for e in rejection.errors] == [
        (RejectReason.NUMBER_OUT_OF_RANGE, field)
    ]
    assert list(_validator(Channel.WEB).iter_errors(
        _event(event_type=event_type, properties={**base, **changes})
    ))  # fmt: skip


def test_amounts_just_under_the_bound_are_accepted() -> None:
    just_under = 99_999_999_999_999.98  # the largest two-decimal amount a double holds under 1e14
    props = {"order_id": "W-1", "revenue": just_under, "currency": "EUR"}
    assert _accept(_event(event_type="purchase", properties=props), Channel.WEB)
    assert _accept(
        _event(event_type="add_to_cart", properties={"product_id": "p", "quantity": INT64_MAX}),
        Channel.WEB,
    )


@pytest.mark.parametrize(
    ("event_type", "message_kind", "stage"),
    [
        ("sms_sent", "campaign", Stage.AWARENESS),
        ("sms_sent", "thank_you", Stage.POST_PURCHASE),
        ("sms_sent", "reminder", Stage.POST_PURCHASE),
        ("login", None, None),
        ("loyalty_scan", None, Stage.LOYALTY),
        ("purchase", None, Stage.PURCHASE),
        ("pos_purchase", None, Stage.PURCHASE),
        ("page_view", None, Stage.AWARENESS),
        ("store_visit", None, Stage.CONSIDERATION),
        ("support_contact_answered", None, Stage.POST_PURCHASE),
    ],
)
def test_stage_of(event_type: str, message_kind: str | None, stage: Stage | None) -> None:
    assert stage_of(event_type, message_kind) is stage
