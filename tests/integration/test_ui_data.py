"""The web UI's JSON endpoints (streams/web/api.py) on the real engine
(chdb), against an oracle computed here by plain Python from the generated
events: generated traffic (with business accounts) through ingest, the
identity graph and the journey fold, stored as the sinks store it, no Kafka
(tests/integration/test_accounts.py builds it). Every endpoint's `read`
answer is compared: the overview's scores and volume by channel and store,
the journey map's funnel, flows, scores and pain points per stage under
the segment, B2B, channel and store filters (a store: the journeys with a
touchpoint there), the latest survey comments per stage with the
touchpoint they rate (and nothing naming the person), support response
times, alert notices, and a person's journeys with the channel of each
stage."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import orjson
import pytest

from schemas import stage_of
from streams.alerts.stage import alert_columns
from streams.clickhouse.client import Store
from streams.clickhouse.migrate import migrate
from streams.runtime.settings import Settings
from streams.web.api import Endpoint, endpoints
from tests import journey_oracle as oracle
from tests.integration.test_accounts import SPEC, World, build, interval, tally
from tests.unit.test_alert_formats import every_kind

STAGES = ("awareness", "consideration", "purchase", "post_purchase", "loyalty")
NOT_RATED = ("survey_response", "sms_sent", "sms_delivered")
SURVEYS = ("nps", "csat", "ces")
FIRST_DAY = SPEC.start.date() - timedelta(days=1)
EVERYTHING = {"from": FIRST_DAY.isoformat(), "to": date.today().isoformat()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, World]]:
    store = Store(f"chdb://{tmp_path_factory.mktemp('ui') / 'clickhouse'}", "cx_test")
    try:
        migrate(store)
        yield store, build(store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def api() -> dict[str, Endpoint[Any]]:
    return dict(endpoints(Settings(pii_secret="accounts")))


def ask(api: dict[str, Endpoint[Any]], db: Store, name: str, **query: str) -> dict[str, Any]:
    endpoint = api[name]
    return endpoint.read(db, endpoint.parse(query))


def day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def stage(e: oracle.Seen) -> str | None:
    found = stage_of(e.event_type, e.properties.get("message_kind"))
    return None if found is None else found.value


# --- the oracle: journeys as the views should see them --------------------------


@dataclass
class Journey:
    day: date
    first_channel: str
    segment: str
    b2b: bool
    converted: bool
    reached: dict[str, str] = field(default_factory=dict)
    """stage -> channel it was first reached on, in order of first reach."""
    answers: list[tuple[date, str, str, int]] = field(default_factory=list)
    """(day, rated stage or '', survey, score)."""
    pains: list[tuple[date, str, str]] = field(default_factory=list)
    """(day, stage or '', kind)."""
    contacts: list[tuple[str, int, int | None, int | None]] = field(default_factory=list)
    """(channel, opened at, first answer ms, resolution ms)."""
    stores: set[str] = field(default_factory=set)
    """The stores its touchpoints carried."""
    comments: list[Comment] = field(default_factory=list)


@dataclass(frozen=True)
class Comment:
    """A survey answer's comment as the comments endpoint should give it."""

    at: int
    event_id: str
    stage: str
    survey: str
    score: int
    comment: str
    channel: str
    store_id: str
    touchpoint: dict[str, str] | None


def journeys(w: World) -> list[Journey]:
    """Every journey of every person (stitched by union-find), from the
    documented definitions: segment by the person's earlier journeys, B2B
    when a touchpoint carried an account, stages with their channel, answers
    with the stage they rate, pain points with the stage where it hurt."""
    found = []
    for group in oracle.by_person(w.events, oracle.people(w.events)).values():
        bought_before = False
        for index, run in enumerate(oracle.runs(group)):
            segment = "new" if index == 0 else "customer" if bought_before else "returning"
            j = Journey(
                day_of(run[0].at),
                run[0].channel,
                segment,
                any(e.event_id in w.account_of for e in run),
                any(e.event_type in ("purchase", "pos_purchase") for e in run),
            )
            _fill(j, run, bought_before)
            found.append(j)
            bought_before = bought_before or j.converted
    return found


