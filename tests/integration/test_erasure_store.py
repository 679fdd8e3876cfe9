"""Erasing people from the store on the real engine (chdb): a few people's
rows in every table, as the pipeline's own row builders make them; two of
them erased; then no table, view or column holds any of their identifiers,
everyone else's rows are untouched, and after `purge` their rows are gone
from the parts on disk too."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from streams.clickhouse.bundle import encode_rows
from streams.clickhouse.client import OffLoopStore, Store
from streams.deadletters.rows import dead_letter_columns
from streams.dev.generator import TrafficSpec, generate_traffic
from streams.erasure.store import (
    ERASED_TABLES,
    ErasedPerson,
    ErasureAudit,
    erase_rows,
    erasure_status,
    purge,
    record_erasure,
)
from streams.identity.rows import (
    IDENTITY_LINK_COLUMNS,
    IDENTITY_MAP_COLUMNS,
    identity_link_columns,
    identity_map_columns,
)
from streams.ingest.touchpoint import Touchpoint, identifiers_of
from streams.journeys.fold import person_journeys
from streams.journeys.rows import JOURNEY_COLUMNS, journey_row
from streams.journeys.rules import JourneyRules
from streams.journeys.steps import step_of
from tests.pure_store import store_traffic

RECEIVED_AT_MS = 1_795_800_000_000


@dataclass
class World:
    """What was stored, to know each table's rows of each person."""

    touchpoints: list[tuple[Touchpoint, str]] = field(default_factory=list)
    """Each touchpoint with the key it was written under."""
    keys: dict[str, str] = field(default_factory=dict)
    """Identifier -> the key of its person now."""
    map_rows: list[tuple[str, str]] = field(default_factory=list)
    link_rows: list[tuple[str, ...]] = field(default_factory=list)
    journey_keys: list[str] = field(default_factory=list)
    letter_event_ids: list[str] = field(default_factory=list)

    def person(self, key: str) -> tuple[str, ...]:
        return tuple(sorted(i for i, k in self.keys.items() if k == key))


def build(store: Store) -> World:
    """Eight people's traffic through ingest, the identity graph, the
    journey fold and the dead-letter rows, stored as the sinks store it."""
    world = World()
    generated = generate_traffic(TrafficSpec(people=8, seed=11, invalid_share=0.1))
    stored = store_traffic(store, generated, received_at_ms=RECEIVED_AT_MS, secret=b"k", once=False)
    result, graph, applied = stored.ingested, stored.graph, stored.applied
    world.touchpoints = stored.touchpoints
    for tp, _ in world.touchpoints:
        for identifier in identifiers_of(tp.identifiers):
            world.keys[identifier] = graph.key_of(identifier)
    maps, links = identity_map_columns(applied), identity_link_columns(applied)
    store.insert("identity_links", links, dedup_token=None)
    world.map_rows = list(zip(maps["identifier"], maps["customer_key"], strict=True))
    names = IDENTITY_LINK_COLUMNS
    world.link_rows = [
        tuple(str(links[n][i]) for n in ("identifier", "anchor", "from_key", "to_key", "detail"))
        for i in range(len(links[names[0]]))
    ]
    assert set(IDENTITY_MAP_COLUMNS) == set(maps)
    # Journeys: every person's current ones, and a version under each key
    # their touchpoints were written under before they were stitched.
    steps: dict[str, list[Any]] = defaultdict(list)
    for tp, written in world.touchpoints:
        steps[graph.resolve(identifiers_of(tp.identifiers))].append(step_of(tp))
        steps.setdefault(written, [])
    rows = []
    for key in steps:
        now_key = world.keys.get(key, key)
        for journey in person_journeys(
            now_key, steps[now_key], JourneyRules(), as_of_ms=RECEIVED_AT_MS
        ):
            rows.append(journey_row(key, 1, RECEIVED_AT_MS, journey))
            world.journey_keys.append(key)
    store.insert_rows("journeys", JOURNEY_COLUMNS, encode_rows(rows), dedup_token=None)
    # Dead letters: ingest's rejections, and a store rejection of each
    # person's first touchpoint (an event id that is also stored).
    letters = [(letter, 0, i) for i, letter in enumerate(result.dead_letters)]
    assert letters
    store.insert("deadletters", dead_letter_columns(letters), dedup_token=None)
    world.letter_event_ids = list(dead_letter_columns(letters)["event_id"])
    firsts: dict[str, Touchpoint] = {}
    for tp, _ in world.touchpoints:
        firsts.setdefault(world.keys[identifiers_of(tp.identifiers)[0]], tp)
    rejected = dead_letter_columns(letters[:1] * len(firsts))
    rejected["event_id"] = [tp.event_id for tp in firsts.values()]
    rejected["rejected_by"] = ["store"] * len(firsts)
    rejected["deadletter_offset"] = [1000 + i for i in range(len(firsts))]
    store.insert("deadletters", rejected, dedup_token=None)
    world.letter_event_ids += rejected["event_id"]
    # An alert with its context, as the alert stage builds it.
    context = [
        {"pain_point": kind, "channel": ch, "store_id": st, "touchpoint": et, "count": int(n)}
        for kind, ch, st, et, n in store.query(
            "alert_context", since_ms=0, until_ms=RECEIVED_AT_MS * 2
        )
    ]
    store.insert(
        "alerts",
        {
            "at_ms": [RECEIVED_AT_MS],
            "status": ["firing"],
            "rule": ["nps-drop"],
            "severity": ["warning"],
            "metric": ["nps"],
            "slice": ["store_id=tehran-04"],
            "episode_started_at_ms": [RECEIVED_AT_MS],
            "value": [-10.0],
            "baseline": [30.0],
            "n": [40],
            "reason": ["NPS fell"],
            "context": [orjson.dumps(context).decode()],
        },
        dedup_token=None,
    )
    store.insert(
        "sink_positions", {"sink": ["identity"], "position": [len(applied)]}, dedup_token=None
    )
    return world


