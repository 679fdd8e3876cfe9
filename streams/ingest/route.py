"""Stage 1, ingest: raw channel records in, touchpoints and dead letters out;
then each touchpoint's store row and journey step, routed to its partition.

Pure: no I/O. Every record gives exactly one touchpoint or one dead letter, so
accepted + rejected = received holds by construction; a record the code
fails on (a bug) becomes a dead letter of its own (`processing_failed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol

from schemas import Channel, Rejection, RejectReason, accept_event
from streams.clickhouse.bundle import encode_row
from streams.deadletters.letter import DeadLetter
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.touchpoint import Touchpoint, to_touchpoint, typed_properties
from streams.journeys.steps import step_of
from streams.runtime.headers import format_headers
from streams.runtime.partitioning import partition_of
from streams.store.rows import touchpoint_row


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
    failed: list[tuple[int, Exception]] = []
    """(index in the batch, error) of the records the code failed on; each
    is among `dead_letters` too (`processing_failed`)."""


_EMPTY = Rejection.of(RejectReason.INVALID_JSON, "the record has no value")


def set_aside(
    record: RawRecord, channel: Channel, received_at_ms: int, stage: str, exc: Exception
) -> DeadLetter:
    """The dead letter of a valid record that `stage` failed on (a bug): the
    original bytes, and the error's type only (its message may quote data)."""
    rejection = Rejection.of(
        RejectReason.PROCESSING_FAILED,
        f"the {stage} stage failed on this event ({type(exc).__name__}); it was set aside",
    )
    return _dead_letter(record, channel, received_at_ms, rejection)


def _dead_letter(
    record: RawRecord, channel: Channel, received_at_ms: int, rejection: Rejection
) -> DeadLetter:
    return DeadLetter(
        rejection,
        channel,
        record.topic,
        record.partition,
        record.offset,
        record.timestamp,
        record.key,
        record.value or b"",
        received_at_ms,
    )


def ingest_record(
    record: RawRecord, channel: Channel, received_at_ms: int, pseudonymizer: Pseudonymizer
) -> Touchpoint | DeadLetter:
    value = record.value
    verdict = accept_event(value, channel, received_at_ms=received_at_ms) if value else _EMPTY
    if isinstance(verdict, Rejection):
        return _dead_letter(record, channel, received_at_ms, verdict)
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
    failed: list[tuple[int, Exception]] = []
    for at, record in enumerate(records):
        channel = channels[record.topic]
        try:
            outcome = ingest_record(record, channel, received_at_ms, pseudonymizer)
        except Exception as exc:  # the contract admits it: a bug of ours
            failed.append((at, exc))
            outcome = set_aside(record, channel, received_at_ms, "ingest", exc)
        if isinstance(outcome, DeadLetter):
            dead_letters.append(outcome)
        else:
            touchpoints.append(outcome)
    return IngestResult(touchpoints, dead_letters, failed)


TOUCHPOINTS_FORMAT = b"touchpoints/2"
"""Value of the `cx.format` header of the touchpoints topic's records: row
bundles whose index entries are (event_id, occurred_at_ms, customer_key,
step). Records of format `rows/1` (index entries (event_id, occurred_at_ms),
their steps sent by ingest itself) are still read."""
TOUCHPOINTS_HEADERS = format_headers(TOUCHPOINTS_FORMAT)
"""Headers of every touchpoints-topic record."""


class Routed(NamedTuple):
    """An ingest batch ready to send to the touchpoints topic."""

    bundles: dict[int, list[tuple[bytes, bytes]]]
    """(encoded index entry, encoded row) by the partition of the event id,
    so every delivery of an event meets the first, whoever it names. The
    index entry is (event_id, occurred_at_ms, customer_key, step): the
    store decides which deliveries are new and sends their steps on."""
    failed: list[tuple[int, Exception]]
    """(index, error) of the touchpoints that could not be made into a row
    or step (a bug): each is set aside, not the batch."""


def route_batch(
    touchpoints: Sequence[Touchpoint], customer_keys: Sequence[str], partitions: int
) -> Routed:
    """Each touchpoint's store row and journey step, encoded and grouped by
    the touchpoints-topic partition they go to; `customer_keys[i]` is
    touchpoint i's stitched person."""
    bundles: dict[int, list[tuple[bytes, bytes]]] = {}
    failed: list[tuple[int, Exception]] = []
    for at, (tp, key) in enumerate(zip(touchpoints, customer_keys, strict=True)):
        route = partition_of(tp.event_id.encode(), partitions)
        try:
            typed = typed_properties(tp)
            row = encode_row(touchpoint_row(tp, key, route, typed))
            entry = encode_row((tp.event_id, tp.occurred_at_ms, key, tuple(step_of(tp, typed))))
        except Exception as exc:  # the contract admits it: a bug of ours
            failed.append((at, exc))
            continue
        group = bundles.get(route)
        if group is None:
            bundles[route] = [(entry, row)]
        else:
            group.append((entry, row))
    return Routed(bundles, failed)
