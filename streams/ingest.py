"""Stage 1, ingest: raw channel records in, touchpoints and dead letters out.

Pure: no I/O. Every record gives exactly one touchpoint or one dead letter, so
accepted + rejected = received holds by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol

from schemas import Channel, Rejection, RejectReason, validate_event
from streams.deadletter import DeadLetter
from streams.pseudonym import Pseudonymizer
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
    verdict = validate_event(value, channel) if value else _EMPTY
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
