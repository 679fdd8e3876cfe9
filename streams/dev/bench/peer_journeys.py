"""The faust peer's journeys: what a straightforward one-event-at-a-time
implementation does to produce the `journeys` rows our worker produces.

For every touchpoint, the person's steps (kept in memory, in order, each
event once) take the new step, all their journeys are folded again with the
same pure functions as ours (`journeys_of_ordered`) and written as a new
version of the person, rows for the journeys that vanished included. When
the identity graph merges two people, the steps of the one merged move to
the other, whose journeys are folded again, and the merged one's journeys
are retired: the same rows as ours, one version per event instead of one per
flush.

Unlike our journey stage it keeps every person in memory (no eviction, no
changelog), as it keeps every event id it has seen: a point of comparison,
not a second processor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from streams.clickhouse.bundle import Row
from streams.identity.graph import Move
from streams.journeys.fold import journeys_of_ordered
from streams.journeys.rows import version_rows
from streams.journeys.rules import JourneyRules
from streams.journeys.state import merge_steps
from streams.journeys.steps import Step


@dataclass(slots=True)
class _Person:
    steps: list[Step] = field(default_factory=list)
    version: int = 0
    journey_ids: tuple[str, ...] = ()


class PeerJourneys:
    def __init__(self, rules: JourneyRules) -> None:
        self.rules = rules
        self.people: dict[str, _Person] = {}
        self.watermark = 0
        """Latest event time seen (ms): the peer's `as_of`."""
        self.versions = 0

    def add(self, key: str, step: Step, moves: Sequence[Move] = ()) -> list[Row]:
        """The rows of one touchpoint of person `key`, after the merges its
        evidence made (`moves`)."""
        rows: list[Row] = []
        for move in moves:
            rows += self._move(move)
        self.watermark = max(self.watermark, step.occurred_at_ms)
        rows += self._fold(key, (step,))
        return rows

    def _move(self, move: Move) -> list[Row]:
        """The merged person's steps join the person they now belong to; the
        merged person's journeys are retired."""
        gone = self.people.pop(move.from_key, None)
        if gone is None:
            return []
        retired = version_rows(
            move.from_key, gone.version + 1, self.watermark, (), gone.journey_ids
        )
        return retired + self._fold(move.to_key, gone.steps)

    def _fold(self, key: str, new: Iterable[Step]) -> list[Row]:
        """A new version of the person with `new` steps: all their journeys'
        rows, and deletions of the journeys that no longer exist."""
        person = self.people.setdefault(key, _Person())
        steps = merge_steps(person.steps, new)
        if steps is None:
            return []  # every step known already
        person.steps = steps
        journeys = journeys_of_ordered(key, steps, self.rules, as_of_ms=self.watermark)
        person.version += 1
        self.versions += 1
        rows = version_rows(key, person.version, self.watermark, journeys, person.journey_ids)
        person.journey_ids = tuple(journey.journey_id for journey in journeys)
        return rows
