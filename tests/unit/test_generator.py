"""The traffic generator: reproducible, realistic, and right about itself."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import timedelta
from statistics import mean

import orjson

from schemas import EVENT_TYPES, SHARED_EVENT_TYPES, Channel, Rejection, validate_event
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.generator.journeys import COMMENT_BANDS, COMMENTS
from streams.dev.generator.journeys import DAY as DAY_MS
from streams.dev.generator.timeline import MIN_GAP_DAYS, TimelineSpec, in_time_order, timelines
from streams.dev.generator.traffic import population

SPEC = TrafficSpec(people=1500, seed=3)
RECORDS = generate_traffic(SPEC)


def test_same_spec_same_bytes() -> None:
    assert generate_traffic(TrafficSpec(people=100, seed=9)) == generate_traffic(
        TrafficSpec(people=100, seed=9)
    )
    assert generate_traffic(TrafficSpec(people=100, seed=9)) != generate_traffic(
        TrafficSpec(people=100, seed=10)
    )


def test_until_leaves_out_the_records_that_arrive_later() -> None:
    spec = TrafficSpec(people=100, seed=9)
    every = generate_traffic(spec)
    until = spec.start + timedelta(days=5)
    received = generate_traffic(replace(spec, until=until))
    assert 0 < len(received) < len(every)
    assert received == every[: len(received)]  # arrival order: a prefix
    assert max(r.truth.occurred_at_ms for r in received) <= until.timestamp() * 1000


def test_truth_agrees_with_the_contract() -> None:
    for r in RECORDS:
        verdict = validate_event(r.value, r.channel)
        if r.truth.kind == "invalid":
            assert isinstance(verdict, Rejection) and verdict.reason.value == r.truth.reason
        else:
            assert not isinstance(verdict, Rejection) and verdict.event_id == r.truth.event_id


def test_shares_of_invalid_and_duplicate_records() -> None:
    kinds = Counter(r.truth.kind for r in RECORDS)
    valid = kinds["valid"]
    assert 0.02 < kinds["invalid"] / valid < 0.04
    assert 0.01 < kinds["duplicate"] / valid < 0.03
    originals = {r.truth.event_id: r.value for r in RECORDS if r.truth.kind == "valid"}
    assert all(
        originals[r.truth.event_id] == r.value for r in RECORDS if r.truth.kind == "duplicate"
    )


def test_every_event_type_of_every_channel_occurs() -> None:
    seen = defaultdict(set)
    for r in RECORDS:
        if r.truth.kind == "valid":
            seen[r.channel].add(r.truth.event_type)
    for channel in Channel:
        assert EVENT_TYPES[channel] - SHARED_EVENT_TYPES <= seen[channel], channel
    assert set().union(*seen.values()) >= SHARED_EVENT_TYPES


def test_journeys_cross_channels_and_link_identifiers_only_sometimes() -> None:
    channels_per_person = defaultdict(set)
    linking = 0
    valid = [r for r in RECORDS if r.truth.kind == "valid"]
    for r in valid:
        channels_per_person[r.truth.person].add(r.channel)
        if len(orjson.loads(r.value)["identity"]) >= 2:
            linking += 1
    assert mean(len(c) for c in channels_per_person.values()) > 1.8
    assert 0.05 < linking / len(valid) < 0.6


def test_scores_differ_by_channel_and_store() -> None:
    scores = defaultdict(list)
    for r in RECORDS:
        if r.truth.kind == "valid" and r.truth.event_type == "survey_response":
            event = orjson.loads(r.value)
            props = event["properties"]
            scores[(props["survey"], event.get("context", {}).get("store_id"))].append(
                props["score"]
            )
    nps_by_store = {
        store: s
        for (survey, store), s in scores.items()
        if survey == "nps" and store and len(s) >= 8
    }
    assert len(nps_by_store) >= 4
    promoters = {store: sum(x >= 9 for x in s) / len(s) for store, s in nps_by_store.items()}
    assert max(promoters.values()) - min(promoters.values()) > 0.15
    assert {survey for survey, _ in scores} == {"nps", "csat", "ces"}


def test_a_third_of_the_answers_carry_a_comment_worded_as_their_score_felt() -> None:
    valid = [orjson.loads(r.value) for r in RECORDS if r.truth.kind == "valid"]
    answers = [e["properties"] for e in valid if e["event_type"] == "survey_response"]
    commented = [a for a in answers if "comment" in a]
    assert 0.25 < len(commented) / len(answers) < 0.45
    assert {a["survey"] for a in commented} == {"nps", "csat", "ces"}
    for survey, (low, high) in COMMENT_BANDS.items():
        mine = [a for a in commented if a["survey"] == survey]
        assert all(a["comment"] in COMMENTS["low"] for a in mine if a["score"] <= low)
        assert all(a["comment"] in COMMENTS["high"] for a in mine if a["score"] >= high)
    assert len({a["comment"] for a in commented}) > 6
    others = [e for e in valid if e["event_type"] != "survey_response"]
    assert not any("comment" in e.get("properties", {}) for e in others)


def test_every_identifier_belongs_to_one_person() -> None:
    owners: dict[tuple[str, str], set[int]] = defaultdict(set)
    for person in population(SPEC):
        for kind, values in person.identifiers().items():
            for value in values:
                owners[(kind, value)].add(person.index)
    assert all(len(people) == 1 for people in owners.values())


def test_first_person_moves_the_population_and_nothing_else() -> None:
    spec = TrafficSpec(people=50, seed=9)
    assert population(replace(spec, first_person=0)) == population(spec)
    later = population(replace(spec, first_person=50))
    assert [p.index for p in later] == list(range(50, 100))
    first = {v for p in population(spec) for vs in p.identifiers().values() for v in vs}
    assert {v for p in later for vs in p.identifiers().values() for v in vs}.isdisjoint(first)
    records = generate_traffic(replace(spec, first_person=50))
    assert {r.truth.person for r in records} <= set(range(50, 100))


TIMELINE = TimelineSpec(people=40, events=60, anchor_event=50, seed=4)
TIMELINES = timelines(TIMELINE)


def test_a_timeline_is_exactly_its_events_in_time_order_around_the_anchor() -> None:
    assert len(TIMELINES) == 40 and {len(t) for t in TIMELINES} == {60}
    anchor_ms = TIMELINE.anchor.timestamp() * 1000
    for person, timeline in enumerate(TIMELINES):
        times = [r.truth.occurred_at_ms for r in timeline]
        assert times == sorted(times)
        assert {r.truth.person for r in timeline} == {person}
        assert anchor_ms <= times[50] < anchor_ms + TIMELINE.span_days * DAY_MS
        # Journeys one after the other, days to weeks apart.
        assert times[50] - times[0] > MIN_GAP_DAYS * DAY_MS
    spans = [t[50].truth.occurred_at_ms - t[0].truth.occurred_at_ms for t in TIMELINES]
    assert mean(spans) > 30 * DAY_MS
    assert timelines(TIMELINE) == TIMELINES  # same spec, same records
    every = [r for t in TIMELINES for r in t]
    assert len({r.truth.event_id for r in every}) == len(every)
    for r in every:
        assert r.truth.kind == "valid"
        verdict = validate_event(r.value, r.channel)
        assert not isinstance(verdict, Rejection) and verdict.event_id == r.truth.event_id


def test_histories_of_any_length_are_followed_by_the_same_events() -> None:
    live = in_time_order(TIMELINES, 50, 60)
    short, long = in_time_order(TIMELINES, 46, 50), in_time_order(TIMELINES, 0, 50)
    assert len(live) == 400 and len(short) == 160 and len(long) == 2000
    assert short == [r for r in long if r in set(short)]  # the end of each person's history
    for sent in (short, long, live):
        times = [r.truth.occurred_at_ms for r in sent]
        assert times == sorted(times)
    # Each person's live events come after their history, in either case.
    last = {r.truth.person: r.truth.occurred_at_ms for r in long}
    assert all(r.truth.occurred_at_ms > last[r.truth.person] for r in live)
    # The people are the traffic generator's of the same seed.
    assert population(TrafficSpec(people=40, seed=4))[7].index == 7


def test_a_share_of_people_act_for_business_accounts() -> None:
    people = population(SPEC)
    with_accounts = [p for p in people if p.b2b_accounts]
    assert 0.1 < len(with_accounts) / len(people) < 0.2
    assert 0.2 < sum(len(p.b2b_accounts) == 2 for p in with_accounts) / len(with_accounts) < 0.4
    per_account = Counter(a for p in with_accounts for a in p.b2b_accounts)
    assert len(per_account) == round(SPEC.people * 0.15 / 6) and min(per_account.values()) >= 2
    assert all(len(set(p.b2b_accounts)) == len(p.b2b_accounts) for p in with_accounts)


def test_events_carry_the_account_their_person_acts_for() -> None:
    accounts = {p.index: p.b2b_accounts for p in population(SPEC)}
    carried: dict[int, set[str]] = defaultdict(set)
    for r in RECORDS:
        if r.truth.kind != "valid":
            continue
        context = orjson.loads(r.value).get("context", {})
        account = context.get("b2b_account_id")
        assert r.truth.person is not None
        if account is None:
            own = r.channel is Channel.SMS and not r.truth.event_type.startswith("support_")
            assert (own and r.truth.event_type != "survey_response") or not accounts[r.truth.person]
            continue
        assert account in accounts[r.truth.person]
        carried[r.truth.person].add(account)
    assert {p for p, a in accounts.items() if a} == set(carried)
    assert sum(len(a) == 2 for a in carried.values()) >= 10  # both accounts of a person


def test_accounts_leave_every_other_field_of_the_traffic_as_it_was() -> None:
    """The same records with the account taken out, as without accounts (the
    population's accounts emptied)."""
    import streams.dev.generator.traffic as traffic

    spec = TrafficSpec(people=200, seed=9)

    def without_accounts(records: list[GeneratedRecord]) -> list[bytes]:
        """The bytes with the account taken out (the last key of the
        context: alone, or after others), invalid records included."""
        alone = re.compile(rb',?"context":\{"b2b_account_id":"acct-\d{4}"\}')
        after = re.compile(rb',"b2b_account_id":"acct-\d{4}"')
        return [after.sub(b"", alone.sub(b"", r.value)) for r in records]

    with_accounts = generate_traffic(spec)
    plain = population(spec)
    original = traffic.population
    traffic.population = lambda s: [replace(p, b2b_accounts=()) for p in plain]  # type: ignore[assignment]
    try:
        none = generate_traffic(spec)
    finally:
        traffic.population = original
    assert [r.value for r in none] == without_accounts(with_accounts)
    assert [r.truth for r in none] == [r.truth for r in with_accounts]