def expected_removed(world: World, terms: set[str]) -> dict[str, int]:
    """Rows of each table that hold one of `terms`, counted in Python."""
    values = {t.partition(":")[2] for t in terms}
    erased_events = {
        tp.event_id
        for tp, key in world.touchpoints
        if key in terms or tp.person_key in terms or set(identifiers_of(tp.identifiers)) & terms
    }
    return {
        "touchpoints": sum(tp.event_id in erased_events for tp, _ in world.touchpoints),
        "journeys": sum(key in terms for key in world.journey_keys),
        "identity_map": sum(i in terms or k in terms for i, k in world.map_rows),
        "identity_links": sum(
            bool(set(row[:4]) & terms) or any(v in row[4] for v in values)
            for row in world.link_rows
        ),
        "deadletters": sum(e in erased_events for e in world.letter_event_ids),
    }


def needles_of(terms: set[str]) -> list[str]:
    """What must not be found anywhere: each identifier as stored, and its
    value alone (the touchpoints' identifier columns hold values)."""
    return sorted(terms | {t.partition(":")[2] for t in terms})


def found_anywhere(store: Store, needles: list[str]) -> list[str]:
    """Every table and view of the database, every column whose type holds
    text (String, LowCardinality, Nullable, Array, Map, Tuple), searched for
    any needle as a substring: `table.column` of each hit."""
    columns = store.client.query(
        "SELECT table, name FROM system.columns WHERE database = {db:String} "
        "AND (type LIKE '%String%' OR type LIKE 'Array%' OR type LIKE 'Map%' OR type LIKE 'Tuple%') "
        "ORDER BY table, name",
        parameters={"db": store.database},
    ).result_rows
    by_table: dict[str, list[str]] = defaultdict(list)
    for table, column in columns:
        by_table[table].append(column)
    assert len(by_table) > 20  # the tables and the views
    hits = []
    for table, names in by_table.items():
        found = ", ".join(
            f"countIf(multiSearchAny(toString(`{c}`), {{needles:Array(String)}}))" for c in names
        )
        (row,) = store.client.query(
            f"SELECT {found} FROM `{store.database}`.`{table}`", parameters={"needles": needles}
        ).result_rows
        hits += [f"{table}.{c}" for c, n in zip(names, row, strict=True) if n]
    return hits


def counts(store: Store) -> dict[str, int]:
    return {
        table: int(
            store.client.query(f"SELECT count() FROM `{store.database}`.`{table}`").result_rows[0][
                0
            ]
        )
        for table in (*ERASED_TABLES, "alerts", "metrics_minute", "sink_positions")
    }


def files_holding(paths: list[str], needles: list[str]) -> list[str]:
    hits = []
    encoded = [n.encode() for n in needles]
    for root in paths:
        for path in Path(root).rglob("*"):
            if path.is_file() and any(n in path.read_bytes() for n in encoded):
                hits.append(str(path))
    return hits


def part_paths(store: Store, active: bool) -> list[str]:
    rows = store.client.query(
        "SELECT path FROM system.parts WHERE database = {db:String} AND active = {a:UInt8}",
        parameters={"db": store.database, "a": int(active)},
    ).result_rows
    return [path for (path,) in rows]


