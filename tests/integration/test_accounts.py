"""The B2B account views on the real engine (chdb), against an oracle
computed here by plain Python from the generated events: generated traffic
(a share of its people act for business accounts) through ingest, the
identity graph and the journey fold, stored as the sinks store it, no
Kafka. Every number of `account_people`, `account_scores_daily` and
`account_summary` is compared, and `cx accounts` prints them."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas import Channel
from streams.alerts import stats
from streams.clickhouse.client import Store
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.generator.live import event
from streams.dev.generator.traffic import weeks_ago
from streams.reports.accounts import accounts, render_accounts
from tests import journey_oracle as oracle
from tests.integration.harness import migrated_copy
from tests.integration.test_metrics import expected_churn
from tests.pure_store import store_journeys, store_traffic

SECRET = "accounts"
# Six weeks back: the last touchpoints fall within the last 30 days, the
# first ones before, and all within the 90 days churn risk looks at.
SPEC = TrafficSpec(people=240, seed=29, start=weeks_ago(6))
HOUR = 3_600_000
DAY = 24 * HOUR
Z = stats.Z_95


@dataclass
class World:
    now_ms: int
    events: list[oracle.Seen] = field(default_factory=list)
    account_of: dict[str, str] = field(default_factory=dict)
    """event id -> the account the event carried (only those that did)."""
    amounts: dict[str, tuple[str, Decimal]] = field(default_factory=dict)
    """event id -> currency and revenue of a purchase."""


def slow_contact(at_ms: int) -> list[GeneratedRecord]:
    """A support contact an account's person waited three hours for (the
    generator's first answers are seldom that slow)."""
    contact = {"contact_id": "case-slow"}
    fields: dict[str, Any] = {
        "identity": {"customer_id": "C-B2B-1"},
        "context": {"b2b_account_id": "acct-0001"},
    }
    return [
        event(Channel.WEB, "support_contact_opened", at_ms, properties=contact, **fields),
        event(
            Channel.WEB, "support_contact_answered", at_ms + 3 * HOUR, properties=contact, **fields
        ),
    ]


def build(store: Store) -> World:
    """The generated traffic stored as the pipeline stores it: touchpoints
    under the person known when written, the identity map that stitches
    them, and the journeys of every person as they are now."""
    now_ms = int(time.time() * 1000)
    generated = generate_traffic(SPEC) + slow_contact(now_ms - 20 * DAY)
    stored = store_traffic(store, generated, received_at_ms=now_ms, secret=SECRET.encode())
    store_journeys(store, stored, now_ms)

    world = World(now_ms, oracle.read(generated, SECRET))
    for g in generated:
        if g.truth.kind != "valid":
            continue
        event = orjson.loads(g.value)
        account = event.get("context", {}).get("b2b_account_id")
        if account:
            world.account_of[event["event_id"]] = account
        props = event.get("properties", {})
        if event["event_type"] in ("purchase", "pos_purchase"):
            amount = Decimal(str(props["revenue"])).quantize(Decimal("0.0001"))
            world.amounts[event["event_id"]] = (props["currency"], amount)
    return world


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: Path
) -> Iterator[tuple[Store, World]]:
    store = migrated_copy(migrated_template, tmp_path_factory.mktemp("accounts") / "clickhouse")
    try:
        yield store, build(store)
    finally:
        store.close()


def rows_of(store: Store, view: str) -> list[dict[str, Any]]:
    return list(store.client.query(f"SELECT * FROM {store.database}.{view}").named_results())


# --- the oracle -----------------------------------------------------------------


def day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()


def interval(survey: str, counts: Counter[str], n: int) -> tuple[float, float, float]:
    """Score and 95% interval as the alerts compute them, clipped to the scale."""
    if survey == "nps":
        e = stats.nps(counts["promoters"], counts["detractors"], n)
        return (
            round(e.value, 2),
            round(max(-100.0, e.value - Z * e.standard_error), 2),
            round(min(100.0, e.value + Z * e.standard_error), 2),
        )
    if survey == "csat":
        low, high = stats.wilson(counts["satisfied"], n)
        return round(100 * counts["satisfied"] / n, 2), round(low, 2), round(high, 2)
    e = stats.mean(counts["ces_sum"], counts["ces_sum_squares"], n)
    return (
        round(e.value, 3),
        round(max(1.0, e.value - Z * e.standard_error), 3),
        round(min(7.0, e.value + Z * e.standard_error), 3),
    )


