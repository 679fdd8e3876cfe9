"""What the journey core holds per partition (`Partition`) and what a flush
or a move hands the Kafka side to send, in order (`Outbox`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.clickhouse.bundle import Row
from streams.journeys.closed import Closure
from streams.journeys.state import PersonRecord, PersonState
from streams.journeys.steps import KeyedSteps, Step

People = dict[str, PersonState]


@dataclass
class Partition:
    """One journey-steps partition's state in memory."""

    people: People = field(default_factory=dict)
    evicted: dict[str, int] = field(default_factory=dict)
    """People evicted from memory: the changelog offset of the record that
    holds their state, reloaded if a late step comes."""
    pending: dict[str, list[Step]] = field(default_factory=dict)
    """Steps handled since the last flush, by person."""
    watermark: int = 0
    """Latest event time seen (ms)."""
    swept: tuple[float, int] = (0.0, 0)
    """Wall clock and watermark of the last eviction sweep."""
    reaching: dict[str, int | None] = field(default_factory=dict)
    """People whose closures are being read back: how far (the event time of
    their earliest new step; None: all of them, for a move; NEWEST_CLOSURE
    of `streams.journeys.logic`: the newest one whole)."""


@dataclass
class Outbox:
    """What a flush or a move sends, in this order: `closures`, then
    `versions`, then `rows` and `forwarded`, then `releases`, then
    `tombstones`.

    A closure goes first: the records that point at it are sent once its
    offset is known (`JourneyLogic.closed`). The closures a version
    superseded are tombstoned last, once nothing points at them.

    A new version's changelog record goes before its rows: the store never
    holds a journey the person's state does not know, so a journey that later
    vanishes is always retired (a crash in between leaves the state ahead of
    the store; the state it restores is `unconfirmed` and writes its journeys
    again). An eviction or a move changes no journey id: its rows go first,
    then the record that lets the state go."""

    closures: list[tuple[int, Closure]] = field(default_factory=list)
    """(partition, closure) of the journeys closed: sent first."""
    versions: list[PersonRecord] = field(default_factory=list)
    """Changelog records of new versions: sent before their rows."""
    rows: list[tuple[str, Row]] = field(default_factory=list)
    forwarded: list[KeyedSteps] = field(default_factory=list)
    """Steps for the key their person was merged into."""
    releases: list[PersonRecord] = field(default_factory=list)
    """Changelog records of people evicted or moved: sent after their rows."""
    evictions: list[tuple[int, str, int]] = field(default_factory=list)
    """(partition, key, index in releases) of each person evicted."""
    tombstones: list[tuple[int, bytes]] = field(default_factory=list)
    """(partition, key) of the closures superseded: sent last."""

    def empty(self) -> bool:
        parts = (self.closures, self.versions, self.rows, self.forwarded, self.releases)
        return not any((*parts, self.tombstones))
