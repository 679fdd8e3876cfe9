"""Dead letters: a rejected record and why, as it travels on `cx.deadletter`.

On the topic the record value is the original bytes, unchanged, so a fixed
event can be replayed as it was. The rest rides in headers (`cx.dlq.*`). The
key is the source position, `topic/partition/offset`: a record rejected twice
(a retried batch) lands on the same partition and is stored once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import orjson
from pydantic import TypeAdapter

from schemas import Channel, Rejection, RejectionError, RejectReason

VERSION = b"1"
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

    @property
    def position_key(self) -> bytes:
        return f"{self.source_topic}/{self.source_partition}/{self.source_offset}".encode()


def encode_dead_letter(letter: DeadLetter) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the dead-letter topic record."""
    rejection = letter.rejection
    headers = [
        (_H + "version", VERSION),
        (_H + "reason", rejection.reason.value.encode()),
        (_H + "errors", orjson.dumps([e.model_dump(mode="json") for e in rejection.errors])),
        (_H + "channel", letter.channel.value.encode()),
        (_H + "source.topic", letter.source_topic.encode()),
        (_H + "source.partition", str(letter.source_partition).encode()),
        (_H + "source.offset", str(letter.source_offset).encode()),
        (_H + "received_at_ms", str(letter.received_at_ms).encode()),
    ]
    if letter.source_timestamp_ms is not None:
        headers.append((_H + "source.timestamp_ms", str(letter.source_timestamp_ms).encode()))
    if letter.key is not None:
        headers.append((_H + "source.key", letter.key))
    if rejection.event_id is not None:
        headers.append((_H + "event_id", rejection.event_id.encode()))
    if rejection.event_type is not None:
        headers.append((_H + "event_type", rejection.event_type.encode()))
    return letter.position_key, letter.value, headers


def decode_dead_letter(value: bytes | None, headers: Iterable[tuple[str, bytes]]) -> DeadLetter:
    """Read a dead-letter topic record back; raises KeyError on a record this
    project did not write."""
    h = {name[len(_H) :]: data for name, data in headers if name.startswith(_H)}
    errors = _ERRORS.validate_json(h["errors"])
    timestamp = h.get("source.timestamp_ms")
    event_id, event_type = h.get("event_id"), h.get("event_type")
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
    )
