"""People who come back: each person's journeys one after the other, a
fixed number of events per person, so that a run can send a history of
any length and then continue every person's timeline.

`timelines` plans each person's events (journeys of `JourneyPlanner`
separated by days to weeks) and places the event numbered `anchor_event`
within `span_days` after `anchor`: slices of the same timelines before it
(histories of different lengths) are followed by the very same events
after it. Every record is valid and sent once (no corrupt records, no
redeliveries): the figures are per event, whatever the history.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson

from streams.dev.generator.journeys import DAY, JourneyPlanner, Planned
from streams.dev.generator.population import Person
from streams.dev.generator.traffic import (
    GeneratedRecord,
    TrafficSpec,
    Truth,
    _wire,
    population,
    weeks_ago,
)
from streams.runtime.right_size import right_sized

MIN_GAP_DAYS = 3.5
"""Between one journey's last event and the next one's first: more than the
3 days of inactivity that end a journey (`CX_JOURNEY_GAP_MINUTES`)."""
MEAN_EXTRA_GAP_DAYS = 10.0
DEFAULT_ANCHOR = weeks_ago(26)
"""Half a year back, fixed for the process: the events after the anchor (a
few journeys) stay in the past, a long history reaches years before it."""


@dataclass(frozen=True)
class TimelineSpec:
    people: int = 200
    events: int = 420
    """Events per person, exactly."""
    anchor_event: int = 400
    """The event (counted from 0) placed within `span_days` after `anchor`:
    the ones before it are the person's history."""
    seed: int = 7
    anchor: datetime = DEFAULT_ANCHOR
    span_days: float = 7.0


def _planned(rng: random.Random, person: Person, events: int) -> list[Planned]:
    """`events` events of `person`: whole journeys, the last one cut short."""
    planned: list[Planned] = []
    at_ms = 0
    while len(planned) < events:
        planned += JourneyPlanner(rng, person, at_ms).plan()
        gap_days = MIN_GAP_DAYS + rng.expovariate(1 / MEAN_EXTRA_GAP_DAYS)
        at_ms = planned[-1].at_ms + int(gap_days * DAY)
    return planned[:events]


def timelines(spec: TimelineSpec) -> list[list[GeneratedRecord]]:
    """Each person's `spec.events` records, in event-time order. The people
    are `generate_traffic`'s of the same seed; same spec, same records."""
    if not 0 <= spec.anchor_event < spec.events:
        raise ValueError("anchor_event must be one of the events")
    anchor_ms = int(spec.anchor.timestamp() * 1000)
    people = population(TrafficSpec(people=spec.people, seed=spec.seed))
    result = []
    for person in people:
        rng = random.Random(f"{spec.seed}-timeline-{person.index}")
        planned = _planned(rng, person, spec.events)
        placed = anchor_ms + rng.randrange(int(spec.span_days * DAY))
        shift = placed - planned[spec.anchor_event].at_ms
        records = []
        for plan in planned:
            plan.at_ms += shift
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            value = right_sized(orjson.dumps(_wire(rng, plan, event_id)))
            truth = Truth("valid", event_id, plan.event_type, person.index, None, plan.at_ms)
            key = plan.key.encode() if plan.key else None
            records.append(GeneratedRecord(plan.channel, key, value, truth))
        result.append(records)
    return result


def in_time_order(
    timelines: list[list[GeneratedRecord]], start: int, stop: int
) -> list[GeneratedRecord]:
    """Events `start` to `stop` (not included) of every person's timeline,
    merged in event-time order: a history, or what follows it."""
    chosen = [
        (record.truth.occurred_at_ms, person, n, record)
        for person, timeline in enumerate(timelines)
        for n, record in enumerate(timeline[start:stop])
    ]
    chosen.sort(key=lambda item: item[:3])
    return [item[3] for item in chosen]