def _fill(j: Journey, run: list[oracle.Seen], bought_before: bool) -> None:
    by_id = {e.event_id: e for e in run}
    bought, latest = bought_before, None
    rated: dict[str, str] = {}
    j.stores = {e.store_id for e in run if e.store_id}
    for e in run:
        if (s := stage(e)) is not None:
            j.reached.setdefault(s, e.channel)
        if e.event_type in ("purchase", "pos_purchase"):
            if bought:
                j.reached.setdefault("loyalty", e.channel)
            bought = True
        if e.event_type == "survey_response":
            about = by_id.get(e.properties.get("about_event_id") or "") or latest
            rated[e.event_id] = (stage(about) or "") if about else ""
            j.answers.append(
                (day_of(e.at), rated[e.event_id], e.properties["survey"], e.properties["score"])
            )
            if e.properties.get("comment"):
                j.comments.append(_comment(e, rated[e.event_id], about))
        elif stage(e) is not None and e.event_type not in NOT_RATED:
            latest = e
    for kind, e in oracle.pain_events(run, bought_before):
        if kind == "low_score":
            where = rated[e.event_id]
        elif kind == "opt_out_after_message":
            sent = [o for o in run if o.event_type == "sms_sent" and o.at <= e.at][-1]
            where = stage(sent) or ""
        else:
            where = stage(e) or ""
        j.pains.append((day_of(e.at), where, kind))
    for c in oracle.contacts(run).values():
        e, answer, resolve = c.opened, c.answered_at, c.resolved_at
        j.contacts.append(
            (
                e.channel,
                e.at,
                None if answer is None else max(0, answer - e.at),
                None if resolve is None else max(0, resolve - e.at),
            )
        )


def _comment(e: oracle.Seen, stage_: str, about: oracle.Seen | None) -> Comment:
    return Comment(
        e.at,
        e.event_id,
        stage_,
        e.properties["survey"],
        e.properties["score"],
        e.properties["comment"],
        e.channel,
        e.store_id,
        None
        if about is None
        else {"event_type": about.event_type, "channel": about.channel, "store_id": about.store_id},
    )


def score_of(survey: str, scores: list[int]) -> dict[str, Any]:
    if not scores:
        return {"n": 0, "score": None, "ci_low": None, "ci_high": None}
    value, low, high = interval(survey, tally(scores, survey), len(scores))
    return {"n": len(scores), "score": value, "ci_low": low, "ci_high": high}


def scores_of(answers: list[tuple[str, int]]) -> dict[str, Any]:
    return {s: score_of(s, [a for survey, a in answers if survey == s]) for s in SURVEYS}


def expected_map(all_journeys: list[Journey], keep: Callable[[Journey], bool], days: range) -> Any:
    """The journey map's stages and flows for the journeys `keep` selects,
    begun (answers, pain points: given) on a day in `days` (ordinals)."""
    chosen = [j for j in all_journeys if keep(j)]
    begun = [j for j in chosen if j.day.toordinal() in days]
    reached = {s: sum(s in j.reached for j in begun) for s in STAGES}
    by_channel = {s: Counter(j.reached[s] for j in begun if s in j.reached) for s in STAGES}
    links: Counter[tuple[str, str]] = Counter()
    entered: Counter[str] = Counter()
    returned = 0
    for j in begun:
        order = list(j.reached.items())
        if order:
            entered[f"{order[0][0]} · {order[0][1]}"] += 1
        for (a, ca), (b, cb) in pairwise(order):
            if STAGES.index(b) > STAGES.index(a):
                links[(f"{a} · {ca}", f"{b} · {cb}")] += 1
            else:
                returned += 1
    answers = defaultdict(list)
    pains: dict[str, Counter[str]] = defaultdict(Counter)
    for j in chosen:
        for day, where, survey, value in j.answers:
            if day.toordinal() in days:
                answers[where].append((survey, value))
        for day, where, kind in j.pains:
            if day.toordinal() in days:
                pains[where][kind] += 1
    stages = []
    for i, s in enumerate(STAGES):
        before = reached[STAGES[i - 1]] if i else None
        # journeys that reached the stage before and this one, in either order
        both = sum(s in j.reached and STAGES[i - 1] in j.reached for j in begun) if i else 0
        stages.append(
            {
                "stage": s,
                "journeys": len(begun),
                "reached": reached[s],
                "conversion": None if not before else round(both / before, 4),
                "drop_off": None if before is None else before - both,
                "joined": None if before is None else reached[s] - both,
                "by_channel": dict(by_channel[s]),
                "scores": scores_of(answers[s]),
                "pain_points": sorted(
                    ({"pain_point": k, "count": n} for k, n in pains[s].items()),
                    key=lambda p: (-p["count"], p["pain_point"]),
                ),
            }
        )
    return {
        "journeys": len(begun),
        "converted": sum(j.converted for j in begun),
        "stages": stages,
        "unstaged": scores_of(answers[""]),
        "links": dict(links),
        "entered": dict(entered),
        "returned": returned,
    }


