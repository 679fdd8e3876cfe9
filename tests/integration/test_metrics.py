"""The BI views against an oracle computed here by plain Python: NPS, CSAT
and CES per day, channel and store; the funnel per day and first channel;
support response times per day and channel; pain points; active and new
people; churn risk per person. Replaying the whole input changes nothing; a late survey answer
lands in its own day."""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from schemas import Channel
from streams.clickhouse.client import Store
from streams.dev.broker import LocalBroker
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.generator.traffic import Truth
from streams.dev.produce import produce_records
from streams.runtime.settings import Settings
from tests import journey_oracle as oracle
from tests.integration.harness import TEST_SECRET, isolated_settings
from tests.integration.test_stitching import clock

SPEC = TrafficSpec(people=400, seed=43)
DAY = 24 * 3_600_000


def day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()


def nps(promoters: int, detractors: int, responses: int) -> float:
    return round(100 * (promoters - detractors) / responses, 2)


def expected_scores(events: list[oracle.Seen]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """(day, channel, store_id, survey) -> responses, counts and score."""
    answers: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    for e in events:
        if e.event_type == "survey_response":
            key = (day_of(e.at), e.channel, e.store_id, e.properties["survey"])
            answers[key].append(e.properties["score"])
    result = {}
    for key, scores in answers.items():
        n = len(scores)
        promoters = sum(s >= 9 for s in scores)
        detractors = sum(s <= 6 for s in scores)
        satisfied = sum(s >= 4 for s in scores)
        score = {
            "nps": nps(promoters, detractors, n),
            "csat": round(100 * satisfied / n, 2),
            "ces": round(sum(scores) / n, 3),
        }[key[3]]
        counts = {"nps": (promoters, detractors), "csat": (satisfied, 0), "ces": (sum(scores), 0)}
        result[key] = {"responses": n, "score": score, "counts": counts[key[3]]}
    return result


def expected_funnel(events: list[oracle.Seen]) -> dict[tuple[str, str], tuple[int, ...]]:
    """(day, first channel) -> journeys, reached stages, converted, converted
    on another channel; also (day, "all")."""
    keys = oracle.people(events)
    rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    bought_before: dict[str, bool] = {}
    for person, group in oracle.by_person(events, keys).items():
        for run in oracle.runs(group):
            journey = oracle.journeys(run)[0]  # one run, one journey
            stages = set(journey.stages)
            if bought_before.get(person) and journey.purchases:
                stages.add("loyalty")
            purchases = [e for e in run if e.event_type in ("purchase", "pos_purchase")]
            for channel in (run[0].channel, "all"):
                row = rows[(day_of(run[0].at), channel)]
                row["journeys"] += 1
                for stage in stages:
                    row[stage] += 1
                row["converted"] += bool(purchases)
                row["other"] += bool(purchases) and purchases[0].channel != run[0].channel
            bought_before[person] = bought_before.get(person, False) or bool(purchases)
    order = ("journeys", "awareness", "consideration", "purchase", "post_purchase", "loyalty")
    return {
        key: (*(row[name] for name in order), row["converted"], row["other"])
        for key, row in rows.items()
    }


def expected_contacts(events: list[oracle.Seen]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(day opened, channel) -> contacts, answered, resolved, per journey as
    the journeys hold them."""
    keys = oracle.people(events)
    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for group in oracle.by_person(events, keys).values():
        for run in oracle.runs(group):
            opened = {
                e.properties["contact_id"]: e
                for e in run
                if e.event_type == "support_contact_opened"
            }
            answered = {
                e.properties["contact_id"]
                for e in run
                if e.event_type == "support_contact_answered"
            }
            resolved = {
                e.properties["contact_id"]
                for e in run
                if e.event_type == "support_contact_resolved"
            }
            for contact, e in opened.items():
                row = rows[(day_of(e.at), e.channel)]
                row[0] += 1
                row[1] += contact in answered
                row[2] += contact in resolved
    return {key: (a, b, c) for key, (a, b, c) in rows.items()}


def expected_churn(events: list[oracle.Seen], now_ms: int) -> dict[str, int]:
    """customer_key -> risk score, by the documented weights, over journeys
    with activity in the last 90 days."""
    weights = {
        "low_score": 2,
        "unanswered_support": 3,
        "slow_support": 1,
        "return_after_purchase": 1,
        "opt_out_after_message": 3,
    }
    complaint = {"low_score", "unanswered_support", "slow_support"}
    keys = oracle.people(events)
    result = {}
    for person, group in oracle.by_person(events, keys).items():
        recent = [
            (run[-1].at, journey)
            for run, journey in zip(oracle.runs(group), oracle.journeys(group), strict=True)
            if run[-1].at >= now_ms - 90 * DAY
        ]
        if not recent:
            continue
        last_at, last = max(recent, key=lambda item: item[0])
        silent = bool(complaint & set(last.pains)) and last_at < now_ms - 14 * DAY
        result[person] = sum(weights.get(p, 0) for _, j in recent for p in j.pains) + 2 * silent
    return result


def expected_people(events: list[oracle.Seen]) -> dict[tuple[str, str], tuple[int, int]]:
    """(day, channel or "all") -> active people, new people (first touch)."""
    keys = oracle.people(events)
    first: dict[str, str] = {}
    active: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in sorted(events, key=lambda e: e.at):
        person = keys[e.identifiers[0]]
        first.setdefault(person, day_of(e.at))
        for channel in (e.channel, "all"):
            active[(day_of(e.at), channel)].add(person)
    return {
        key: (len(people), sum(first[p] == key[0] for p in people))
        for key, people in active.items()
    }


def read_views(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    store = Store(settings.clickhouse_url, settings.database)
    db = settings.database
    try:
        return {  # rows in a stable order: views have none of their own
            view: sorted(
                (
                    {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
                    for row in store.client.query(f"SELECT * FROM {db}.{view}").named_results()
                ),
                key=lambda row: orjson.dumps(row, default=str),
            )
            for view in (
                "scores_daily",
                "funnel_daily",
                "response_times_daily",
                "pain_points_daily",
                "volume_daily",
                "churn_risk",
                "people_daily",
            )
        }
    finally:
        store.close()


def stored_scores(views: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str, str, str], Any]:
    """scores_daily as `expected_scores` gives it."""
    return {
        (r["day"], r["channel"], r["store_id"], r["survey"]): {
            "responses": r["responses"],
            "score": r["score"],
            "counts": {
                "nps": (r["promoters"], r["detractors"]),
                "csat": (r["satisfied"], 0),
                "ces": (r["ces_sum"], 0),
            }[r["survey"]],
        }
        for r in views["scores_daily"]
    }


def stored_funnel(
    views: dict[str, list[dict[str, Any]]], skip_day: str
) -> dict[tuple[str, str], tuple[int, ...]]:
    """funnel_daily as `expected_funnel` gives it, without `skip_day` (the
    clock's people: not the oracle's)."""
    return {
        (r["day"], r["channel"]): (
            r["journeys"],
            r["reached_awareness"],
            r["reached_consideration"],
            r["reached_purchase"],
            r["reached_post_purchase"],
            r["reached_loyalty"],
            r["converted"],
            r["converted_on_other_channel"],
        )
        for r in views["funnel_daily"]
        if r["day"] != skip_day
    }


def stored_contacts(
    views: dict[str, list[dict[str, Any]]],
) -> dict[tuple[str, str], tuple[int, ...]]:
    """response_times_daily as `expected_contacts` gives it."""
    return {
        (r["day"], r["channel"]): (r["contacts"], r["answered"], r["resolved"])
        for r in views["response_times_daily"]
    }


def late_answer(at_ms: int) -> GeneratedRecord:
    event = {
        "event_id": "late-nps-1",
        "event_type": "survey_response",
        "occurred_at": datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat(),
        "identity": {"phone": "+447700000123"},
        "context": {"store_id": "london-03"},
        "properties": {"survey": "nps", "score": 10},
    }
    truth = Truth("valid", "late-nps-1", "survey_response", None, None, at_ms)
    return GeneratedRecord(Channel.SMS, b"late", orjson.dumps(event), truth)


def ui_mounted(base_url: str, first_day: str, last_day: str) -> int:
    """The worker serves the web UI at the root of its web port (as `cx ui`
    does, streams/web/server.py): the page, its scripts, and the overview's
    answer, whose NPS n (over the days given) this returns."""
    with urllib.request.urlopen(base_url + "/", timeout=10) as page:
        assert page.headers.get_content_type() == "text/html"
        assert b'data-page="overview"' in page.read()
    with urllib.request.urlopen(base_url + "/static/vendor/echarts.min.js", timeout=10) as script:
        assert script.status == 200
    query = urllib.parse.urlencode({"from": first_day, "to": last_day})
    with urllib.request.urlopen(f"{base_url}/api/overview?{query}", timeout=60) as answer:
        return int(orjson.loads(answer.read())["surveys"]["nps"]["total"]["n"])


def test_views_equal_the_oracle_survive_a_replay_and_take_a_late_event(
    broker: LocalBroker, tmp_path: Path
) -> None:
    traffic = generate_traffic(SPEC)
    end = max(r.truth.occurred_at_ms for r in traffic)
    valid = len({r.truth.event_id for r in traffic if r.truth.kind == "valid"})
    settings = isolated_settings(broker, tmp_path, journey_evict_idle_seconds=0)
    worker = ChildWorker(settings, tmp_path / "worker.log").start()
    try:
        asyncio.run(produce_records(settings, traffic))
        worker.wait_stored(valid, 0)
        worker.wait_idle()
        first_day = day_of(min(r.truth.occurred_at_ms for r in traffic))
        ui_nps = ui_mounted(worker.base_url, first_day, day_of(end))
        asyncio.run(produce_records(settings, clock(end + 30 * DAY)))
        worker.wait_stored(valid + 200, 0)
        worker.wait_idle()
    finally:
        assert worker.stop() == 0
    first = read_views(settings)

    events = oracle.read(traffic, TEST_SECRET)
    last_day = day_of(end + 30 * DAY)  # the clock's people: not the oracle's
    scores = stored_scores(first)
    assert scores == expected_scores(events)
    assert len(scores) > 50 and {k[3] for k in scores} == {"nps", "csat", "ces"}
    assert ui_nps == sum(v["responses"] for k, v in scores.items() if k[3] == "nps") > 0

    funnel = stored_funnel(first, last_day)
    assert funnel == expected_funnel(events)
    contacts = stored_contacts(first)
    assert contacts == expected_contacts(events)
    assert sum(r["pain_points"] for r in first["pain_points_daily"] if r["day"] != last_day) == sum(
        len(j.pains) for g in oracle.by_person(events, oracle.people(events)).values()
        for j in oracle.journeys(g)
    )  # fmt: skip

    people = {
        (r["day"], r["channel"]): (r["active_people"], r["new_people"])
        for r in first["people_daily"]
        if r["day"] != last_day
    }
    assert people == expected_people(events)

    churn = {r["customer_key"]: r["risk_score"] for r in first["churn_risk"]}
    expected = expected_churn(events, int(datetime.now(UTC).timestamp() * 1000))
    assert {k: churn.get(k) for k in expected} == expected
    levels = Counter(r["risk"] for r in first["churn_risk"] if r["customer_key"] in expected)
    assert levels["high"] + levels["medium"] > 0

    # Replay everything (a producer re-sending its whole history), then a
    # survey answer ten days late.
    late = late_answer(end - 10 * DAY)
    worker = ChildWorker(settings, tmp_path / "worker-2.log").start()
    try:
        asyncio.run(produce_records(settings, traffic))
        worker.wait_idle()
        duplicates = worker.stats()["store"]["duplicates"]
    finally:
        assert worker.stop() == 0
    assert duplicates >= valid  # every event came again, and was dropped
    assert read_views(settings) == first
    worker = ChildWorker(settings, tmp_path / "worker-3.log").start()
    try:
        asyncio.run(produce_records(settings, [late]))
        worker.wait_stored(valid + 201, 0)
        worker.wait_idle()
    finally:
        assert worker.stop() == 0
    after = read_views(settings)
    key = (day_of(late.truth.occurred_at_ms), "sms", "london-03", "nps")
    before = scores.get(key, {"responses": 0, "counts": (0, 0)})
    row = next(
        r
        for r in after["scores_daily"]
        if (r["day"], r["channel"], r["store_id"], r["survey"]) == key
    )
    assert (row["responses"], row["promoters"]) == (
        before["responses"] + 1,
        before["counts"][0] + 1,
    )
    changed = [r for r in after["scores_daily"] if r not in first["scores_daily"]]
    assert changed == [row]  # only that day's row moved


def test_cx_metrics_pivots_scores_by_channel_and_store_from_counts() -> None:
    from streams.reports.metrics import score, score_rows

    assert score("nps", 4, 2, 1, 0, 0) == 25.0  # (2 - 1) / 4
    assert score("csat", 3, 0, 0, 2, 0) == 66.67
    assert score("ces", 4, 0, 0, 0, 22) == 5.5
    rows = [  # channel, store, survey, responses, promoters, detractors, satisfied, ces_sum, end
        ("sms", "london-03", "nps", 3, 2, 1, 0, 0, None),
        ("sms", "paris-05", "nps", 1, 0, 1, 0, 0, None),
        ("store", "paris-05", "csat", 2, 0, 0, 1, 0, None),
    ]
    assert score_rows(rows) == [
        ["sms", "all stores", "0 (n=4)", "-", "-"],  # (2 - 2) / 4, from counts
        ["sms", "london-03", "33.33 (n=3)", "-", "-"],
        ["sms", "paris-05", "-100 (n=1)", "-", "-"],
        ["store", "all stores", "-", "50 (n=2)", "-"],
        ["store", "paris-05", "-", "50 (n=2)", "-"],
    ]
