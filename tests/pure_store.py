"""Generated traffic stored the pure way, as the sinks store it, with no
Kafka: ingest, each event once (as the store keeps it), the identity graph
(the touchpoints under the person known when written, the identity map),
and the journeys of every person as they are now."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from streams.clickhouse.bundle import encode_rows
from streams.clickhouse.client import Store
from streams.dev.generator import GeneratedRecord
from streams.identity.graph import IdentityGraph, evidence_of
from streams.identity.log import Applied
from streams.identity.rows import identity_map_columns
from streams.identity.rules import IdentityRules
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.route import IngestResult, ingest_batch
from streams.ingest.touchpoint import Touchpoint, identifiers_of
from streams.journeys.fold import person_journeys
from streams.journeys.rows import JOURNEY_COLUMNS, journey_row
from streams.journeys.rules import JourneyRules
from streams.journeys.steps import step_of
from streams.runtime.topics import Topics
from streams.store.rows import TOUCHPOINT_COLUMNS, touchpoint_row
from tests.examples import record

TOPICS = Topics("cx.")


@dataclass
class Stored:
    """What `store_traffic` stored, and what it was stitched with."""

    ingested: IngestResult
    """Ingest's answer: every touchpoint (duplicates too), the dead letters."""
    touchpoints: list[tuple[Touchpoint, str]]
    """Each touchpoint stored, with the key it was written under."""
    applied: list[Applied]
    """The identity evidence applied (the identity map's rows)."""
    graph: IdentityGraph


def store_traffic(
    store: Store,
    generated: Sequence[GeneratedRecord],
    *,
    received_at_ms: int,
    secret: bytes,
    graph: IdentityGraph | None = None,
    first_offset: int = 0,
    once: bool = True,
) -> Stored:
    """`generated` (Kafka offsets from `first_offset`) through ingest and
    `graph` (a new one if None), stored as the sinks store it: touchpoints
    under the person known when written, and the identity map. `once`: each
    event once, as the store keeps it (else every touchpoint ingest gave)."""
    graph = IdentityGraph(IdentityRules()) if graph is None else graph
    records = [
        record(TOPICS.channel(g.channel), g.value, offset=first_offset + i, key=g.key)
        for i, g in enumerate(generated)
    ]
    ingested = ingest_batch(records, TOPICS.channels, received_at_ms, Pseudonymizer(secret))
    touchpoints = ingested.touchpoints
    if once:
        seen: set[str] = set()
        touchpoints = []
        for tp in ingested.touchpoints:
            if tp.event_id not in seen:
                seen.add(tp.event_id)
                touchpoints.append(tp)
    applied: list[Applied] = []
    written: list[tuple[Touchpoint, str]] = []
    for offset, tp in enumerate(touchpoints):
        ids = identifiers_of(tp.identifiers)
        evidence = evidence_of(tp.event_id, tp.occurred_at_ms, tp.channel, ids)
        if evidence is not None:
            applied.append((offset, evidence, graph.observe(evidence)))
        written.append((tp, graph.resolve(ids)))  # the key when written
    store.insert_rows(
        "touchpoints",
        TOUCHPOINT_COLUMNS,
        encode_rows(touchpoint_row(tp, key, 0) for tp, key in written),
        dedup_token=None,
    )
    if applied:
        store.insert("identity_map", identity_map_columns(applied), dedup_token=None)
    return Stored(ingested, written, applied, graph)


def store_journeys(store: Store, stored: Stored, as_of_ms: int) -> None:
    """The journeys of the people `stored`'s touchpoints belong to, as
    they are now (under each one's key in the graph now)."""
    steps: dict[str, list[Any]] = defaultdict(list)
    for tp, _ in stored.touchpoints:
        steps[stored.graph.resolve(identifiers_of(tp.identifiers))].append(step_of(tp))
    rows = [
        journey_row(key, 1, as_of_ms, journey)
        for key, own in steps.items()
        for journey in person_journeys(key, own, JourneyRules(), as_of_ms=as_of_ms)
    ]
    store.insert_rows("journeys", JOURNEY_COLUMNS, encode_rows(rows), dedup_token=None)
