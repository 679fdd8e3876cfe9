"""`PersonState`: what the journey stage keeps per person, and its changelog
record.

A person's state is their steps, in event-time order, each event once.
Journeys are rebuilt from the steps (`fold`), so a late step, or the history of
a person merged in, simply takes its place in time. The changelog record
(`PersonRecord`) carries the steps (to restore the state) and the journeys
they make (for the store), plus the journey ids that no longer exist (for the
store to delete).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.journeys.records import Journey
from streams.journeys.steps import Step, decode_steps, encode_steps
from streams.store.journey_rows import deleted_row, journey_row

RECORD_FORMAT = b"person/3"
"""Value of the `cx.format` header on the journeys (changelog) topic. The
record's value (JSON) carries the person's journeys as the store's rows;
their steps travel in the `cx.steps` header (`encode_steps`), which the store
never has to parse."""


def _order(step: Step) -> tuple[int, str]:
    return step.occurred_at_ms, step.event_id


@dataclass(slots=True)
class PersonState:
    steps: list[Step] = field(default_factory=list)
    event_ids: set[str] = field(default_factory=set)
    version: int = 0
    journey_ids: tuple[str, ...] = ()
    """Journeys last written for this person."""
    touched_at: float = 0.0
    """time.monotonic() of the last step (memory only)."""

    @property
    def last_at_ms(self) -> int:
        return self.steps[-1].occurred_at_ms if self.steps else 0


def add_steps(state: PersonState, steps: Iterable[Step]) -> int:
    """Add the steps not seen yet, in event-time order; how many were new."""
    added = 0
    for step in steps:
        if step.event_id not in state.event_ids:
            state.event_ids.add(step.event_id)
            insort(state.steps, step, key=_order)
            added += 1
    return added


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """One changelog record of a person (JSON)."""

    customer_key: str
    version: int
    as_of_ms: int
    steps: list[Step]
    journeys: list[Journey]
    retired: list[str]
    """Journey ids written before that no longer exist (a late step moved a
    journey's start, or the person was merged into another)."""
    moved_to: str | None = None
    evicted: bool = False
    """Idle: the state left memory (this record keeps it, for a late step)."""


def encode_record(record: PersonRecord) -> tuple[bytes, bytes]:
    """The record's value (JSON: the person's journeys as `journeys` rows,
    ready for the store, and deletion rows for the retired ids) and its
    encoded steps."""
    key, version, as_of = record.customer_key, record.version, record.as_of_ms
    rows = [journey_row(key, version, as_of, journey) for journey in record.journeys]
    rows += [deleted_row(key, version, as_of, journey_id) for journey_id in record.retired]
    value = orjson.dumps(
        {
            "customer_key": key,
            "version": version,
            "as_of_ms": as_of,
            "journey_ids": [journey.journey_id for journey in record.journeys],
            "rows": rows,
            "moved_to": record.moved_to,
            "evicted": record.evicted,
        }
    )
    return value, encode_steps(record.steps)


def decode_record(raw: bytes) -> dict[str, Any]:
    """The record's value as JSON values."""
    data: dict[str, Any] = orjson.loads(raw)
    return data


def restored(data: dict[str, Any], encoded_steps: bytes) -> PersonState | None:
    """The state a changelog record holds (its decoded value and steps), or
    None when the person was merged into another."""
    if data["moved_to"] is not None:
        return None
    steps = decode_steps(encoded_steps)
    return PersonState(
        steps=steps,
        event_ids={step.event_id for step in steps},
        version=data["version"],
        journey_ids=tuple(data["journey_ids"]),
    )
