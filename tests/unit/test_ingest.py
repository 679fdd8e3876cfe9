"""Stage 1 as pure functions: validate, normalise, pseudonymise."""

from __future__ import annotations

import zlib

import orjson
import pytest

from schemas import Channel, RejectReason, Stage
from streams.clickhouse.bundle import decode_bundle, encode_bundle, split_rows
from streams.deadletters.letter import DeadLetter, decode_dead_letter, encode_dead_letter
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.route import ingest_batch, route_batch
from streams.ingest.touchpoint import Touchpoint, epoch_ms
from streams.journeys.steps import Step, step_of
from streams.runtime.topics import Topics
from streams.store.rows import TOUCHPOINT_COLUMNS
from tests.examples import invalid_cases, record, valid_events

TOPICS = Topics("cx.")
PSEUDONYMS = Pseudonymizer(b"unit-test-secret")
NOW_MS = 1_795_800_000_000  # 2026-11-27T17:20Z: after every golden example


def ingest(
    channel: Channel, values: list[bytes | None]
) -> tuple[list[Touchpoint], list[DeadLetter]]:
    records = [record(TOPICS.channel(channel), v, offset=i) for i, v in enumerate(values)]
    result = ingest_batch(records, TOPICS.channels, NOW_MS, PSEUDONYMS)
    return result.touchpoints, result.dead_letters


@pytest.mark.parametrize("channel", list(Channel), ids=lambda c: c.value)
def test_every_record_is_accepted_or_rejected_once(channel: Channel) -> None:
    good = valid_events(channel)
    bad = [case["raw"] for case in invalid_cases(channel)]
    mixed = (
        [v for pair in zip(good, bad, strict=False) for v in pair]
        + good[len(bad) :]
        + bad[len(good) :]
    )
    touchpoints, dead = ingest(channel, mixed)
    assert len(touchpoints) == len(good) and len(dead) == len(bad)
    offsets = sorted([t.source_offset for t in touchpoints] + [d.source_offset for d in dead])
    assert offsets == list(range(len(mixed)))


@pytest.mark.parametrize("channel", list(Channel), ids=lambda c: c.value)
def test_dead_letters_keep_bytes_position_and_reason(channel: Channel) -> None:
    cases = invalid_cases(channel)
    _, dead = ingest(channel, [c["raw"] for c in cases])
    for case, letter in zip(cases, dead, strict=True):
        assert letter.value == case["raw"]
        assert letter.rejection.reason.value == case["expect"]
        assert (letter.source_topic, letter.channel) == (TOPICS.channel(channel), channel)


def test_a_record_without_value_is_a_dead_letter() -> None:
    _, dead = ingest(Channel.WEB, [None])
    assert dead[0].rejection.reason is RejectReason.INVALID_JSON and dead[0].value == b""


def event(**fields: object) -> bytes:
    base: dict[str, object] = {
        "event_id": "e-1",
        "event_type": "survey_response",
        "occurred_at": "2026-11-23T09:41:07.250+03:30",
        "identity": {"phone": "+98 912 123 4567", "anonymous_id": "ck-1"},
        "properties": {
            "survey": "nps",
            "score": 9,
            "comment": "call me on +989121234567",
            "contact": {"email": "Sara@Example.com"},
        },
    }
    base.update(fields)
    return orjson.dumps(base)


def test_touchpoint_is_normalised_and_pseudonymised() -> None:
    (tp,), _ = ingest(Channel.SMS, [event()])
    assert tp.occurred_at_ms == 1_795_414_267_250  # 06:11:07.250 UTC
    assert tp.received_at_ms == NOW_MS
    assert (tp.channel, tp.event_type, tp.stage) == (
        Channel.SMS,
        "survey_response",
        Stage.POST_PURCHASE,
    )
    phone_hash = PSEUDONYMS.hash("phone", "+989121234567")
    assert tp.identifiers.phone_hash == phone_hash
    assert tp.person_key == f"phone_hash:{phone_hash}"  # phone outranks anonymous_id
    assert tp.properties["comment"] == f"call me on phone:{phone_hash}"
    routed = route_batch([tp], [tp.person_key], 4)
    encoded = b"".join(encode_bundle(entries) for entries in routed.bundles.values())
    assert b"+989121234567" not in encoded and b"9121234567" not in encoded


def test_email_is_scrubbed_from_nested_properties() -> None:
    raw = event(identity={"email": " Sara@Example.com "})
    (tp,), _ = ingest(Channel.WEB, [raw])
    email_hash = PSEUDONYMS.hash("email", "sara@example.com")
    assert tp.identifiers.email_hash == email_hash
    # The nested value was written as sent, not normalised: replaced too
    # (every spelling: tests/unit/test_scrub.py).
    assert tp.properties["contact"] == {"email": f"email:{email_hash}"}
    (tp,), _ = ingest(
        Channel.WEB,
        [
            event(
                identity={"email": "sara@example.com"},
                properties={"survey": "csat", "score": 5, "note": "sara@example.com"},
            )
        ],
    )
    assert tp.properties["note"] == f"email:{email_hash}"


