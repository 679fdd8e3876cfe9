"""Personal data in free text: which spellings of the event's own e-mail and
phone `to_touchpoint` replaces, and which look-alikes it leaves alone."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import AcceptedEvent, Channel, accept_event
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.scrub import Secrets, national_parts, scrub_text
from streams.ingest.touchpoint import Touchpoint, to_touchpoint

PSEUDONYMS = Pseudonymizer(b"unit-test-secret")
NOW_MS = 1_795_800_000_000
EMAIL, PHONE = "erase.me@example.net", "+989125550101"
EMAIL_TOKEN = f"email:{PSEUDONYMS.hash('email', EMAIL)}"
PHONE_TOKEN = f"phone:{PSEUDONYMS.hash('phone', PHONE)}"
SECRETS = Secrets(EMAIL, EMAIL_TOKEN, PHONE, PHONE_TOKEN)


def touchpoint(properties: dict[str, Any], context: dict[str, str] | None = None) -> Touchpoint:
    """The touchpoint of a survey response by Erase Me, identity as a producer spelled it."""
    raw = orjson.dumps(
        {
            "event_id": "e-1",
            "event_type": "survey_response",
            "occurred_at": "2026-11-23T09:41:07.250+03:30",
            "identity": {"email": "Erase.Me@Example.NET", "phone": "+98 912 555 0101"},
            "context": context or {},
            "properties": {"survey": "nps", "score": 9, **properties},
        }
    )
    event = accept_event(raw, Channel.WEB, received_at_ms=NOW_MS)
    assert isinstance(event, dict), event
    accepted: AcceptedEvent = event
    return to_touchpoint(accepted, Channel.WEB, ("cx.web", 0, 0), NOW_MS, PSEUDONYMS)


REPLACED = [
    ("Erase.Me@Example.NET", EMAIL_TOKEN),
    ("ERASE.ME@EXAMPLE.NET", EMAIL_TOKEN),
    ("erase.me@example.net", EMAIL_TOKEN),
    ("erase.me%40example.net", EMAIL_TOKEN),
    ("Erase.Me%40Example.NET", EMAIL_TOKEN),
    ("%65%72%61%73%65%2E%6D%65%40%65%78%61%6D%70%6C%65%2E%6E%65%74", EMAIL_TOKEN),
    ("mailto:Erase.Me@Example.NET", f"mailto:{EMAIL_TOKEN}"),
    ("mailto%3Aerase.me%40example.net", f"mailto%3A{EMAIL_TOKEN}"),
    ("<erase.me@example.net>.", f"<{EMAIL_TOKEN}>."),
    ("+98 912 555 0101", PHONE_TOKEN),
    ("+989125550101", PHONE_TOKEN),
    ("+98-912-555-0101", PHONE_TOKEN),
    ("+98 (0)912 555 0101", PHONE_TOKEN),
    ("%2B989125550101", PHONE_TOKEN),
    ("0098 912 555 0101", PHONE_TOKEN),
    ("00989125550101", PHONE_TOKEN),
    ("989125550101", PHONE_TOKEN),
    ("0912 555 0101", PHONE_TOKEN),
    ("09125550101", PHONE_TOKEN),
    ("(0912) 555-0101", PHONE_TOKEN),
    ("0912/555/0101", PHONE_TOKEN),
    ("0912%20555%200101", PHONE_TOKEN),
    ("q=call%200912%20555%200101", f"q=call%20{PHONE_TOKEN}"),
    ("9125550101", PHONE_TOKEN),
    ("912-555-0101", PHONE_TOKEN),
    ("912.555.0101", PHONE_TOKEN),
    ("912 555 01 01", PHONE_TOKEN),
    ("tel:+989125550101", f"tel:{PHONE_TOKEN}"),
    ("call 0912 555 0101.", f"call {PHONE_TOKEN}."),
]


@pytest.mark.parametrize(("spelling", "replaced"), REPLACED, ids=[s for s, _ in REPLACED])
def test_every_spelling_of_the_own_email_and_phone_is_replaced(
    spelling: str, replaced: str
) -> None:
    tp = touchpoint({"comment": f"reach me: {spelling} (thanks)"})
    assert tp.properties["comment"] == f"reach me: {replaced} (thanks)"


NOT_REPLACED = [
    "order 19125550101",  # the digits inside a longer number
    "order 91255501012",
    "id 98912555010123",
    "ORD-2026-9125550101",  # joined to other digits by a dash
    "9125550101-7",
    "v 12.9125550101",
    "price 9125550101.50",  # an amount
    "0.9125550101",
    "ts 1795414267250",
    "someone.else@example.net",  # another person
    "xerase.me@example.net",
    "erase.me@example.network",
    "erase.me@example.net.au",
    "erase.me@example",
    "+98 912 555 0102",  # another number
    "0912 555 010",
]


@pytest.mark.parametrize("text", NOT_REPLACED)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert touchpoint({"comment": text}).properties["comment"] == text


def test_nested_values_keys_and_context_are_scrubbed() -> None:
    tp = touchpoint(
        {
            "contact": {"emails": ["x@y.z", "Erase.Me@Example.NET"], "n": 912},
            "by_phone": {"0912 555 0101": {"count": 2}},
        },
        {"b2b_account_id": "ERASE.ME@example.net", "store_id": "s-9125550101-x"},
    )
    assert tp.properties["contact"] == {"emails": ["x@y.z", EMAIL_TOKEN], "n": 912}
    assert tp.properties["by_phone"] == {PHONE_TOKEN: {"count": 2}}
    assert tp.context == {"b2b_account_id": EMAIL_TOKEN, "store_id": f"s-{PHONE_TOKEN}-x"}
    assert tp.identifiers.email_hash == EMAIL_TOKEN.split(":")[1]


def test_without_email_or_phone_nothing_changes() -> None:
    text = "erase.me@example.net, 0912 555 0101"
    raw = orjson.dumps(
        {
            "event_id": "e-2",
            "event_type": "page_view",
            "occurred_at": "2026-11-23T09:41:07Z",
            "identity": {"anonymous_id": "ck-1"},
            "properties": {"url": "https://shop.example/", "note": text},
        }
    )
    event = accept_event(raw, Channel.WEB, received_at_ms=NOW_MS)
    assert isinstance(event, dict)
    tp = to_touchpoint(event, Channel.WEB, ("cx.web", 0, 0), NOW_MS, PSEUDONYMS)
    assert tp.properties["note"] == text  # nothing to compare with: not this event's identity


@pytest.mark.parametrize(
    ("phone", "parts"),
    [
        ("+989125550101", ("98", "9125550101")),
        ("+14155550101", ("1", "4155550101")),
        ("+74951234567", ("7", "4951234567")),
        ("+442079460000", ("44", "2079460000")),
        ("+35312345678", ("353", "12345678")),
    ],
)
def test_national_parts_split_the_country_code(phone: str, parts: tuple[str, str]) -> None:
    assert national_parts(phone) == parts


def test_short_national_numbers_are_replaced_only_with_their_country_code() -> None:
    secrets = Secrets(None, "", "+6834002", "phone:P")  # Niue: 4-digit national numbers
    assert scrub_text("+683 4002 or 004002 or 4002", secrets) == "phone:P or 004002 or 4002"


_SEPARATORS = st.sampled_from(["", " ", "-", ".", "/", " - ", "\u00a0", "%20"])


@given(
    prefix=st.sampled_from(["+98", "0098", "+98 (0)", "98", "0", ""]),
    groups=st.sampled_from([(3, 3, 4), (3, 7), (10,), (3, 3, 2, 2), (2, 4, 4)]),
    separators=st.lists(_SEPARATORS, min_size=4, max_size=4),
    before=st.sampled_from(["", "call ", "tel:", "(", "x="]),
    after=st.sampled_from(["", ".", " today", ")", "&y=1"]),
)
def test_any_grouping_of_the_phone_is_replaced(
    prefix: str, groups: tuple[int, ...], separators: list[str], before: str, after: str
) -> None:
    national, parts, at = "9125550101", [], 0
    for size in groups:
        parts.append(national[at : at + size])
        at += size
    between = [*separators[1 : len(parts)], ""]
    spelled = prefix + separators[0] + "".join(p + s for p, s in zip(parts, between, strict=True))
    if prefix in ("0", "98") and separators[0] == ".":  # 0.912... is a fraction
        spelled = spelled.replace(".", " ", 1)
    text = before + spelled + after
    scrubbed = scrub_text(text, SECRETS)
    assert PHONE_TOKEN in scrubbed
    rest = scrubbed.replace(PHONE_TOKEN, "").replace("%20", " ")
    assert "".join(c for c in rest if c.isdigit()) in ("", "1")  # "&y=1" stays


@given(st.text(alphabet="0123456789 .-/+()", max_size=40))
def test_digits_are_replaced_only_where_the_whole_number_is_the_phone(text: str) -> None:
    scrubbed = scrub_text(text, SECRETS)
    if scrubbed != text:
        assert PHONE_TOKEN in scrubbed
    digits = "".join(c for c in text if c.isdigit())
    if "9125550101" not in digits:
        assert scrubbed == text


@given(st.integers(0, 2 ** len(EMAIL) - 1))
def test_any_letter_case_of_the_email_is_replaced(mask: int) -> None:
    spelled = "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate(EMAIL))
    assert scrub_text(f"from {spelled}, hi", SECRETS) == f"from {EMAIL_TOKEN}, hi"