STAGE_KEYS = (
    "stage",
    "journeys",
    "reached",
    "conversion",
    "drop_off",
    "joined",
    "by_channel",
    "scores",
    "pain_points",
)


def compared(got: dict[str, Any]) -> Any:
    """The journey map's answer in the oracle's shape."""
    return {
        "journeys": got["journeys"],
        "converted": got["converted"],
        "stages": [{k: s[k] for k in STAGE_KEYS} for s in got["stages"]],
        "unstaged": got["unstaged"]["scores"],
        "links": {(ln["source"], ln["target"]): ln["value"] for ln in got["flows"]["links"]},
        "entered": {n["name"]: n["entered"] for n in got["flows"]["nodes"] if n["entered"]},
        "returned": got["flows"]["returned"],
    }


def ordinals(first: date, last: date) -> range:
    return range(first.toordinal(), last.toordinal() + 1)


ALL_DAYS = ordinals(FIRST_DAY, date.today())
BUSIEST = "tehran-04"
"""The store most journeys touched in the generated traffic (checked below)."""


# --- the tests ------------------------------------------------------------------


def test_the_journey_map_equals_the_oracle_unfiltered(
    world: tuple[Store, World], api: dict[str, Endpoint[Any]]
) -> None:
    store, w = world
    got = ask(api, store, "journey-map", **EVERYTHING)
    expected = expected_map(journeys(w), lambda j: True, ALL_DAYS)
    assert got["journeys"] > 400 and got["stages"][2]["reached"] > 50  # a real funnel
    assert got["flows"]["returned"] > 0 and got["unstaged"]["scores"]["nps"]["n"] > 0
    # some journeys reach a stage without the one before: conversion still at most 1
    assert any(s["joined"] for s in got["stages"][1:])
    assert all(s["conversion"] is None or s["conversion"] <= 1 for s in got["stages"])
    assert compared(got) == expected
    # every node is reached on its channel as many times as by_channel says
    for node in got["flows"]["nodes"]:
        stage_ = next(s for s in got["stages"] if s["stage"] == node["stage"])
        assert stage_["by_channel"][node["channel"]] == node["journeys"]


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ({"segment": "new"}, lambda j: j.segment == "new"),
        ({"segment": "customer", "b2b": "false"}, lambda j: j.segment == "customer" and not j.b2b),
        ({"segment": "returning"}, lambda j: j.segment == "returning"),
        ({"b2b": "true", "channel": "web"}, lambda j: j.b2b and j.first_channel == "web"),
        ({"channel": "store"}, lambda j: j.first_channel == "store"),
        ({"store": BUSIEST}, lambda j: BUSIEST in j.stores),
        (
            {"store": BUSIEST, "segment": "new"},
            lambda j: BUSIEST in j.stores and j.segment == "new",
        ),
        ({"store": "nowhere-01"}, lambda j: False),
    ],
)
def test_the_journey_map_under_filters_equals_the_oracle(
    world: tuple[Store, World],
    api: dict[str, Endpoint[Any]],
    query: dict[str, str],
    keep: Callable[[Journey], bool],
) -> None:
    store, w = world
    got = ask(api, store, "journey-map", **EVERYTHING, **query)
    expected = expected_map(journeys(w), keep, ALL_DAYS)
    assert expected["journeys"] > 0 or query["store"] == "nowhere-01"
    assert compared(got) == expected
    assert got["filters"]["store"] == query.get("store", "")


def test_a_store_takes_the_journeys_with_a_touchpoint_there(world: tuple[Store, World]) -> None:
    """The oracle's store is a real one: most journeys touch no store, some
    touch it and others, and the store views never sum across stores."""
    store, w = world
    all_journeys = journeys(w)
    touched = Counter(s for j in all_journeys for s in j.stores)
    assert touched.most_common(1)[0][0] == BUSIEST
    assert 15 < touched[BUSIEST] < len(all_journeys) / 4
    assert any(len(j.stores) > 1 for j in all_journeys)  # a journey at two stores
    ((stores,),) = store.client.query(
        "SELECT uniqExact(store_id) FROM cx_test.store_funnel_daily"
    ).result_rows
    assert stores == len({s for j in all_journeys for s in j.stores})


