"""Dead letters: a rejected record and why, as it travels on `cx.deadletter`.

On the topic the record value is the original bytes, unchanged, so a fixed
event can be replayed as it was. The rest rides in headers (`cx.dlq.*`). The
key is the source position, `topic/partition/offset`: a record rejected twice
(a retried batch) lands on the same partition and is stored once.

Most dead letters come from ingest (the contract). A valid record that a
later stage failed on (`streams.runtime.failures`) is a dead letter of that stage:
its value is what that stage held (the store: the touchpoint's row, already
pseudonymised), its position still the original record's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import orjson
from pydantic import TypeAdapter

from schemas import Channel, Rejection, RejectionError, RejectReason
from schemas.limits import MAX_VALUE_BYTES

VERSION = b"1"
KEPT_BYTES = MAX_VALUE_BYTES
"""A rejected value longer than the contract's bound (`too_large`) is kept on
the topic up to it, so that a dead letter fits a topic with Kafka's default
record size limit (1 MB) whatever a channel topic allows."""
_ERRORS = TypeAdapter(tuple[RejectionError, ...])
_H = "cx.dlq."


class DeadLetter(NamedTuple):
    rejection: Rejection
    channel: Channel
    source_topic: str
    source_partition: int
    source_offset: int
    source_timestamp_ms: int | None
    key: bytes | None
    value: bytes
    received_at_ms: int
    rejected_by: str = "ingest"
    """The stage that set the record aside."""
    truncated_from: int | None = None
    """Read back from the topic: the original value's size when `value`
    holds only its first `KEPT_BYTES` (`encode_dead_letter`)."""

    @property
    def position_key(self) -> bytes:
        return f"{self.source_topic}/{self.source_partition}/{self.source_offset}".encode()


def encode_dead_letter(letter: DeadLetter) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the dead-letter topic record."""
    rejection = letter.rejection
    value = letter.value
    headers = [
        (_H + "version", VERSION),
        (_H + "reason", rejection.reason.value.encode()),
        (_H + "errors", orjson.dumps([e.model_dump(mode="json") for e in rejection.errors])),
        (_H + "channel", letter.channel.value.encode()),
        (_H + "source.topic", letter.source_topic.encode()),
        (_H + "source.partition", str(letter.source_partition).encode()),
        (_H + "source.offset", str(letter.source_offset).encode()),
        (_H + "received_at_ms", str(letter.received_at_ms).encode()),
        (_H + "rejected_by", letter.rejected_by.encode()),
    ]
    if len(value) > KEPT_BYTES:
        headers.append((_H + "truncated_from", str(len(value)).encode()))
        value = value[:KEPT_BYTES]
    if letter.source_timestamp_ms is not None:
        headers.append((_H + "source.timestamp_ms", str(letter.source_timestamp_ms).encode()))
    if letter.key is not None:
        headers.append((_H + "source.key", letter.key))
    if rejection.event_id is not None:
        headers.append((_H + "event_id", rejection.event_id.encode()))
    if rejection.event_type is not None:
        headers.append((_H + "event_type", rejection.event_type.encode()))
    return letter.position_key, value, headers


def decode_dead_letter(value: bytes | None, headers: Iterable[tuple[str, bytes]]) -> DeadLetter:
    """Read a dead-letter topic record back; raises KeyError on a record this
    project did not write."""
    h = {name[len(_H) :]: data for name, data in headers if name.startswith(_H)}
    errors = _ERRORS.validate_json(h["errors"])
    timestamp = h.get("source.timestamp_ms")
    event_id, event_type = h.get("event_id"), h.get("event_type")
    rejected_by, truncated_from = h.get("rejected_by"), h.get("truncated_from")
    return DeadLetter(
        rejection=Rejection(
            reason=RejectReason(h["reason"].decode()),
            errors=errors,
            event_id=event_id.decode() if event_id is not None else None,
            event_type=event_type.decode() if event_type is not None else None,
        ),
        channel=Channel(h["channel"].decode()),
        source_topic=h["source.topic"].decode(),
        source_partition=int(h["source.partition"]),
        source_offset=int(h["source.offset"]),
        source_timestamp_ms=int(timestamp) if timestamp is not None else None,
        key=h.get("source.key"),
        value=value or b"",
        received_at_ms=int(h["received_at_ms"]),
        rejected_by=rejected_by.decode() if rejected_by is not None else "ingest",
        truncated_from=int(truncated_from) if truncated_from is not None else None,
    )