@pytest.mark.parametrize(
    ("identity", "key"),
    [
        ({"anonymous_id": "ck-1", "customer_id": "C1", "loyalty_id": "L1"}, "customer_id:C1"),
        ({"anonymous_id": "ck-1", "loyalty_id": "L1"}, "loyalty_id:L1"),
        ({"anonymous_id": "ck-1"}, "anonymous_id:ck-1"),
    ],
)
def test_person_key_is_the_strongest_identifier(identity: dict[str, str], key: str) -> None:
    (tp,), _ = ingest(Channel.WEB, [event(identity=identity)])
    assert tp.person_key == key


def test_sms_stage_depends_on_message_kind() -> None:
    raw = [
        event(event_type="sms_sent", properties={"message_kind": kind})
        for kind in ("campaign", "survey")
    ]
    touchpoints, _ = ingest(Channel.SMS, raw)
    assert [t.stage for t in touchpoints] == [Stage.AWARENESS, Stage.POST_PURCHASE]


@pytest.mark.parametrize("channel", list(Channel), ids=lambda c: c.value)
def test_rows_and_steps_travel_in_bundles_routed_by_event_id(channel: Channel) -> None:
    touchpoints, _ = ingest(channel, valid_events(channel))
    keys = [f"person-{i % 3}" for i in range(len(touchpoints))]
    routed = route_batch(touchpoints, keys, 4)
    assert routed.failed == []
    by_id = {tp.event_id: (tp, key) for tp, key in zip(touchpoints, keys, strict=True)}
    seen = []
    for partition, entries in routed.bundles.items():
        index, body = decode_bundle(encode_bundle(entries))
        rows = [orjson.loads(row) for row in split_rows(body)]
        assert len(index) == len(rows)
        for (event_id, occurred_at_ms, key, step), row in zip(index, rows, strict=True):
            tp, expected_key = by_id[event_id]
            values = dict(zip(TOUCHPOINT_COLUMNS, row, strict=True))
            assert values["event_id"] == event_id and occurred_at_ms == tp.occurred_at_ms
            assert values["occurred_at"] == tp.occurred_at_ms / 1000  # seconds for ClickHouse
            assert (values["person_key"], values["customer_key"]) == (tp.person_key, key)
            assert key == expected_key
            assert Step._make(step) == step_of(tp)
            assert values["route_partition"] == partition
            assert zlib.crc32(event_id.encode()) % 4 == partition
            assert values["properties"] == tp.properties  # an object: stored as its JSON text
            seen.append(event_id)
    assert sorted(seen) == sorted(by_id)


def test_a_repeated_event_id_routes_where_the_first_did_whoever_it_names() -> None:
    first, again = (
        ingest(Channel.WEB, [event(event_id="same", identity=identity)])[0][0]
        for identity in ({"customer_id": "C1"}, {"loyalty_id": "L9", "email": "x@y.z"})
    )
    routed = route_batch([first, again], ["customer_id:C1", "loyalty_id:L9"], 8)
    assert [len(entries) for entries in routed.bundles.values()] == [2]


def test_a_touchpoint_no_row_can_be_made_of_fails_alone() -> None:
    good, bad = (ingest(Channel.WEB, [event(event_id=i)])[0][0] for i in ("good", "bad"))
    bad = bad._replace(properties={**bad.properties, "huge": 2**70})  # past the contract
    routed = route_batch([good, bad], ["k1", "k2"], 4)
    assert [at for at, _ in routed.failed] == [1]
    assert isinstance(routed.failed[0][1], TypeError)
    assert sum(len(entries) for entries in routed.bundles.values()) == 1


def test_dead_letter_wire_format_round_trips() -> None:
    cases = invalid_cases(Channel.STORE)
    _, dead = ingest(Channel.STORE, [c["raw"] for c in cases])
    for letter in dead:
        key, value, headers = encode_dead_letter(letter)
        assert (
            key
            == f"{letter.source_topic}/{letter.source_partition}/{letter.source_offset}".encode()
        )
        assert value == letter.value
        assert decode_dead_letter(value, headers) == letter


def test_epoch_ms_is_exact() -> None:
    from datetime import UTC, datetime

    assert epoch_ms(datetime(2026, 11, 23, 6, 11, 7, 250999, tzinfo=UTC)) == 1_795_414_267_250


def test_the_event_union_lists_every_channel_model() -> None:
    from typing import get_args

    from schemas.events import CHANNEL_MODELS, Event

    assert set(get_args(Event)) == set().union(*CHANNEL_MODELS.values())
