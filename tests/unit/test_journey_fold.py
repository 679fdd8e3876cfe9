"""The journey fold as pure functions: hand-built steps in, journeys out."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from schemas import Channel, Rejection, accept_event, stage_of
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.touchpoint import epoch_ms, to_touchpoint
from streams.journeys import (
    FollowUp,
    Journey,
    JourneyRules,
    PainKind,
    PainPoint,
    Step,
    SupportContact,
    build_journey,
    decode_steps,
    encode_steps,
    journey_id,
    pain_counts,
    person_journeys,
    split_journeys,
    step_of,
)
from streams.journeys.rows import JOURNEY_COLUMNS, deleted_row, journey_row
from streams.journeys.rules import DAY_MS, HOUR_MS, MINUTE_MS

T0 = 1_795_400_000_000
RULES = JourneyRules()
KEY = "customer_id:c-1"


def st(event_id: str, at: int, event_type: str, channel: str = "web", **fields: Any) -> Step:
    """A step at T0 + at ms, with the stage the contract gives its type."""
    stage = stage_of(event_type, fields.get("message_kind"))
    return Step(
        event_id,
        T0 + at,
        channel,
        event_type,
        stage.value if stage is not None else None,
        **fields,
    )


def buy(
    event_id: str, at: int, channel: str = "web", revenue: float = 10.0, currency: str = "EUR"
) -> Step:
    kind = "pos_purchase" if channel == "store" else "purchase"
    return st(
        event_id, at, kind, channel, order_id=f"o-{event_id}", revenue=revenue, currency=currency
    )


def survey(event_id: str, at: int, kind: str, score: int, about: str | None = None) -> Step:
    return st(
        event_id, at, "survey_response", "sms", survey=kind, score=score, about_event_id=about
    )


def journey(
    steps: list[Step],
    *,
    as_of: int | None = None,
    before: bool = False,
    rules: JourneyRules = RULES,
) -> Journey:
    last = max(s.occurred_at_ms for s in steps)
    as_of_ms = last if as_of is None else T0 + as_of
    return build_journey(KEY, steps, rules, as_of_ms=as_of_ms, purchased_before=before)


def kinds(steps: list[Step], **options: Any) -> list[tuple[str, str, str]]:
    return [(p.kind.value, p.event_id, p.detail) for p in journey(steps, **options).pain_points]


# --- stages ---------------------------------------------------------------


def test_stages_in_order_of_first_reach() -> None:
    j = journey(
        [
            st("a", 0, "ad_click"),
            st("b", 1000, "page_view"),
            st("c", 2000, "product_view"),
            buy("d", 3000),
            st("e", 4000, "order_delivered", order_id="o-d"),
            st("f", 5000, "page_view"),
        ]
    )
    assert j.stages == (
        ("awareness", T0),
        ("consideration", T0 + 2000),
        ("purchase", T0 + 3000),
        ("post_purchase", T0 + 4000),
    )


def test_sms_kind_decides_stage_and_signals_have_none() -> None:
    j = journey(
        [
            st("a", 0, "login", "app"),
            st("b", 10, "sms_sent", "sms", message_kind="service"),
            st("c", 20, "sms_sent", "sms", message_kind="campaign"),
            st("d", 30, "app_crash", "app"),
        ]
    )
    assert j.stages == (("post_purchase", T0 + 10), ("awareness", T0 + 20))


def test_second_purchase_in_journey_reaches_loyalty() -> None:
    j = journey([buy("a", 0), buy("b", HOUR_MS)])
    assert j.stages == (("purchase", T0), ("loyalty", T0 + HOUR_MS))


def test_purchase_after_an_earlier_journey_reaches_purchase_and_loyalty() -> None:
    steps = [st("a", 0, "page_view"), buy("b", 1000)]
    assert journey(steps, before=True).stages == (
        ("awareness", T0),
        ("purchase", T0 + 1000),
        ("loyalty", T0 + 1000),
    )
    assert ("loyalty", T0 + 1000) not in journey(steps, before=False).stages


def test_each_stage_keeps_the_channel_it_was_first_reached_on() -> None:
    j = journey(
        [
            st("a", 0, "sms_clicked", "sms"),
            st("b", 1000, "page_view", "web"),
            st("c", 2000, "product_view", "app"),
            st("d", 2500, "store_visit", "store"),
            buy("e", 3000, channel="store"),
            buy("f", 4000, channel="web"),
        ]
    )
    assert [stage for stage, _ in j.stages] == ["awareness", "consideration", "purchase", "loyalty"]
    assert j.stage_channels == ("sms", "app", "store", "web")  # loyalty: the repeat purchase
    row = journey_row("p", 1, T0, j)
    assert list(row[JOURNEY_COLUMNS.index("stage_channels")]) == ["sms", "app", "store", "web"]
    assert len(deleted_row("p", 2, T0, "x")) == len(JOURNEY_COLUMNS)


def test_loyalty_scan_reaches_loyalty_without_purchase() -> None:
    j = journey([st("a", 0, "store_visit", "store"), st("b", 500, "loyalty_scan", "store")])
    assert j.stages == (("consideration", T0), ("loyalty", T0 + 500))
    assert not j.converted


# --- channels, purchases, revenue -----------------------------------------


def test_channels_in_order_of_first_use_and_switches() -> None:
    j = journey(
        [
            st("a", 0, "app_open", "app"),
            st("b", 1, "screen_view", "app"),
            st("c", 2, "page_view", "web"),
            st("d", 3, "store_visit", "store"),
            st("e", 4, "page_view", "web"),
        ]
    )
    assert j.channels == ("app", "web", "store")
    assert j.channel_switches == 3
    assert (j.first_channel, j.last_channel) == ("app", "web")


def test_time_to_purchase_and_purchase_channel() -> None:
    j = journey(
        [
            st("a", 0, "app_open", "app"),
            st("b", 2 * HOUR_MS, "store_visit", "store"),
            buy("c", 3 * HOUR_MS, "store"),
            buy("d", 4 * HOUR_MS, "web"),
        ]
    )
    assert j.converted and j.purchases == 2
    assert j.first_purchase_at_ms == T0 + 3 * HOUR_MS
    assert j.time_to_purchase_ms == 3 * HOUR_MS
    assert j.purchase_channel == "store"


def test_no_purchase_means_no_conversion() -> None:
    j = journey([st("a", 0, "page_view")])
    assert (j.converted, j.purchases, j.first_purchase_at_ms) == (False, 0, None)
    assert (j.time_to_purchase_ms, j.purchase_channel, j.revenue) == (None, None, ())


def test_revenue_per_currency_sorted_and_rounded() -> None:
    j = journey(
        [
            buy("a", 0, revenue=0.1, currency="USD"),
            buy("b", 1, revenue=0.1, currency="EUR"),
            buy("c", 2, revenue=0.2, currency="EUR"),
            buy("d", 3, revenue=1.123456, currency="USD"),
        ]
    )
    assert j.revenue == (("EUR", 0.3), ("USD", 1.2235))


# --- support ----------------------------------------------------------------


def support(event_id: str, at: int, what: str, contact: str, channel: str = "web") -> Step:
    return st(event_id, at, f"support_contact_{what}", channel, contact_id=contact)


def test_support_times_and_states() -> None:
    j = journey(
        [
            support("a", 0, "opened", "k1", "app"),
            support("b", 30 * MINUTE_MS, "answered", "k1", "web"),
            support("c", 5 * HOUR_MS, "resolved", "k1"),
            support("d", 6 * HOUR_MS, "opened", "k2"),
            support("e", 6 * HOUR_MS + 10, "opened", "k3"),
            support("f", 7 * HOUR_MS, "answered", "k3"),
        ],
        as_of=6 * HOUR_MS + MINUTE_MS,
    )
    assert j.support == (
        SupportContact("k1", "app", T0, 30 * MINUTE_MS, 5 * HOUR_MS, "resolved"),
        SupportContact("k2", "web", T0 + 6 * HOUR_MS, None, None, "open"),
        SupportContact("k3", "web", T0 + 6 * HOUR_MS + 10, HOUR_MS - 10, None, "answered"),
    )


def test_support_without_opened_in_journey_has_state_only() -> None:
    j = journey(
        [
            support("a", 0, "answered", "k1", "sms"),
            support("b", HOUR_MS, "resolved", "k2"),
        ],
        as_of=DAY_MS,
    )
    assert j.support == (
        SupportContact("k1", "sms", None, None, None, "answered"),
        SupportContact("k2", "web", None, None, None, "resolved"),
    )
    assert j.pain_points == ()


# --- surveys ----------------------------------------------------------------


def test_survey_rates_its_about_event_when_in_journey() -> None:
    j = journey(
        [
            st("visit", 0, "store_visit", "store"),
            buy("p", 1000, "store"),
            st("sms", 2000, "sms_sent", "sms", message_kind="survey"),
            survey("s", 3000, "csat", 5, about="visit"),
        ]
    )
    (answer,) = j.surveys
    assert (answer.rated_event_id, answer.rated_event_type, answer.rated_stage) == (
        "visit",
        "store_visit",
        "consideration",
    )
    assert (answer.survey, answer.score, answer.at_ms, answer.channel) == (
        "csat",
        5,
        T0 + 3000,
        "sms",
    )


def test_survey_without_about_rates_latest_rated_step() -> None:
    j = journey(
        [
            buy("p", 0, "store"),
            st("login", 500, "login", "app"),
            st("sms", 1000, "sms_sent", "sms", message_kind="survey"),
            st("dlv", 1100, "sms_delivered", "sms"),
            survey("s1", 2000, "nps", 9),
            survey("s2", 3000, "nps", 10, about="gone"),
        ]
    )
    assert [(a.event_id, a.rated_event_id, a.rated_stage) for a in j.surveys] == [
        ("s1", "p", "purchase"),
        ("s2", "p", "purchase"),
    ]
    assert j.surveys[1].about_event_id == "gone"


def test_survey_with_nothing_to_rate() -> None:
    (answer,) = journey(
        [st("sms", 0, "sms_sent", "sms", message_kind="survey"), survey("s", 1, "nps", 8)]
    ).surveys
    assert (answer.rated_event_id, answer.rated_event_type, answer.rated_stage) == (
        None,
        None,
        None,
    )


# --- follow-up --------------------------------------------------------------


def sms(event_id: str, at: int, kind: str) -> Step:
    return st(event_id, at, "sms_sent", "sms", message_kind=kind)


def test_follow_up_after_first_purchase_and_answer() -> None:
    j = journey(
        [
            sms("before", 0, "reminder"),
            buy("p", 1000),
            sms("t", 2000, "thank_you"),
            sms("q", 3000, "survey"),
            st("r", 4000, "sms_reply", "sms"),
        ]
    )
    assert j.follow_up == FollowUp(
        thank_you_sent=True, reminder_sent=False, survey_sent=True, answered=True
    )


def test_follow_up_reply_before_message_is_not_an_answer() -> None:
    j = journey([buy("p", 0), st("r", 1000, "sms_reply", "sms"), sms("t", 2000, "thank_you")])
    assert j.follow_up == FollowUp(thank_you_sent=True, answered=False)


def test_follow_up_needs_a_purchase() -> None:
    j = journey([sms("t", 0, "thank_you"), survey("s", 1000, "nps", 9)])
    assert j.follow_up == FollowUp()
    assert not any((j.follow_up.thank_you_sent, j.follow_up.answered))


# --- pain points --------------------------------------------------------------


def checkout(event_id: str, at: int) -> Step:
    return st(event_id, at, "checkout_started")


def test_abandoned_checkout_once_window_elapsed() -> None:
    steps = [checkout("c", 0)]
    assert kinds(steps, as_of=HOUR_MS - 1) == []
    assert kinds(steps, as_of=HOUR_MS) == [("abandoned_checkout", "c", "web")]


def test_abandoned_checkout_known_from_a_later_step() -> None:
    steps = [checkout("c", 0), st("v", HOUR_MS + 1, "page_view")]
    assert kinds(steps, as_of=HOUR_MS - 1) == [("abandoned_checkout", "c", "web")]
    assert kinds([checkout("c", 0), st("v", HOUR_MS, "page_view")], as_of=HOUR_MS - 1) == []


def test_purchase_within_window_is_not_abandoned() -> None:
    assert kinds([checkout("c", 0), buy("p", HOUR_MS)], as_of=DAY_MS) == []
    late = kinds([checkout("c", 0), buy("p", HOUR_MS + 1)], as_of=DAY_MS)
    assert late == [("abandoned_checkout", "c", "web")]


def test_each_checkout_without_purchase_in_its_window_counts() -> None:
    steps = [
        checkout("c1", 0),
        checkout("c2", 2 * HOUR_MS),
        checkout("c3", 4 * HOUR_MS),
        buy("p", 4 * HOUR_MS + 30 * MINUTE_MS),
    ]
    assert [p[1] for p in kinds(steps, as_of=DAY_MS)] == ["c1", "c2"]


def test_unanswered_support_only_after_slow_answer_window() -> None:
    steps = [support("o", 0, "opened", "k1")]
    assert kinds(steps, as_of=2 * HOUR_MS) == []
    assert kinds(steps, as_of=2 * HOUR_MS + 1) == [("unanswered_support", "o", "k1")]
    resolved = [*steps, support("r", 3 * HOUR_MS, "resolved", "k1")]
    assert kinds(resolved, as_of=DAY_MS) == []


def test_slow_support() -> None:
    slow = [support("o", 0, "opened", "k1"), support("a", 2 * HOUR_MS + 1, "answered", "k1")]
    fast = [support("o", 0, "opened", "k1"), support("a", 2 * HOUR_MS, "answered", "k1")]
    assert kinds(slow, as_of=DAY_MS) == [("slow_support", "o", "k1")]
    assert kinds(fast, as_of=DAY_MS) == []


@pytest.mark.parametrize(("kind", "low", "ok"), [("nps", 6, 7), ("csat", 2, 3), ("ces", 3, 4)])
def test_low_score_thresholds(kind: str, low: int, ok: int) -> None:
    steps = [
        st("v", 0, "store_visit", "store"),
        survey("bad", 10, kind, low),
        survey("good", 20, kind, ok),
    ]
    assert kinds(steps) == [("low_score", "bad", f"{kind}:{low}:v")]


def test_low_score_without_rated_step() -> None:
    assert kinds([survey("s", 0, "nps", 0)]) == [("low_score", "s", "nps:0")]


def test_return_after_purchase() -> None:
    ret = st("r", DAY_MS, "return", "store", order_id="o-9")
    assert kinds([buy("p", 0), ret]) == [("return_after_purchase", "r", "o-9")]
    assert kinds([ret], before=True) == [("return_after_purchase", "r", "o-9")]
    assert kinds([ret], before=False) == []


def test_app_crash_in_session() -> None:
    crash = st("x", 40 * MINUTE_MS, "app_crash", "app")
    near = st("s", 10 * MINUTE_MS + 1, "screen_view", "app")
    far = st("s", 10 * MINUTE_MS - 1, "screen_view", "app")
    assert kinds([near, crash]) == [("app_crash_in_session", "x", "")]
    assert kinds([far, crash]) == []
    assert kinds([crash]) == []
    assert kinds([st("w", 30 * MINUTE_MS, "page_view"), crash]) == []


def test_app_crash_in_session_by_session_id() -> None:
    opened = st("o", 0, "app_open", "app", session_id="sess-1")
    crash = st("x", 5 * HOUR_MS, "app_crash", "app", session_id="sess-1")
    other = st("x", 5 * HOUR_MS, "app_crash", "app", session_id="sess-2")
    assert kinds([opened, crash]) == [("app_crash_in_session", "x", "sess-1")]
    assert kinds([opened, other]) == []


def test_opt_out_after_message() -> None:
    opt_out = st("out", 2 * DAY_MS, "opt_out", "sms")
    assert kinds([sms("m1", 0, "campaign"), sms("m2", HOUR_MS, "reminder"), opt_out]) == [
        ("opt_out_after_message", "out", "reminder")
    ]
    assert kinds([sms("m1", -1, "campaign"), opt_out]) == []


def test_pain_points_sorted_and_counted() -> None:
    j = journey(
        [
            st("o", 0, "app_open", "app"),
            checkout("c", 1000),
            st("x", 1000, "app_crash", "app"),
            survey("s", 500, "ces", 1),
        ],
        as_of=DAY_MS,
    )
    assert [(p.at_ms - T0, p.kind) for p in j.pain_points] == [
        (500, PainKind.LOW_SCORE),
        (1000, PainKind.ABANDONED_CHECKOUT),
        (1000, PainKind.APP_CRASH_IN_SESSION),
    ]
    counts = pain_counts(j)
    assert set(counts) == {kind.value for kind in PainKind}
    assert counts["abandoned_checkout"] == 1 and counts["low_score"] == 1
    assert counts["slow_support"] == 0
    assert isinstance(j.pain_points[0], PainPoint)


# --- splitting, ids, persons ----------------------------------------------------


def test_split_on_inactivity_gap() -> None:
    steps = [
        st("c", 3 * DAY_MS + 1, "page_view"),
        st("a", 0, "page_view"),
        st("b", 3 * DAY_MS, "page_view"),
        st("d", 6 * DAY_MS + 2, "page_view"),
    ]
    runs = split_journeys(steps, 3 * DAY_MS)
    assert [[s.event_id for s in run] for run in runs] == [["a", "b", "c"], ["d"]]
    assert split_journeys([], DAY_MS) == []


def test_ended_after_gap_of_silence() -> None:
    steps = [st("a", 0, "page_view")]
    assert not journey(steps, as_of=3 * DAY_MS).ended
    assert journey(steps, as_of=3 * DAY_MS + 1).ended


def test_repeated_event_id_counts_once() -> None:
    j = journey([buy("p", 0), buy("p", 0), st("v", 10, "page_view")])
    assert (j.touchpoints, j.purchases, j.revenue) == (2, 1, (("EUR", 10.0),))


def test_journey_id_is_deterministic() -> None:
    first = st("a", 0, "page_view")
    assert journey_id(KEY, first) == journey_id(KEY, first)
    assert re.fullmatch(r"[0-9a-f]{16}", journey_id(KEY, first))  # 8 bytes of blake2b, hex
    assert journey_id(KEY, first) != journey_id("customer_id:c-2", first)
    assert journey([first, st("b", 5, "page_view")]).journey_id == journey_id(KEY, first)


def test_person_journeys_carry_purchases_forward() -> None:
    steps = [
        st("a", 0, "page_view"),
        buy("b", HOUR_MS),
        st("c", 10 * DAY_MS, "page_view"),
        buy("d", 10 * DAY_MS + HOUR_MS),
        st("r", 20 * DAY_MS, "return", "store", order_id="o-b"),
    ]
    first, second, third = person_journeys(KEY, steps, RULES, as_of_ms=T0 + 20 * DAY_MS)
    assert "loyalty" not in dict(first.stages)
    assert dict(second.stages)["loyalty"] == T0 + 10 * DAY_MS + HOUR_MS
    assert pain_counts(third)["return_after_purchase"] == 1
    assert (first.ended, second.ended, third.ended) == (True, True, False)
    assert len({first.journey_id, second.journey_id, third.journey_id}) == 3


def test_build_needs_a_step() -> None:
    with pytest.raises(ValueError):
        build_journey(KEY, [], RULES, as_of_ms=T0, purchased_before=False)


RICH = [
    st("a", 0, "app_open", "app", session_id="s1"),
    st("b", 0, "screen_view", "app", session_id="s1"),
    st("x", MINUTE_MS, "app_crash", "app", session_id="s1"),
    checkout("c", 2 * MINUTE_MS),
    buy("p", 3 * MINUTE_MS, revenue=19.99, currency="EUR"),
    sms("t", 4 * MINUTE_MS, "thank_you"),
    survey("s", 5 * MINUTE_MS, "nps", 3),
    support("o", 6 * MINUTE_MS, "opened", "k"),
    support("ans", 9 * HOUR_MS, "answered", "k"),
    buy("p2", 10 * HOUR_MS, "store", revenue=5.0, currency="USD"),
    st("r", DAY_MS, "return", "store", order_id="o-p"),
    st("out", DAY_MS + 1, "opt_out", "sms"),
    checkout("c2", 5 * DAY_MS),
    st("v", 7 * DAY_MS, "page_view"),
]


@pytest.mark.parametrize("seed", range(30))
def test_order_of_input_does_not_matter(seed: int) -> None:
    shuffled = RICH.copy()
    random.Random(seed).shuffle(shuffled)
    as_of = T0 + 8 * DAY_MS
    assert person_journeys(KEY, shuffled, RULES, as_of_ms=as_of) == person_journeys(
        KEY, RICH, RULES, as_of_ms=as_of
    )
    run = RICH[:12]
    shuffled_run = [s for s in shuffled if s in run]
    assert build_journey(
        KEY, shuffled_run, RULES, as_of_ms=as_of, purchased_before=False
    ) == build_journey(KEY, run, RULES, as_of_ms=as_of, purchased_before=False)


def test_rich_journeys() -> None:
    first, second = person_journeys(KEY, RICH, RULES, as_of_ms=T0 + 8 * DAY_MS)
    assert first.touchpoints == 12 and second.touchpoints == 2
    assert first.revenue == (("EUR", 19.99), ("USD", 5.0))
    assert sorted(pain_counts(first).items()) == sorted(
        {
            "abandoned_checkout": 0,
            "unanswered_support": 0,
            "slow_support": 1,
            "low_score": 1,
            "return_after_purchase": 1,
            "app_crash_in_session": 1,
            "opt_out_after_message": 1,
        }.items()
    )
    assert pain_counts(second)["abandoned_checkout"] == 1
    assert orjson.loads(orjson.dumps(first.pain_points))[0]["kind"] == "app_crash_in_session"


# --- steps: encoding and real touchpoints --------------------------------------


def test_encode_decode_round_trip() -> None:
    steps = [
        buy("p", 0, revenue=19.99, currency="EUR"),
        buy("q", 1, revenue=0.1 + 0.2, currency="USD"),
        survey("s", 2, "nps", 10, about="p"),
        st("v", 3, "page_view", store_id="tehran-04", session_id="x"),
    ]
    decoded = decode_steps(encode_steps(steps))
    assert decoded == steps
    assert all(
        type(a) is type(b)
        for d, s in zip(decoded, steps, strict=True)
        for a, b in zip(d, s, strict=True)
    )
    assert isinstance(orjson.loads(encode_steps(steps))[0], list)
    with pytest.raises(ValueError):
        decode_steps(b'{"a": 1}')


def touchpoint_step(channel: Channel, offset: int, **fields: Any) -> Step:
    event = accept_event(orjson.dumps(fields), channel)
    assert not isinstance(event, Rejection), event
    tp = to_touchpoint(event, channel, (f"cx.{channel.value}", 0, offset), T0, Pseudonymizer(b"k"))
    return step_of(tp)


def test_steps_from_real_touchpoints() -> None:
    who = {"phone": "+989121234567"}
    view = touchpoint_step(
        Channel.WEB,
        0,
        event_id="e-view",
        event_type="product_view",
        occurred_at="2026-11-23T09:00:00+03:30",
        identity=who,
        context={"session_id": "sess-9"},
        properties={"product_id": "sku-1", "score": 3, "revenue": 99},
    )
    sale = touchpoint_step(
        Channel.STORE,
        1,
        event_id="e-sale",
        event_type="pos_purchase",
        occurred_at="2026-11-23T10:00:00+03:30",
        identity=who,
        context={"store_id": "tehran-04"},
        properties={"order_id": "o-1", "revenue": 120, "currency": "irr"},
    )
    rating = touchpoint_step(
        Channel.SMS,
        2,
        event_id="e-nps",
        event_type="survey_response",
        occurred_at="2026-11-23T10:30:00+03:30",
        identity=who,
        properties={
            "survey": "nps",
            "score": 4,
            "dimension": "humanic",
            "about_event_id": "e-sale",
        },
    )
    assert view == Step(
        "e-view",
        epoch_ms(datetime(2026, 11, 23, 5, 30, tzinfo=UTC)),
        "web",
        "product_view",
        "consideration",
        None,
        "sess-9",
    )
    assert sale.store_id == "tehran-04" and sale.order_id == "o-1"
    assert (sale.channel, sale.stage, sale.revenue, sale.currency) == (
        "store",
        "purchase",
        120.0,
        "IRR",
    )
    assert isinstance(sale.revenue, float)
    assert (rating.survey, rating.score, rating.dimension, rating.about_event_id) == (
        "nps",
        4,
        "humanic",
        "e-sale",
    )
    assert decode_steps(encode_steps([view, sale, rating])) == [view, sale, rating]
    j = build_journey(
        KEY, [rating, sale, view], RULES, as_of_ms=rating.occurred_at_ms, purchased_before=False
    )
    assert j.channels == ("web", "store", "sms")
    assert j.time_to_purchase_ms == HOUR_MS
    assert j.surveys[0].rated_event_type == "pos_purchase"
    assert [(p.kind, p.detail) for p in j.pain_points] == [(PainKind.LOW_SCORE, "nps:4:e-sale")]
