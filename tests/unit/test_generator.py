"""The traffic generator: reproducible, realistic, and right about itself."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import timedelta
from statistics import mean

import orjson

from schemas import EVENT_TYPES, SHARED_EVENT_TYPES, Channel, Rejection, validate_event
from streams.dev.generator import TrafficSpec, generate_traffic
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


def test_every_identifier_belongs_to_one_person() -> None:
    owners: dict[tuple[str, str], set[int]] = defaultdict(set)
    for person in population(SPEC):
        for kind, values in person.identifiers().items():
            for value in values:
                owners[(kind, value)].add(person.index)
    assert all(len(people) == 1 for people in owners.values())
