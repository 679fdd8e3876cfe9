"""Stage 1, ingest: raw channel records in, touchpoints and dead letters out;
then each touchpoint's store row and journey step, routed to their partitions.

Pure: no I/O. Every record gives exactly one touchpoint or one dead letter, so
accepted + rejected = received holds by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol

from schemas import Channel, Rejection, RejectReason, accept_event
from streams.deadletter import DeadLetter
from streams.journeys.steps import KeyedSteps, step_of
from streams.kafka import partition_of
from streams.pseudonym import Pseudonymizer
from streams.store.bundle import Row
from streams.store.rows import touchpoint_row
from streams.touchpoint import Touchpoint, to_touchpoint


class RawRecord(Protocol):
    """What ingest reads of a Kafka record (aiokafka's ConsumerRecord fits)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int | None: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class IngestResult(NamedTuple):
    touchpoints: list[Touchpoint]
    dead_letters: list[DeadLetter]


_EMPTY = Rejection.of(RejectReason.INVALID_JSON, "the record has no value")


def ingest_record(
    record: RawRecord, channel: Channel, received_at_ms: int, pseudonymizer: Pseudonymizer
) -> Touchpoint | DeadLetter:
    value = record.value
    verdict = accept_event(value, channel, received_at_ms=received_at_ms) if value else _EMPTY
    if isinstance(verdict, Rejection):
        return DeadLetter(
            verdict,
            channel,
            record.topic,
            record.partition,
            record.offset,
            record.timestamp,
            record.key,
            value or b"",
            received_at_ms,
        )
    position = (record.topic, record.partition, record.offset)
    return to_touchpoint(verdict, channel, position, received_at_ms, pseudonymizer)


def ingest_batch(
    records: Iterable[RawRecord],
    channels: Mapping[str, Channel],
    received_at_ms: int,
    pseudonymizer: Pseudonymizer,
) -> IngestResult:
    """Validate and normalise a batch; `channels` maps topic to channel."""
    touchpoints: list[Touchpoint] = []
    dead_letters: list[DeadLetter] = []
    for record in records:
        outcome = ingest_record(record, channels[record.topic], received_at_ms, pseudonymizer)
        if isinstance(outcome, DeadLetter):
            dead_letters.append(outcome)
        else:
            touchpoints.append(outcome)
    return IngestResult(touchpoints, dead_letters)


class Routed(NamedTuple):
    """An ingest batch ready to send, grouped by partition."""

    touchpoints: dict[int, list[tuple[tuple[str, int], Row]]]
    """Touchpoints topic: ((event_id, occurred_at_ms), row) by the partition
    of the event's own key, so every delivery of an event meets the first."""
    steps: dict[int, list[KeyedSteps]]
    """Journey steps topic: (customer_key, (step,)) by the partition of the person."""


def route_batch(
    touchpoints: Sequence[Touchpoint],
    customer_keys: Sequence[str],
    touchpoint_partitions: int,
    step_partitions: int,
) -> Routed:
    """Each touchpoint's store row and journey step, grouped by the partition
    they go to; `customer_keys[i]` is touchpoint i's stitched person."""
    rows: dict[int, list[tuple[tuple[str, int], Row]]] = {}
    steps: dict[int, list[KeyedSteps]] = {}
    for tp, key in zip(touchpoints, customer_keys, strict=True):
        route = partition_of(tp.person_key.encode(), touchpoint_partitions)
        entry = ((tp.event_id, tp.occurred_at_ms), touchpoint_row(tp, key, route))
        rows.setdefault(route, []).append(entry)
        step = (key, (step_of(tp),))
        steps.setdefault(partition_of(key.encode(), step_partitions), []).append(step)
    return Routed(rows, steps)