def test_erasing_two_people_leaves_nothing_of_them_and_everyone_else(
    migrated: Store, tmp_path: Path
) -> None:
    store = migrated
    world = build(store)
    people = sorted(
        {k for k in world.keys.values() if k.startswith("customer_id:")},
        key=lambda k: -len(world.person(k)),
    )
    assert len(people) >= 3
    erased = [ErasedPerson(f"req-{n}", key, world.person(key)) for n, key in enumerate(people[:2])]
    terms = {t for p in erased for t in (p.key, *p.identifiers)}
    needles = needles_of(terms)
    kept_key = people[2]
    assert found_anywhere(store, needles)  # the scan finds them before
    assert found_anywhere(store, needles_of({kept_key, *world.person(kept_key)}))
    before = counts(store)
    wanted = [expected_removed(world, {p.key, *p.identifiers}) for p in erased]
    assert all(w["touchpoints"] and w["journeys"] and w["identity_map"] for w in wanted)
    assert sum(w["deadletters"] for w in wanted) == 2  # their store rejections
    assert files_holding(part_paths(store, active=True), needles)

    async def erase() -> list[dict[str, int]]:
        offloop = OffLoopStore(store)
        removed = [await erase_rows(offloop, person) for person in erased]
        for person, got in zip(erased, removed, strict=True):
            await record_erasure(
                offloop,
                ErasureAudit(person.request_id, RECEIVED_AT_MS, None, True, {}, "requested"),
            )
            await record_erasure(
                offloop,
                ErasureAudit(
                    person.request_id, RECEIVED_AT_MS, RECEIVED_AT_MS + 5, True, got, "erased"
                ),
            )
        return removed

    removed = asyncio.run(erase())
    assert removed == wanted
    # Invisible at once: no table, view or column holds them; every other
    # row is still there; aggregates stay.
    assert found_anywhere(store, needles) == []
    assert found_anywhere(store, needles_of({kept_key, *world.person(kept_key)}))
    after = counts(store)
    for table in ERASED_TABLES:
        assert after[table] == before[table] - sum(r[table] for r in removed), table
    assert {t: after[t] for t in ("alerts", "metrics_minute", "sink_positions")} == {
        t: before[t] for t in ("alerts", "metrics_minute", "sink_positions")
    }

    # On disk until purged: the masked rows are still in the active parts.
    def masked(table: str) -> int:
        (n,) = store.client.query(
            f"SELECT count() FROM `{store.database}`.`{table}` SETTINGS apply_deleted_mask = 0"
        ).result_rows[0]
        return int(n) - after[table]

    assert sum(masked(t) for t in ERASED_TABLES) == sum(sum(r.values()) for r in removed)
    asyncio.run(_purge(store))
    assert {t: masked(t) for t in ERASED_TABLES} == dict.fromkeys(ERASED_TABLES, 0)
    parts = store.client.query(
        "SELECT table, sum(rows), max(has_lightweight_delete) FROM system.parts "
        "WHERE database = {db:String} AND active AND table IN {t:Array(String)} GROUP BY table",
        parameters={"db": store.database, "t": list(ERASED_TABLES)},
    ).result_rows
    assert {t: (int(n), int(d)) for t, n, d in parts} == {t: (after[t], 0) for t in ERASED_TABLES}
    assert files_holding(part_paths(store, active=True), needles) == []
    # Nor anywhere else in the engine's folder (mutation records, metadata,
    # logs), but the replaced parts its cleanup removes (old_parts_lifetime).
    outdated = {Path(p) for p in part_paths(store, active=False)}
    folder = Path(store.url.removeprefix("chdb://"))
    elsewhere = [
        p
        for p in files_holding([str(folder)], needles)
        if not any(o in Path(p).parents for o in outdated)
    ]
    assert elsewhere == []

    # The audit: the request, when, how many; never whom.
    async def audits() -> list[ErasureAudit | None]:
        return [await erasure_status(OffLoopStore(store), p.request_id) for p in erased]

    assert asyncio.run(audits()) == [
        ErasureAudit(p.request_id, RECEIVED_AT_MS, RECEIVED_AT_MS + 5, True, r, "erased")
        for p, r in zip(erased, removed, strict=True)
    ]
    assert found_anywhere(store, needles) == []


async def _purge(store: Store) -> None:
    await purge(OffLoopStore(store), ERASED_TABLES)


def test_an_erasure_of_nobody_stored_removes_nothing(migrated: Store) -> None:
    async def erase() -> tuple[dict[str, int], ErasureAudit | None]:
        offloop = OffLoopStore(migrated)
        person = ErasedPerson("req-none", "customer_id:C404", ("email_hash:00ff",))
        return await erase_rows(offloop, person), await erasure_status(offloop, "req-none")

    removed, status = asyncio.run(erase())
    assert removed == dict.fromkeys(ERASED_TABLES, 0)
    assert status is None
    leftovers = migrated.client.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name LIKE 'erasing%'",
        parameters={"db": migrated.database},
    ).result_rows
    assert leftovers == [(0,)]
