"""Erasing people end to end, on a real broker and chdb, through `cx erase`:
some are erased once their events are stored, some while their events are
still arriving (with suppression). Afterwards no row of any table holds
their keys, hashes, ids or contact details (every column scanned), nor after
a kill -9 and a restart; the journey changelog and the identity log, read
back as a fresh worker would, know nothing of them; everyone else's
touchpoints and journeys equal the oracle's."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition

from streams.clickhouse.client import Store
from streams.dev.bench.latency import send_paced
from streams.dev.broker import LocalBroker
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.produce import produce_records
from streams.identity import IdentityGraph, IdentityRules
from streams.identity.log import decode_erasure, decode_evidence, is_erasure
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics
from tests import journey_oracle as oracle
from tests.integration.harness import TEST_SECRET, isolated_settings, read_from_start
from tests.integration.test_stitching import (
    MINUTE,
    clock,
    journeys_by_person,
    read_store,
    settled,
)

SPEC = TrafficSpec(people=80, seed=31)


def victims(events: list[oracle.Seen], rng: random.Random) -> tuple[list[str], list[str]]:
    """Three people to erase once stored (the third with no worker running)
    and two while their events arrive (split at `cut`): people of several
    events whose identifiers nobody else uses. Their keys, as the oracle
    names them."""
    keys = oracle.people(events)
    grouped = oracle.by_person(events, keys)
    owners: dict[str, set[str]] = defaultdict(set)
    for e in events:
        for identifier in e.identifiers:
            owners[identifier].add(keys[e.identifiers[0]])
    alone = [
        key
        for key, group in sorted(grouped.items())
        if len(group) >= 5 and all(len(owners[i]) == 1 for e in group for i in e.identifiers)
    ]
    cut = sorted(e.at for e in events)[len(events) // 2]
    before = [k for k in alone if max(e.at for e in grouped[k]) < cut]
    across = [
        k for k in alone if min(e.at for e in grouped[k]) < cut < max(e.at for e in grouped[k])
    ]
    return rng.sample(before, 3), rng.sample(across, 2)


def clear_details(records: list[GeneratedRecord], person: set[int]) -> set[str]:
    """E-mails and phones of these true people as producers sent them."""
    found = set()
    for record in records:
        if record.truth.person not in person:
            continue
        try:
            identity = orjson.loads(record.value).get("identity") or {}
        except (orjson.JSONDecodeError, AttributeError):
            continue
        found |= {str(identity[k]) for k in ("email", "phone") if identity.get(k)}
    return found


def scan(settings: Settings, needles: list[str]) -> dict[str, int]:
    """Rows holding any needle, by table.column, over every column of every
    table of the database (materialized views' targets included)."""
    store = Store(settings.clickhouse_url, settings.database)
    db = settings.database
    try:
        columns = store.client.query(
            "SELECT c.table, c.name FROM system.columns AS c "
            "JOIN system.tables AS t ON t.database = c.database AND t.name = c.table "
            "WHERE c.database = {db:String} AND t.engine NOT LIKE '%View%'",
            parameters={"db": db},
        ).result_rows
        found = {}
        for table, column in columns:
            n = store.client.query(
                f"SELECT count() FROM {db}.`{table}` "
                f"WHERE multiSearchAny(toString(`{column}`), {{needles:Array(String)}})",
                parameters={"needles": needles},
            ).result_rows[0][0]
            if n:
                found[f"{table}.{column}"] = int(n)
        return found
    finally:
        store.close()


def erase(settings: Settings, identifiers: list[str]) -> list[dict[str, Any]]:
    """`cx erase --suppress --json` as a privacy officer runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "erase", *identifiers, "--suppress", "--json"],
        env={**os.environ, **settings.to_env()},
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    audits: list[dict[str, Any]] = orjson.loads(done.stdout)
    return audits


def compacted(records: list[Any]) -> dict[bytes, Any]:
    """What compaction keeps of a topic: the last record of each key, none
    for a tombstone."""
    kept: dict[bytes, Any] = {}
    for record in records:
        if record.value is None:
            kept.pop(record.key, None)
        else:
            kept[record.key] = record
    return kept


def test_erased_people_are_gone_from_every_table_and_log(
    broker: LocalBroker, tmp_path: Path
) -> None:
    traffic = generate_traffic(SPEC)
    events = oracle.read(traffic, TEST_SECRET)
    early, midway = victims(events, random.Random(5))
    early, offline = early[:2], early[2]
    keys = oracle.people(events)
    grouped = oracle.by_person(events, keys)
    erased = [*early, *midway, offline]
    their_ids = sorted({i for key in erased for e in grouped[key] for i in e.identifiers})
    their_people = {e.person for key in erased for e in grouped[key] if e.person is not None}
    cut = sorted(e.at for e in events)[len(events) // 2]
    first = [r for r in traffic if r.truth.occurred_at_ms < cut]
    rest = [r for r in traffic if r.truth.occurred_at_ms >= cut]
    # The last event of each person erased midway is sent only once their
    # erasure is done: some of their events are always suppressed.
    held_from = min(max(e.at for e in grouped[key]) for key in midway)
    during = [r for r in rest if r.truth.occurred_at_ms < held_from]
    after = [r for r in rest if r.truth.occurred_at_ms >= held_from]
    settings = isolated_settings(
        broker,
        tmp_path,
        journey_flush_ms=500,
        journey_evict_idle_seconds=0,
    )
    worker = ChildWorker(settings, tmp_path / "worker.log").start()
    try:
        asyncio.run(produce_records(settings, first))
        worker.wait_until(lambda s: s["ingest"].get("received") == len(first), 120, "first half")
        settled([worker])
        # The first two are erased now, their events all stored; the other
        # two while the rest of the traffic arrives.
        started = time.monotonic()
        audits = erase(settings, [i for key in early for i in _ids(grouped[key])])
        sending = threading.Thread(
            target=lambda: asyncio.run(send_paced(settings, during, 150)), daemon=True
        )
        sending.start()
        time.sleep(1)
        audits += erase(settings, [i for key in midway for i in _ids(grouped[key])])
        took = time.monotonic() - started
        sending.join(120)
        asyncio.run(send_paced(settings, after, 150))
        worker.wait_until(lambda s: s["ingest"].get("received") == len(traffic), 120, "all sent")
        settled([worker])
        end = max(r.truth.occurred_at_ms for r in traffic)
        asyncio.run(produce_records(settings, clock(end + 30 * 24 * 60 * MINUTE)))
        worker.wait_until(
            lambda s: s["ingest"].get("received") == len(traffic) + 200, 120, "the clock"
        )
        settled([worker])
        stats = worker.stats()
    finally:
        worker.stop()
    assert all(a["status"] == "complete" for a in audits), audits
    assert sum(a["removed"].get("touchpoints", 0) for a in audits) > 0
    assert took < 60, "rows invisible within a minute of the requests"
    # With no worker running, `cx erase` carries the request out itself.
    offline_audits = erase(settings, _ids(grouped[offline]))
    assert [a["status"] for a in offline_audits] == ["complete"] * len(offline_audits)
    assert sum(a["removed"].get("touchpoints", 0) for a in offline_audits) > 0
    audits += offline_audits
    needles = [*their_ids, *(i.partition(":")[2] for i in their_ids)]
    needles += sorted(clear_details(traffic, their_people))
    assert scan(settings, needles) == {}
    # Their later events were dropped, counted; everyone else's are exact.
    suppressed = stats["ingest"]["suppressed"] + stats["store"].get("suppressed", 0)
    assert suppressed > 0
    others = [e for e in events if keys[e.identifiers[0]] not in erased]
    check_others(settings, others)
    # Anonymous aggregates keep the erased people's events: exact wherever
    # no event of the people erased midway (partly suppressed) falls.
    check_metrics(
        settings,
        [e for e in events if keys[e.identifiers[0]] not in midway],
        [e for e in events if keys[e.identifiers[0]] in midway],
    )

    # kill -9 and restart: the graph, the state and the store stay clean.
    again = ChildWorker(settings, tmp_path / "again.log").start()
    try:
        asyncio.run(produce_records(settings, clock(end + 31 * 24 * 60 * MINUTE)))
        again.wait_until(
            lambda s: s["ingest"].get("received", 0) >= 200, 120, "traffic after the restart"
        )
        settled([again])
        again.kill()
    finally:
        if again.process is not None and again.process.poll() is None:
            again.stop()
    restarted = ChildWorker(settings, tmp_path / "restarted.log").start()
    try:
        settled([restarted])
        after = restarted.stats()
    finally:
        restarted.stop()
    assert after["identity"]["erasures_applied"] >= len(audits)
    assert after["store"]["metrics_months_rebuilt_at_start"] == []  # the erased are counted
    assert scan(settings, needles) == {}
    check_others(settings, others)

    # What a fresh worker would read back: the journey changelog and closed
    # journeys as compaction leaves them, and the identity log replayed.
    assert replayed(settings, their_ids) == ([], [], [])


def _ids(group: list[oracle.Seen]) -> list[str]:
    """Every identifier of a person, in `cx erase` form."""
    return sorted({i for e in group for i in e.identifiers})


def check_others(settings: Settings, others: list[oracle.Seen]) -> None:
    """Everyone else's touchpoints and journeys equal the oracle's."""
    stored = read_store(settings)
    keys = oracle.people(others)
    grouped = oracle.by_person(others, keys)
    current = {row["event_id"]: row["customer_key"] for row in stored["touchpoints"]}
    assert {e.event_id: current.get(e.event_id) for e in others} == {
        e.event_id: keys[e.identifiers[0]] for e in others
    }
    journeys = journeys_by_person(stored["journeys"])
    expected = {key: oracle.journeys(group) for key, group in grouped.items()}
    assert {k: journeys.get(k) for k in expected} == expected


def check_metrics(
    settings: Settings, counted: list[oracle.Seen], unsure: list[oracle.Seen]
) -> None:
    """metrics_minute's events per minute, channel and type equal `counted`'s,
    in every such slice none of `unsure` falls in."""
    store = Store(settings.clickhouse_url, settings.database)
    try:
        rows = store.client.query(
            "SELECT toUnixTimestamp(minute) * 1000, channel, event_type, sum(events) "
            f"FROM {settings.database}.metrics_minute GROUP BY ALL"
        ).result_rows
    finally:
        store.close()

    def slice_of(e: oracle.Seen) -> tuple[int, str, str]:
        return e.at - e.at % MINUTE, e.channel, e.event_type

    skip = {slice_of(e) for e in unsure}
    until = max(e.at for e in counted)  # later: other traffic (the clock)
    stored = {
        (int(m), c, t): int(n)
        for m, c, t, n in rows
        if (int(m), c, t) not in skip and int(m) <= until
    }
    expected: dict[tuple[int, str, str], int] = defaultdict(int)
    for e in counted:
        if slice_of(e) not in skip:
            expected[slice_of(e)] += 1
    assert stored == dict(expected)


def replayed(settings: Settings, their_ids: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(changelog keys, closure keys, identifiers in the replayed graph) of
    the erased people: what compaction keeps of the journey topics, and the
    identity log applied from its start as every worker does."""
    topics = Topics(settings.topic_prefix)
    wanted = set(their_ids)

    async def read(topic: str, partitions: int) -> list[Any]:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return await read_from_start(settings, tps)

    n = settings.internal_partitions
    changelog = compacted(asyncio.run(read(topics.journeys, n)))
    closures = compacted(asyncio.run(read(topics.closed_journeys, n)))
    graph = IdentityGraph(IdentityRules())
    for record in asyncio.run(read(topics.identity, 1)):
        if record.value is None:
            continue
        if is_erasure(record.headers):
            erasure = decode_erasure(record.value)
            graph.erase(erasure.request_id, erasure.identifier, suppress=erasure.suppress)
        else:
            graph.observe(decode_evidence(record.value))
    living = [key.decode() for key in changelog if key.decode() in wanted]
    living += [
        key.decode()
        for key, record in changelog.items()
        if any(i.encode() in record.value for i in wanted)
    ]
    closed = [key.decode() for key in closures if key.decode().partition("|")[0] in wanted]
    known = [i for i in their_ids if i in graph._parent]
    return living, closed, known
