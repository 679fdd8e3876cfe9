"""A generated run stored in an embedded ClickHouse as the pipeline stores
it (ingest, identity graph, journey fold, the sinks' rows), with no Kafka:
what the browser tests serve. More answers can be added while it is served."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import Channel
from streams.alerts.stage import alert_columns
from streams.clickhouse.client import Store
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.generator.live import answers
from streams.identity.graph import IdentityGraph
from streams.identity.rules import IdentityRules
from tests.pure_store import store_journeys, store_traffic
from tests.unit.test_alert_formats import every_kind

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
        stored = store_traffic(
            self.store,
            generated,
            received_at_ms=now_ms,
            secret=SECRET.encode(),
            graph=self.graph,
            first_offset=self.offset,
        )
        self.offset += len(generated)
        if journeys:
            store_journeys(self.store, stored, now_ms)

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
