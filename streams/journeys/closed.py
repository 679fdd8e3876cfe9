"""Closed journeys: a person's ended journeys leave the working state.

A journey whose last step is older than the watermark by `final_after_ms`
(the inactivity gap or the longest rule window, whichever is longer, plus
the lateness) is final: its rows are written a last time and its steps go
to the closed-journeys topic as a `Closure` (the journeys one fold closed),
each closure pointing at the person's previous one by offset. The state
keeps the open journeys' steps and what the rules need of the closed ones
(where their chain starts, when the last one ended, whether any purchased),
so what the stage holds and writes per person is bounded by the open
journey, not by the person's tenure.

A step that reaches into the closed journeys (one within the gap after the
last closed journey, or before it), a merge, or a crash between a closure
and its rows reopens them: the stage reads the chain back from its newest
closure, and the journeys the step can still touch (newest first, one
journey at a time) go back into the state; the next fold writes them as if
they had never left (`streams.journeys.logic`). A closure whose journeys all
went back is superseded: tombstoned once the person's new version is
written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from streams.journeys.steps import with_steps

CLOSURE_FORMAT = b"closed/1"
"""Value of the `cx.format` header on the closed-journeys topic."""

NO_CHAIN = -1
"""No closure (yet): the person's journeys are all open."""
PENDING = -2
"""A closure being sent: its offset is known once the broker acknowledged it."""


class ClosedJourney(NamedTuple):
    """What the chain needs of one closed journey, besides its steps."""

    journey_id: str
    last_at_ms: int
    converted: bool
    steps: int
    """How many of the closure's steps are this journey's (they follow the
    ones of the journeys before it)."""


@dataclass(frozen=True, slots=True)
class Closure:
    """The steps of journeys one fold closed, and what the state knew of the
    closed journeys before them. A state's chain may point at the first few
    of them only (the others were reopened): `PersonState.chain_count`."""

    customer_key: str
    version: int
    """The person's version that closed them: with the key, names the record
    (unique, so compaction never drops a closure still pointed at)."""
    journeys: tuple[ClosedJourney, ...]
    steps: bytes
    """`encode_steps` of their steps, in order."""
    previous: int
    """Offset of the person's closure before this one (NO_CHAIN: none)."""
    previous_count: int
    """How many of that closure's journeys come before these."""
    previous_until_ms: int
    """Event time of the last step of the journeys before these (0: none)."""
    purchased_before: bool
    """Whether any journey before these converted (the loyalty rule)."""

    @property
    def key(self) -> bytes:
        return f"{self.customer_key}|{self.version}".encode()


def encode_closure(closure: Closure) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """The record of a closure: key, value (JSON) and headers (its steps
    travel in a header, as on the changelog)."""
    value = orjson.dumps(
        {
            "customer_key": closure.customer_key,
            "version": closure.version,
            "journeys": [tuple(journey) for journey in closure.journeys],
            "previous": closure.previous,
            "previous_count": closure.previous_count,
            "previous_until_ms": closure.previous_until_ms,
            "purchased_before": closure.purchased_before,
        }
    )
    return closure.key, value, with_steps(CLOSURE_FORMAT, closure.steps)


def decode_closure(value: bytes, steps: bytes) -> Closure:
    """Inverse of `encode_closure`, from the value and the `cx.steps` header."""
    data: dict[str, Any] = orjson.loads(value)
    return Closure(
        data["customer_key"],
        data["version"],
        tuple(ClosedJourney._make(journey) for journey in data["journeys"]),
        steps,
        data["previous"],
        data["previous_count"],
        data["previous_until_ms"],
        data["purchased_before"],
    )
