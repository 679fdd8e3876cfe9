"""A generated run stored in an embedded ClickHouse as the pipeline stores
it (ingest, identity graph, journey fold, the sinks' rows), with no Kafka:
what the browser tests serve. More answers can be added while it is served."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import Channel
from streams.alerts.stage import alert_columns
from streams.clickhouse.bundle import encode_rows
from streams.clickhouse.client import Store
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.generator.live import answers
from streams.identity.graph import IdentityGraph, evidence_of
from streams.identity.log import Applied
from streams.identity.rows import identity_map_columns
from streams.identity.rules import IdentityRules
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.route import ingest_batch
from streams.ingest.touchpoint import identifiers_of
from streams.journeys.fold import person_journeys
from streams.journeys.rows import JOURNEY_COLUMNS, journey_row
from streams.journeys.rules import JourneyRules
from streams.journeys.steps import step_of
from streams.runtime.topics import Topics
from streams.store.rows import TOUCHPOINT_COLUMNS, touchpoint_row
from tests.examples import record
from tests.unit.test_alert_formats import every_kind

TOPICS = Topics("cx.")
SECRET = "browser"


def spec(people: int = 300) -> TrafficSpec:
    """Traffic over the last six days, as received by now: within the
    pages' default range (the last 7 days)."""
    now = datetime.now(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=6)
    return TrafficSpec(people=people, seed=22, start=start, span_days=5, until=now)


class World:
    """The store and the identity graph the run was stitched with."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.graph = IdentityGraph(IdentityRules())
        self.offset = 0
        self.alerts: list[dict[str, Any]] = []
        """The alert notices stored."""

    def add(self, generated: list[GeneratedRecord], *, journeys: bool = True) -> None:
        """Store `generated` as the sinks would: touchpoints under the person
        known when written, the identity map, and (`journeys`) the journeys
        of the people they belong to as they are now."""
        now_ms = int(time.time() * 1000)
        records = [
            record(TOPICS.channel(g.channel), g.value, offset=self.offset + i, key=g.key)
            for i, g in enumerate(generated)
        ]
        self.offset += len(records)
        result = ingest_batch(records, TOPICS.channels, now_ms, Pseudonymizer(SECRET.encode()))
        seen: set[str] = set()
        first = [
            tp for tp in result.touchpoints if not (tp.event_id in seen or seen.add(tp.event_id))
        ]
        applied: list[Applied] = []
        written = []
        for offset, tp in enumerate(first):
            ids = identifiers_of(tp.identifiers)
            evidence = evidence_of(tp.event_id, tp.occurred_at_ms, tp.channel, ids)
            if evidence is not None:
                applied.append((offset, evidence, self.graph.observe(evidence)))
            written.append(touchpoint_row(tp, self.graph.resolve(ids), 0))
        self.store.insert_rows(
            "touchpoints", TOUCHPOINT_COLUMNS, encode_rows(written), dedup_token=None
        )
        if applied:
            self.store.insert("identity_map", identity_map_columns(applied), dedup_token=None)
        if not journeys:
            return
        steps: dict[str, list[Any]] = defaultdict(list)
        for tp in first:
            steps[self.graph.resolve(identifiers_of(tp.identifiers))].append(step_of(tp))
        rows = [
            journey_row(key, 1, now_ms, journey)
            for key, own in steps.items()
            for journey in person_journeys(key, own, JourneyRules(), as_of_ms=now_ms)
        ]
        self.store.insert_rows("journeys", JOURNEY_COLUMNS, encode_rows(rows), dedup_token=None)

    def add_answers(self, survey: str, scores: list[int]) -> None:
        """Survey answers on the web, in the last hour (no journeys)."""
        now_ms = int(time.time() * 1000)
        self.add(
            answers(Channel.WEB, survey, scores, now_ms - 3_600_000, now_ms - 60_000),
            journeys=False,
        )

    def add_alerts(self) -> list[dict[str, Any]]:
        """A firing and a resolved notice of every kind of alert condition
        (the alert formats' examples), the last a minute ago; the first
        episode is left open. The notices written."""
        notices = every_kind()
        written = [n for n in notices if n is not notices[1]]
        shift = int(time.time() * 1000) - 60_000 - max(n["at_ms"] for n in written)
        moved = [
            {
                **n,
                "at_ms": n["at_ms"] + shift,
                "episode_started_at_ms": n["episode_started_at_ms"] + shift,
            }
            for n in written
        ]
        self.store.insert("alerts", alert_columns(moved), dedup_token=None)
        return moved


def generated_world(store: Store, people: int = 300) -> World:
    world = World(store)
    world.add(generate_traffic(spec(people)))
    world.alerts = world.add_alerts()
    return world
