"""People across channels, end to end: generated traffic over several
partitions and two worker processes, compared with the oracle of
`journey_oracle` (union-find over the identifiers events carry, journeys by
the contract's definitions). Hand-made events add a conflicting customer id,
an over-shared shop phone and an anonymous history linked late."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from schemas import Channel
from streams.clickhouse.client import Store
from streams.dev.broker import LocalBroker, free_port
from streams.dev.child_worker import ChildWorker, start_together, stop_together
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.generator.traffic import Truth, population
from streams.dev.produce import produce_records
from streams.ingest.pseudonym import Pseudonymizer
from streams.runtime.settings import Settings
from tests import journey_oracle as oracle
from tests.integration.harness import TEST_SECRET, isolated_settings

SPEC = TrafficSpec(people=300, seed=23)
MINUTE = 60_000


def wire(
    channel: Channel, event_id: str, event_type: str, at_ms: int, key: str, **identity: str
) -> GeneratedRecord:
    from datetime import UTC, datetime

    occurred = datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    event = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": occurred,
        "identity": identity,
    }
    truth = Truth("valid", event_id, event_type, None, None, at_ms)
    return GeneratedRecord(channel, key.encode(), orjson.dumps(event), truth)


def scenario(start_ms: int) -> list[GeneratedRecord]:
    """Anonymous browsing, then a login that links it (late), then another
    customer on the same browser (refused); a shop phone given with five
    walk-in ids (shared after three, in this test's settings)."""
    t = start_ms
    records = [
        wire(Channel.WEB, "sc-anon", "page_view", t - 60 * MINUTE, "ck-x", anonymous_id="ck-x"),
        wire(Channel.WEB, "sc-login", "login", t, "ck-x", anonymous_id="ck-x", customer_id="CX-1"),
        wire(Channel.WEB, "sc-other", "page_view", t + MINUTE, "ck-x",
             anonymous_id="ck-x", customer_id="CX-2"),
    ]  # fmt: skip
    records += [
        wire(Channel.STORE, f"sc-walkin-{n}", "store_visit", t + n * MINUTE, "shop",
             phone="+442000000001", anonymous_id=f"walkin-{n}")
        for n in range(5)
    ]  # fmt: skip
    return records


def clock(at_ms: int) -> list[GeneratedRecord]:
    """Later traffic from other people: moves event time on in every
    partition, so every journey above ends and is final."""
    return [
        wire(Channel.WEB, f"clock-{n}", "page_view", at_ms + n, f"clock-{n}",
             anonymous_id=f"clock-{n}")
        for n in range(200)
    ]  # fmt: skip


def end_every_journey(
    worker: ChildWorker, settings: Settings, touchpoints: int, end_ms: int
) -> dict[str, Any]:
    """Once the worker stored `touchpoints` and went quiet: send the clock a
    month after `end_ms`, so every journey ends, and wait until that is
    stored and folded too. The worker's stats then."""
    worker.wait_stored(touchpoints, 0)
    settled([worker])
    asyncio.run(produce_records(settings, clock(end_ms + 30 * 24 * 60 * MINUTE)))
    worker.wait_stored(touchpoints + 200, 0)
    settled([worker])
    return worker.stats()


def settled(workers: list[ChildWorker]) -> None:
    """Wait until every worker's consumers caught up and went quiet (one
    worker's `wait_idle` covers every stage it runs)."""
    rounds = 2 if len(workers) > 1 else 1  # a worker may hand the other one work meanwhile
    for _ in range(rounds):
        for worker in workers:
            worker.wait_idle()


def read_store(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    store = Store(settings.clickhouse_url, settings.database)
    db = settings.database
    try:
        q = store.client.query
        return {
            "touchpoints": list(
                q(f"SELECT event_id, customer_key FROM {db}.customer_touchpoints").named_results()
            ),
            "written": list(
                q(f"SELECT event_id, customer_key FROM {db}.touchpoints").named_results()
            ),
            "journeys": list(
                q(
                    f"SELECT customer_key, toUnixTimestamp64Milli(started_at) AS started, "
                    f"touchpoints, stages, channels, channel_switches, purchases, pain_kinds, "
                    f"ended FROM {db}.current_journeys"
                ).named_results()
            ),
            "links": list(q(f"SELECT * FROM {db}.identity_links FINAL").named_results()),
        }
    finally:
        store.close()


def journeys_by_person(rows: list[dict[str, Any]]) -> dict[str, list[oracle.ExpectedJourney]]:
    """`read_store`'s journeys as the oracle writes them, by person, in order."""
    found: dict[str, list[oracle.ExpectedJourney]] = {}
    for row in rows:
        found.setdefault(row["customer_key"], []).append(
            oracle.ExpectedJourney(
                row["started"],
                row["touchpoints"],
                tuple(sorted(row["stages"])),
                tuple(row["channels"]),
                row["channel_switches"],
                row["purchases"],
                tuple(sorted(row["pain_kinds"])),
            )
        )
    for journeys in found.values():
        journeys.sort(key=lambda j: j.started_at)
    return found


def check_against_oracle(
    stored: dict[str, list[dict[str, Any]]],
    traffic: list[GeneratedRecord],
    *,
    every_pain: bool = True,
) -> tuple[dict[str, str], dict[str, list[oracle.ExpectedJourney]]]:
    """People and journeys in ClickHouse equal the oracle's (and, with
    `every_pain`, the traffic has the pain points that make that telling).
    Returns the current key of every event and the stored journeys by person."""
    events = oracle.read(traffic, TEST_SECRET)
    keys = oracle.people(events)
    grouped = oracle.by_person(events, keys)

    # Every generated touchpoint is under its person's key, now.
    current = {row["event_id"]: row["customer_key"] for row in stored["touchpoints"]}
    assert {e.event_id: current[e.event_id] for e in events} == {
        e.event_id: keys[e.identifiers[0]] for e in events
    }
    # As many people as the events allow (each true person, split only where
    # no event links their identifiers), and no person mixes two true ones.
    assert len({current[e.event_id] for e in events}) == len(grouped)
    assert all(len({e.person for e in g}) == 1 for g in grouped.values())
    split = oracle.true_people(grouped)
    assert len(split) == len({e.person for e in events})
    # Some history was written under an anonymous key and moved by a late link.
    written = {row["event_id"]: row["customer_key"] for row in stored["written"]}
    assert sum(written[e] != current[e] for e in current) > 0

    # Journeys: stages, channels, switches, purchases and pain points.
    stored_journeys = journeys_by_person(stored["journeys"])
    expected_journeys = {key: oracle.journeys(g) for key, g in grouped.items()}
    assert {k: stored_journeys.get(k) for k in expected_journeys} == expected_journeys
    pains = Counter(p for js in expected_journeys.values() for j in js for p in j.pains)
    if every_pain:
        assert {"abandoned_checkout", "low_score", "slow_support", "app_crash_in_session"} <= set(
            pains
        )
    assert all(row["ended"] for row in stored["journeys"] if row["customer_key"] in grouped)
    return current, stored_journeys


def test_people_and_journeys_across_two_workers(broker: LocalBroker, tmp_path: Path) -> None:
    traffic = generate_traffic(SPEC)
    start = int(SPEC.start.timestamp() * 1000) + 24 * 60 * MINUTE
    staged = scenario(start)
    end = max(r.truth.occurred_at_ms for r in traffic)
    settings = isolated_settings(
        broker,
        tmp_path,
        internal_partitions=4,
        batch_max_records=300,
        identity_shared_anonymous_limit=3,
        journey_evict_idle_seconds=0,  # evict by event time alone: late steps reload people
    )

    def worker(name: str, roles: str) -> ChildWorker:
        own = settings.model_copy(
            update={"roles": roles, "web_port": free_port(), "data_dir": tmp_path / name}
        )
        return ChildWorker(own, tmp_path / f"{name}.log")

    workers = start_together([worker("a", "ingest,journeys,store"), worker("b", "ingest,journeys")])
    try:
        for w in workers:  # both share the journey partitions
            w.wait_until(
                lambda s: 0 < len(s["consumers"].get("journeys", {}).get("assigned", [])) < 4,
                60,
                "sharing the journey partitions",
            )
        asyncio.run(produce_records(settings, [*traffic, *staged]))
        expected = len({r.truth.event_id for r in traffic if r.truth.kind == "valid"})
        workers[0].wait_stored(expected + len(staged), 0)
        settled(workers)
        asyncio.run(produce_records(settings, clock(end + 30 * 24 * 60 * MINUTE)))
        workers[0].wait_stored(expected + len(staged) + 200, 0)
        settled(workers)
        moved = sum(
            w.stats()["journeys"].get(count, 0)
            for w in workers
            for count in ("people_moved", "steps_forwarded")
        )
        handled = [w.stats()["journeys"].get("steps", 0) for w in workers]
        asked = workers[0].get("/journey?identifier=anonymous_id:ck-x")
        elsewhere = workers[1].get("/journey?identifier=anonymous_id:ck-x")  # no ClickHouse
        unclear = workers[0].get("/journey?identifier=C10000001")
    finally:
        codes = stop_together(workers)
    assert codes == [0, 0]
    assert all(n > 0 for n in handled)  # both workers held journeys
    # Anonymous histories went to the people they turned out to be: moved
    # if the journey stage held them already, forwarded if not yet.
    assert moved > 0

    stored = read_store(settings)
    current, stored_journeys = check_against_oracle(stored, traffic)

    # The hand-made cases.
    pseudonymizer = Pseudonymizer(TEST_SECRET.encode())
    shop = f"phone_hash:{pseudonymizer.hash('phone', '+442000000001')}"
    assert current["sc-anon"] == current["sc-login"] == "customer_id:CX-1"
    assert current["sc-other"] == "customer_id:CX-2"
    assert [current[f"sc-walkin-{n}"] for n in range(5)] == [
        shop,
        shop,
        shop,
        "anonymous_id:walkin-3",
        "anonymous_id:walkin-4",
    ]
    refused = {
        (link["reason"], link["identifier"], link["anchor"])
        for link in stored["links"]
        if link["decision"] == "refused"
    }
    assert refused == {
        ("strong_conflict", "anonymous_id:ck-x", "customer_id:CX-2"),
        ("shared_identifier", shop, "anonymous_id:walkin-3"),
        ("shared_identifier", shop, "anonymous_id:walkin-4"),
    }
    cx1 = stored_journeys["customer_id:CX-1"]
    assert [j.touchpoints for j in cx1] == [2]  # the anonymous page view moved in
    assert "anonymous_id:ck-x" not in stored_journeys

    # The worker answers for a person from any of their identifiers.
    assert asked is not None and elsewhere is None and unclear is None
    assert asked["customer_key"] == "customer_id:CX-1"
    assert asked["identifiers"] == ["anonymous_id:ck-x", "customer_id:CX-1"]
    assert [t["event_id"] for t in asked["touchpoints"]] == ["sc-anon", "sc-login"]
    assert [j["touchpoints"] for j in asked["journeys"]] == [2]


def test_kill_9_mid_run_keeps_people_and_journeys_exact(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """kill -9 the worker while it works and restart it: the identity graph
    comes back from the identity log, the journey state from its changelog,
    and people and journeys still equal the oracle (nothing lost, no step
    counted twice). The restart reads no end offsets (tansu answers
    ListOffsets short after batched produces): it restores up to the fetch
    high watermark."""
    traffic = generate_traffic(TrafficSpec(people=500, seed=37))
    end = max(r.truth.occurred_at_ms for r in traffic)
    valid = len({r.truth.event_id for r in traffic if r.truth.kind == "valid"})
    settings = isolated_settings(
        broker, tmp_path, batch_max_records=200, batch_max_wait_ms=50, journey_evict_idle_seconds=0
    )
    asyncio.run(produce_records(settings, traffic[: len(traffic) // 2]))
    worker = ChildWorker(settings, tmp_path / "worker-1.log").start()
    worker.wait_until(lambda s: s.get("clickhouse", {}).get("journeys", 0) > 300, 120, "partway")
    worker.kill()

    asyncio.run(produce_records(settings, traffic[len(traffic) // 2 :]))
    worker = ChildWorker(settings, tmp_path / "worker-2.log").start()
    try:
        restarted = end_every_journey(worker, settings, valid, end)
    finally:
        assert worker.stop() == 0
    assert restarted["journeys"]["restored_people"] > 0
    assert restarted["journeys"]["people_reloaded"] > 0
    assert restarted["identity"]["applied_offset"] > 0
    check_against_oracle(read_store(settings), traffic)


def test_cx_journey_prints_a_person_from_their_email(broker: LocalBroker, tmp_path: Path) -> None:
    """`cx journey` reads ClickHouse when no worker runs: the same person
    from their email, their phone in another spelling, or their customer id."""
    from click.testing import CliRunner

    from streams.cli import main

    spec = TrafficSpec(people=120, seed=5)
    records = generate_traffic(spec)
    settings = isolated_settings(broker, tmp_path)
    worker = ChildWorker(settings, tmp_path / "worker.log").start()
    try:
        asyncio.run(produce_records(settings, records))
        valid = len({r.truth.event_id for r in records if r.truth.kind == "valid"})
        worker.wait_stored(valid, 0)
        settled([worker])
    finally:
        assert worker.stop() == 0
    events = oracle.read(records, TEST_SECRET)
    keys = oracle.people(events)
    hashed = Pseudonymizer(TEST_SECRET.encode()).hash
    people = population(spec)
    # Someone whose email the events linked to their account, and someone
    # whose phone they linked to something else.
    by_email = next(
        p for p in people if p.email and keys.get(f"email_hash:{hashed('email', p.email)}")
    )
    by_phone = next(
        p
        for p in people
        if p.phone
        and keys.get(f"phone_hash:{hashed('phone', p.phone)}", "phone_hash:").split(":")[0]
        != "phone_hash"
    )
    env = {**settings.to_env(), "CX_WEB_PORT": str(free_port())}
    runner = CliRunner()
    phone = str(by_phone.phone)
    asked = {
        f"email_hash:{hashed('email', str(by_email.email))}": str(by_email.email),
        f"phone_hash:{hashed('phone', phone)}": f"phone:{phone[:3]} {phone[3:]}",
        f"customer_id:{by_email.customer_id}": f"customer_id:{by_email.customer_id}",
    }
    answers = {
        stored: runner.invoke(main, ["journey", arg, "--json"], env=env)
        for stored, arg in asked.items()
    }
    assert [a.exit_code for a in answers.values()] == [0, 0, 0]
    data = {stored: orjson.loads(a.output) for stored, a in answers.items()}
    assert {stored: d["customer_key"] for stored, d in data.items()} == {
        stored: keys[stored] for stored in asked
    }
    key = keys[f"customer_id:{by_email.customer_id}"]
    mine = sorted(e.event_id for e in events if keys[e.identifiers[0]] == key)
    first = data[f"customer_id:{by_email.customer_id}"]
    assert sorted(t["event_id"] for t in first["touchpoints"]) == mine
    text = runner.invoke(main, ["journey", str(by_email.email)], env=env)
    assert text.exit_code == 0 and f"person {key}" in text.output and "journey 1" in text.output
    vague = runner.invoke(main, ["journey", "C1"], env=env)
    assert vague.exit_code == 2 and "say which identifier" in vague.output


def late_purchases(traffic: list[GeneratedRecord], limit: int = 25) -> list[GeneratedRecord]:
    """For people whose first journey bought nothing and a later one did: a
    copy of that purchase (new event id) a minute into the first journey,
    sent after everything else. It lands in a journey long ended, converts
    it, and makes the later purchase a repeat one (the loyalty stage)."""
    events = oracle.read(traffic, TEST_SECRET)
    grouped = oracle.by_person(events, oracle.people(events))
    by_id = {r.truth.event_id: r for r in traffic if r.truth.kind == "valid"}
    late = []
    for group in grouped.values():
        runs = oracle.runs(group)
        if len(runs) < 2 or any(e.event_type in ("purchase", "pos_purchase") for e in runs[0]):
            continue
        bought = next(
            (e for run in runs[1:] for e in run if e.event_type in ("purchase", "pos_purchase")),
            None,
        )
        if bought is None:
            continue
        source = by_id[bought.event_id]
        at = runs[0][0].at + MINUTE
        event = orjson.loads(source.value)
        event["event_id"] = f"late-{bought.event_id}"
        event["occurred_at"] = _iso(at)
        truth = source.truth._replace(event_id=event["event_id"], occurred_at_ms=at)
        late.append(GeneratedRecord(source.channel, source.key, orjson.dumps(event), truth))
        if len(late) == limit:
            break
    return late


def _iso(at_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def test_late_events_for_ended_journeys_reopen_them_and_match_the_oracle(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """Ended journeys leave the journey state as closures; a purchase sent
    days late into a person's first journey reopens it, and the journeys
    stored equal the oracle's over every event (the later purchase now a
    repeat one)."""
    traffic = generate_traffic(TrafficSpec(people=300, seed=29))
    late = late_purchases(traffic)
    assert len(late) >= 5, "the traffic has people to send a late purchase for"
    end = max(r.truth.occurred_at_ms for r in traffic)
    valid = len({r.truth.event_id for r in traffic if r.truth.kind == "valid"})
    settings = isolated_settings(
        broker, tmp_path, batch_max_records=500, journey_evict_idle_seconds=0
    )
    worker = ChildWorker(settings, tmp_path / "worker.log").start()
    try:
        asyncio.run(produce_records(settings, traffic))
        worker.wait_stored(valid, 0)
        settled([worker])
        closed = worker.stats()["journeys"]
        asyncio.run(produce_records(settings, late))
        stats = end_every_journey(worker, settings, valid + len(late), end)
    finally:
        assert worker.stop() == 0
    assert closed.get("journeys_closed", 0) > 0  # ended journeys had left the state
    assert stats["journeys"]["closures_reopened"] >= len(late)
    check_against_oracle(read_store(settings), traffic + late, every_pain=False)
