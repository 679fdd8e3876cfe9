"""The whole stream: people's journeys interleaved in arrival order, with
late arrivals, invalid records and duplicate deliveries mixed in."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal, NamedTuple

import orjson

from schemas import Channel
from streams.dev.generator.corrupt import corrupt
from streams.dev.generator.journeys import DAY, HOUR, JourneyPlanner, Planned
from streams.dev.generator.population import Person, draw_accounts, make_person
from streams.runtime.right_size import right_sized

Kind = Literal["valid", "invalid", "duplicate"]
_OFFSETS = (
    UTC,
    timezone(timedelta(hours=3, minutes=30)),
    timezone(timedelta(hours=1)),
    timezone(timedelta(hours=-5)),
)


class Truth(NamedTuple):
    kind: Kind
    event_id: str | None
    event_type: str
    person: int | None
    reason: str | None
    """Expected rejection reason (invalid records)."""
    occurred_at_ms: int


class GeneratedRecord(NamedTuple):
    channel: Channel
    key: bytes | None
    value: bytes
    truth: Truth


def weeks_ago(weeks: int) -> datetime:
    """Midnight UTC of the Monday `weeks` weeks before this week's Monday."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday(), weeks=weeks)


DEFAULT_START = weeks_ago(9)
"""Nine weeks back, a Monday, fixed for the process: the traffic (its
journeys run up to about 25 days) and a month of event time after it lie in
the past, as the contract requires (an event time at most 24 hours after
receipt), and within the 90 days churn risk looks at. Within a week the same
spec gives the same bytes; a week later, the same records a week later."""


@dataclass(frozen=True)
class TrafficSpec:
    people: int = 1000
    seed: int = 7
    start: datetime = DEFAULT_START
    """Journeys begin within `span_days` of it."""
    span_days: float = 7.0
    invalid_share: float = 0.03
    duplicate_share: float = 0.02
    late_share: float = 0.05
    """Share of events that arrive after events that happened later."""
    until: datetime | None = None
    """Records that would arrive after it are left out: the traffic as
    received by then (None: every record)."""
    first_person: int = 0
    """Index of the first person: traffic of other people than an earlier
    spec's (customer ids and phones follow the index)."""


def _timestamp(rng: random.Random, at_ms: int) -> str:
    moment = datetime.fromtimestamp(at_ms / 1000, tz=UTC).astimezone(rng.choice(_OFFSETS))
    return moment.isoformat(timespec="milliseconds")


def _wire(rng: random.Random, plan: Planned, event_id: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id,
        "event_type": plan.event_type,
        "occurred_at": _timestamp(rng, plan.at_ms),
        "identity": plan.identity,
    }
    if plan.context:
        event["context"] = plan.context
    if plan.properties:
        event["properties"] = plan.properties
    return event


def population(spec: TrafficSpec) -> list[Person]:
    first = spec.first_person
    suffix = f"-from-{first}" if first else ""
    rng = random.Random(f"{spec.seed}-people" + suffix)
    people = [make_person(rng, index) for index in range(first, first + spec.people)]
    accounts = random.Random(f"{spec.seed}-accounts" + suffix)  # draws of their own
    return [replace(p, b2b_accounts=draw_accounts(accounts, spec.people)) for p in people]


def generate_traffic(spec: TrafficSpec) -> list[GeneratedRecord]:
    """Every record in arrival order. Same spec, same records, byte for byte."""
    rng = random.Random(spec.seed)
    start_ms = int(spec.start.timestamp() * 1000)
    span_ms = int(spec.span_days * DAY)
    arrivals: list[tuple[int, int, GeneratedRecord]] = []
    for person in population(spec):
        journey_start = start_ms + rng.randrange(span_ms)
        for plan in JourneyPlanner(rng, person, journey_start).plan():
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            event = _wire(rng, plan, event_id)
            delay = (
                rng.randrange(1, 6 * HOUR)
                if rng.random() < spec.late_share
                else rng.randrange(0, 2000)
            )
            key = plan.key.encode() if plan.key else None
            record = GeneratedRecord(
                plan.channel,
                key,
                right_sized(orjson.dumps(event)),  # kept until sent: a million of them
                Truth("valid", event_id, plan.event_type, person.index, None, plan.at_ms),
            )
            arrivals.append((plan.at_ms + delay, len(arrivals), record))
            if rng.random() < spec.invalid_share:
                broken = {**event, "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
                value, reason = corrupt(rng, broken, plan.channel)
                truth = Truth(
                    "invalid", None, plan.event_type, person.index, reason.value, plan.at_ms
                )
                arrivals.append(
                    (
                        plan.at_ms + delay + 1,
                        len(arrivals),
                        GeneratedRecord(plan.channel, key, right_sized(value), truth),
                    )
                )
            if rng.random() < spec.duplicate_share:
                # Delivered again later: a producer retry (same key) or a
                # replay from a tool that sends no key.
                again = rng.choice((rng.randrange(1000, 60_000), rng.randrange(HOUR, 2 * DAY)))
                dup = record._replace(
                    key=key if rng.random() < 0.5 else None,
                    truth=record.truth._replace(kind="duplicate"),
                )
                arrivals.append((plan.at_ms + delay + again, len(arrivals), dup))
    arrivals.sort(key=lambda item: (item[0], item[1]))
    until_ms = None if spec.until is None else int(spec.until.timestamp() * 1000)
    return [record for at, _, record in arrivals if until_ms is None or at <= until_ms]