def test_a_range_of_days_takes_journeys_begun_and_answers_given_in_it(
    world: tuple[Store, World], api: dict[str, Endpoint[Any]]
) -> None:
    store, w = world
    first = SPEC.start.date() + timedelta(days=10)
    last = first + timedelta(days=6)
    got = ask(api, store, "journey-map", **{"from": first.isoformat(), "to": last.isoformat()})
    expected = expected_map(journeys(w), lambda j: True, ordinals(first, last))
    assert 0 < expected["journeys"] < len(journeys(w))
    assert compared(got) == expected
    assert (got["from"], got["to"]) == (
        f"{first}T00:00:00Z",
        f"{last + timedelta(days=1)}T00:00:00Z",
    )


def expected_comments(
    all_journeys: list[Journey], keep: Callable[[Journey], bool], limit: int, stage_: str | None
) -> dict[str, Any]:
    """The comments endpoint's `stages` and `unstaged` for the journeys
    `keep` selects: the latest `limit` per stage, newest first."""
    found: dict[str, list[Comment]] = defaultdict(list)
    for j in all_journeys:
        if keep(j):
            for c in j.comments:
                found[c.stage].append(c)

    def section(name: str) -> dict[str, Any]:
        mine = sorted(found[name], key=lambda c: (-c.at, c.event_id))
        return {
            "comments": len(mine),
            "latest": [
                {
                    "at": c.at,
                    "survey": c.survey,
                    "score": c.score,
                    "comment": c.comment,
                    "channel": c.channel,
                    "store_id": c.store_id,
                    "touchpoint": c.touchpoint,
                }
                for c in mine[:limit]
            ],
        }

    asked = STAGES if stage_ is None else [s for s in STAGES if s == stage_]
    return {
        "stages": [{"stage": s, **section(s)} for s in asked],
        "unstaged": section("") if stage_ in (None, "") else None,
    }


def comments_ms(got: dict[str, Any]) -> dict[str, Any]:
    """The answer's `stages` and `unstaged`, each time in epoch ms."""

    def ms(section: dict[str, Any]) -> dict[str, Any]:
        return {
            **section,
            "latest": [
                {**c, "at": round(datetime.fromisoformat(c["at"]).timestamp() * 1000)}
                for c in section["latest"]
            ],
        }

    return {
        "stages": [ms(s) for s in got["stages"]],
        "unstaged": None if got["unstaged"] is None else ms(got["unstaged"]),
    }


@pytest.mark.parametrize(
    ("query", "keep", "stage_"),
    [
        ({"limit": "100"}, lambda j: True, None),
        ({"store": BUSIEST}, lambda j: BUSIEST in j.stores, None),
        ({"segment": "new", "stage": "purchase", "limit": "3"}, lambda j: j.segment == "new", "purchase"),
        ({"channel": "app", "stage": "none"}, lambda j: j.first_channel == "app", ""),
    ],
)  # fmt: skip
def test_the_comments_per_stage_equal_the_oracle(
    world: tuple[Store, World],
    api: dict[str, Endpoint[Any]],
    query: dict[str, str],
    keep: Callable[[Journey], bool],
    stage_: str | None,
) -> None:
    store, w = world
    got = ask(api, store, "comments", **EVERYTHING, **query)
    limit = int(query.get("limit", "10"))
    expected = expected_comments(journeys(w), keep, limit, stage_)
    shown = [c for s in expected["stages"] for c in s["latest"]]
    assert shown or query.get("stage") == "none"
    assert comments_ms(got) == expected
    text = orjson.dumps(got).decode()
    people = {i.partition(":")[2] for e in w.events for i in e.identifiers}
    assert not [p for p in people if p in text]  # nobody's identifier
    assert not [e.event_id for e in w.events if e.event_id in text]