def tally(scores: list[int], survey: str) -> Counter[str]:
    return Counter(
        responses=len(scores),
        promoters=sum(survey == "nps" and s >= 9 for s in scores),
        passives=sum(survey == "nps" and 7 <= s <= 8 for s in scores),
        detractors=sum(survey == "nps" and s <= 6 for s in scores),
        satisfied=sum(survey == "csat" and s >= 4 for s in scores),
        ces_sum=sum(s for s in scores if survey == "ces"),
        ces_sum_squares=sum(s * s for s in scores if survey == "ces"),
        ces_easy=sum(survey == "ces" and s >= 5 for s in scores),
    )


def expected_scores(w: World) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    answers: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    for e in w.events:
        if e.event_type == "survey_response" and e.event_id in w.account_of:
            key = (w.account_of[e.event_id], day_of(e.at), e.channel, e.properties["survey"])
            answers[key].append(e.properties["score"])
    result = {}
    for key, scores in answers.items():
        counts = tally(scores, key[3])
        score, low, high = interval(key[3], counts, len(scores))
        result[key] = {**counts, "score": score, "score_ci_low": low, "score_ci_high": high}
    return result


def expected_members(w: World) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(account, person now) -> touchpoints carrying the account, first and
    last event time (ms)."""
    keys = oracle.people(w.events)
    members: dict[tuple[str, str], list[int]] = {}
    for e in w.events:
        if e.event_id in w.account_of:
            key = (w.account_of[e.event_id], keys[e.identifiers[0]])
            row = members.setdefault(key, [0, e.at, e.at])
            row[0] += 1
            row[1], row[2] = min(row[1], e.at), max(row[2], e.at)
    return {key: (n, a, b) for key, (n, a, b) in members.items()}


def expected_support(w: World) -> dict[str, Counter[str]]:
    """account -> contacts, open and slow, per journey as the journeys hold
    them, each under the account of the touchpoint that opened it."""
    keys = oracle.people(w.events)
    result: dict[str, Counter[str]] = defaultdict(Counter)
    for group in oracle.by_person(w.events, keys).values():
        for run in oracle.runs(group):
            for c in oracle.contacts(run).values():
                e = c.opened
                if e.event_id not in w.account_of:
                    continue
                row = result[w.account_of[e.event_id]]
                row["support_contacts"] += 1
                row["open_support_contacts"] += c.answered_at is None and c.resolved_at is None
                answered_at = e.at if c.answered_at is None else c.answered_at
                row["slow_support_contacts"] += answered_at - e.at > 2 * HOUR
    return result


def expected_summary(w: World) -> dict[str, dict[str, Any]]:
    members = expected_members(w)
    churn = expected_churn(w.events, w.now_ms)
    support = expected_support(w)
    keys = oracle.people(w.events)
    result: dict[str, dict[str, Any]] = {}
    for account in sorted({a for a, _ in members}):
        people = {p for a, p in members if a == account}
        own = [e for e in w.events if w.account_of.get(e.event_id) == account]
        revenue: dict[str, Decimal] = defaultdict(Decimal)
        for e in own:
            if e.event_id in w.amounts:
                currency, amount = w.amounts[e.event_id]
                revenue[currency] += amount
        row: dict[str, Any] = {
            "people": len(people),
            "active_people_30d": len(
                {keys[e.identifiers[0]] for e in own if e.at >= w.now_ms - 30 * DAY}
            ),
            "first_seen": min(e.at for e in own),
            "last_seen": max(e.at for e in own),
            "touchpoints": len(own),
            "purchases": sum(e.event_type in ("purchase", "pos_purchase") for e in own),
            "revenue": dict(revenue),
        }
        for survey in ("nps", "csat", "ces"):
            scores = [
                e.properties["score"]
                for e in own
                if e.event_type == "survey_response" and e.properties["survey"] == survey
            ]
            row[f"{survey}_responses"] = len(scores)
            score, low, high = (
                interval(survey, tally(scores, survey), len(scores)) if scores else (None,) * 3
            )
            row |= {survey: score, f"{survey}_ci_low": low, f"{survey}_ci_high": high}
        for name in ("support_contacts", "open_support_contacts", "slow_support_contacts"):
            row[name] = support[account][name]
        risks = [churn[p] for p in people if p in churn]
        high = sum(r >= 5 for r in risks)
        mean = round(sum(risks) / len(risks), 2) if risks else None
        row |= {
            "people_scored": len(risks),
            "people_high_risk": high,
            "people_medium_risk": sum(2 <= r < 5 for r in risks),
            "high_risk_share_pct": round(100 * high / len(risks), 2) if risks else None,
            "account_risk_score": mean,
            "account_risk": ""
            if mean is None
            else "high"
            if mean >= 5
            else "medium"
            if mean >= 2
            else "low",
        }
        result[account] = row
    return result


# --- the tests ------------------------------------------------------------------


def ms(value: datetime) -> int:
    return round(value.replace(tzinfo=UTC).timestamp() * 1000)


def test_the_generated_traffic_has_accounts_with_several_people(
    world: tuple[Store, World],
) -> None:
    _, w = world
    members = expected_members(w)
    per_account = Counter(a for a, _ in members)
    per_person = Counter(p for _, p in members)
    assert len(per_account) >= 4 and max(per_account.values()) >= 3
    assert max(per_person.values()) == 2  # someone acts for two accounts
    assert any(e.event_id not in w.account_of for e in w.events)


def test_account_people_is_the_oracles(world: tuple[Store, World]) -> None:
    store, w = world
    stored = {
        (r["account_id"], r["customer_key"]): (
            r["touchpoints"],
            ms(r["first_seen"]),
            ms(r["last_seen"]),
        )
        for r in rows_of(store, "account_people")
    }
    assert stored == expected_members(w)


def test_account_scores_daily_is_the_oracles(world: tuple[Store, World]) -> None:
    store, w = world
    expected = expected_scores(w)
    stored = {
        (r["account_id"], r["day"].isoformat(), r["channel"], r["survey"]): r
        for r in rows_of(store, "account_scores_daily")
    }
    assert stored.keys() == expected.keys()
    assert {s for *_, s in stored} == {"nps", "csat", "ces"}
    for key, want in expected.items():
        got = stored[key]
        for name, value in want.items():
            assert got[name] == pytest.approx(value, abs=0.011), (key, name)
        assert got["score"] == want["score"], key


def test_account_summary_is_the_oracles(world: tuple[Store, World]) -> None:
    store, w = world
    expected = expected_summary(w)
    stored = {r.pop("account_id"): r for r in rows_of(store, "account_summary")}
    assert stored.keys() == expected.keys()
    for account, want in expected.items():
        got = dict(stored[account])
        got["first_seen"], got["last_seen"] = ms(got["first_seen"]), ms(got["last_seen"])
        assert got["revenue"] == want.pop("revenue"), account
        for name, value in want.items():
            if value is None or isinstance(value, str) or name.endswith(("_ci_low", "_ci_high")):
                assert got[name] == pytest.approx(value, abs=0.011), (account, name)
            else:
                assert got[name] == value, (account, name)
    totals = Counter[str]()
    for row in stored.values():
        for name in ("support_contacts", "slow_support_contacts", "people_high_risk"):
            totals[name] += row[name]
    assert all(totals.values()), totals  # the comparison above covered some of each


def test_cx_accounts_prints_the_top_accounts(world: tuple[Store, World]) -> None:
    store, w = world
    expected = expected_summary(w)
    data = accounts(store, top=3)
    top = sorted(expected, key=lambda a: (-expected[a]["people"], -expected[a]["touchpoints"], a))
    assert [a["account_id"] for a in data["accounts"]] == top[:3]
    text = render_accounts(data)
    assert all(a in text for a in top[:3]) and top[3] not in text
    one = accounts(store, top=10, account=top[3])
    assert [a["account_id"] for a in one["accounts"]] == [top[3]]
    orjson.dumps(one)  # what the worker answers
    assert "no account" in render_accounts(accounts(store, top=10, account="acct-none"))