def test_comments_follow_the_days_they_were_given(
    world: tuple[Store, World], api: dict[str, Endpoint[Any]]
) -> None:
    store, w = world
    every = [c for j in journeys(w) for c in j.comments]
    assert len(every) > 15 and {c.stage for c in every} > {"purchase", "post_purchase"}
    first = SPEC.start.date() + timedelta(days=3)
    last = first + timedelta(days=2)
    got = ask(api, store, "comments", limit="100", **{"from": str(first), "to": str(last)})
    inside = [c for c in every if first <= day_of(c.at) <= last]
    assert 0 < len(inside) < len(every)
    counted = sum(s["comments"] for s in got["stages"]) + got["unstaged"]["comments"]
    assert counted == len(inside)


def test_support_response_times_equal_the_oracle(
    world: tuple[Store, World], api: dict[str, Endpoint[Any]]
) -> None:
    store, w = world
    got = ask(api, store, "journey-map", **EVERYTHING)["response_times"]
    contacts = [c for j in journeys(w) for c in j.contacts]
    expected = []
    for channel in sorted({c[0] for c in contacts}):
        mine = [c for c in contacts if c[0] == channel]
        answers = [c[2] for c in mine if c[2] is not None]
        resolutions = [c[3] for c in mine if c[3] is not None]
        expected.append(
            {
                "channel": channel,
                "contacts": len(mine),
                "answered": len(answers),
                "resolved": len(resolutions),
                "first_answer_mean_seconds": round(sum(answers) / len(answers) / 1000, 3)
                if answers else None,
                "resolution_mean_seconds": round(sum(resolutions) / len(resolutions) / 1000, 3)
                if resolutions else None,
            }
        )  # fmt: skip
    assert len(expected) >= 2 and got["by_channel"] == expected
    per_day: dict[tuple[str, str], list[int]] = defaultdict(list)
    for channel, opened, answer, _ in contacts:
        if answer is not None:
            per_day[(day_of(opened).isoformat(), channel)].append(answer)
    for row in got["daily"]:
        answers = sorted(per_day.get((row["day"], row["channel"]), []))
        assert row["answered"] == len(answers)
        if answers:  # quantileExact: the element at floor(level * n)
            assert row["first_answer_p50_seconds"] == answers[len(answers) // 2] / 1000
            assert row["first_answer_p90_seconds"] == answers[math.floor(0.9 * len(answers))] / 1000
    assert sum(row["contacts"] for row in got["daily"]) == len(contacts)


def test_the_overview_equals_the_oracle_by_channel_and_store(
    world: tuple[Store, World], api: dict[str, Endpoint[Any]]
) -> None:
    store, w = world
    got = ask(api, store, "overview", **EVERYTHING)
    answers = [e for e in w.events if e.event_type == "survey_response"]
    for survey in SURVEYS:
        mine = [e for e in answers if e.properties["survey"] == survey]
        scores = [e.properties["score"] for e in mine]
        section = got["surveys"][survey]
        assert section["total"] == score_of(survey, scores)
        assert section["total"]["n"] > 0 and section["total"]["ci_low"] is not None
        by_channel = {
            c: score_of(survey, [e.properties["score"] for e in mine if e.channel == c])
            for c in sorted({e.channel for e in mine})
        }
        assert {r.pop("channel"): r for r in section["by_channel"]} == by_channel
        by_store = {
            s: score_of(survey, [e.properties["score"] for e in mine if e.store_id == s])
            for s in {e.store_id for e in mine if e.store_id}
        }
        assert {r.pop("store_id"): r for r in section["by_store"]} == by_store
    volume = got["volume"]
    assert volume["total"]["events"] == len(w.events)
    assert volume["total"]["purchases"] == len(w.amounts)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in w.amounts.values():
        revenue[currency] += amount
    assert {c: Decimal(v) for c, v in volume["total"]["revenue"].items()} == revenue
    events = Counter(e.channel for e in w.events)
    assert {r["channel"]: r["events"] for r in volume["by_channel"]} == events


def test_the_overview_by_hour_and_for_one_store(
    world: tuple[Store, World], api: dict[str, Endpoint[Any]]
) -> None:
    store, w = world
    since = datetime.combine(SPEC.start.date() + timedelta(days=3), datetime.min.time(), UTC)
    until = since + timedelta(days=4)
    got = ask(
        api, store, "overview", grain="hour", **{"from": since.isoformat(), "to": until.isoformat()}
    )
    inside = [e for e in w.events if since.timestamp() * 1000 <= e.at < until.timestamp() * 1000]
    hours = Counter(
        (
            datetime.fromtimestamp(e.at // 3_600_000 * 3600, tz=UTC),
            e.channel,
            e.properties["survey"],
        )
        for e in inside
        if e.event_type == "survey_response"
    )
    over_time = {
        (datetime.fromisoformat(r["at"]), r["channel"], survey): r["n"]
        for survey in SURVEYS
        for r in got["surveys"][survey]["over_time"]
    }
    assert hours and over_time == dict(hours)
    assert got["volume"]["total"]["events"] == len(inside)
    busiest = Counter(e.store_id for e in w.events if e.store_id).most_common(1)[0][0]
    mine = ask(api, store, "overview", **EVERYTHING, store=busiest)
    assert mine["volume"]["total"]["events"] == sum(e.store_id == busiest for e in w.events)
    assert {r["store_id"] for s in SURVEYS for r in mine["surveys"][s]["by_store"]} <= {busiest}


def test_the_person_endpoint_gives_each_stage_its_channel(
    world: tuple[Store, World], api: dict[str, Endpoint[Any]]
) -> None:
    store, w = world
    keys = oracle.people(w.events)
    grouped = oracle.by_person(w.events, keys)
    key, group = max(grouped.items(), key=lambda kv: (len(oracle.runs(kv[1])), kv[0]))
    got = ask(api, store, "person", identifier=key)
    assert got["customer_key"] == key
    assert len(got["touchpoints"]) == len(group)
    expected = []
    bought = False
    for run in oracle.runs(group):
        j = Journey(day_of(run[0].at), run[0].channel, "", False, False)
        _fill(j, run, bought)
        bought = bought or any(e.event_type in ("purchase", "pos_purchase") for e in run)
        expected.append(list(j.reached.items()))
    assert len(expected) >= 2
    assert [
        list(zip(j["stages"], j["stage_channels"], strict=True)) for j in got["journeys"]
    ] == expected
    assert api["person"].personal and not api["overview"].personal


def test_alerts_list_open_episodes_and_recent_notices_with_their_summaries(
    world: tuple[Store, World], api: dict[str, Endpoint[Any]]
) -> None:
    store, _ = world
    notices = every_kind()
    still_open = notices[0]  # the store NPS drop: its resolved notice is never written
    written = [n for n in notices if n is not notices[1]]
    store.insert("alerts", alert_columns(written), dedup_token=None)
    old = {**notices[2], "rule": "before-016", "slice": "channel=web", "status": "firing"}
    columns = alert_columns([old])
    for name in ("summary", "baseline_n", "bound", "window", "condition"):
        del columns[name]  # a notice written before migration 016
    store.insert("alerts", columns, dedup_token=None)
    since = datetime.fromtimestamp(notices[0]["at_ms"] / 1000 - 60, tz=UTC).isoformat()
    got = ask(api, store, "alerts", since=since)
    assert sorted((a["rule"], a["slice"]) for a in got["open"]) == [
        ("before-016", "channel=web"),
        ("store-nps-drop", "store_id=tehran-04"),
    ]
    first = next(a for a in got["open"] if a["rule"] == "store-nps-drop")
    assert first["summary"] == still_open["summary"]
    assert (first["value"], first["baseline"], first["n"], first["baseline_n"]) == (
        still_open["value"],
        still_open["baseline"],
        still_open["n"],
        still_open["baseline_n"],
    )
    assert first["context"] == still_open["context"] and first["open"]
    before = next(a for a in got["open"] if a["rule"] == "before-016")
    assert before["summary"] == f"before-016 at channel web: {old['reason']}"
    assert len(got["recent"]) == len(written) + 1
    threshold = next(
        a for a in got["recent"] if a["rule"] == "app-csat-low" and a["status"] == "firing"
    )
    assert threshold["bound"] == notices[2]["bound"] and threshold["condition"] == "threshold"
    still = {"store-nps-drop", "before-016"}
    assert all(a["open"] == (a["rule"] in still) for a in got["recent"])
    later = datetime.fromtimestamp(max(n["at_ms"] for n in written) / 1000, tz=UTC)
    assert len(ask(api, store, "alerts", since=later.isoformat())["recent"]) < len(written)
    assert len(ask(api, store, "alerts", since=since, limit="3")["recent"]) == 3
