"""Dead letters as ClickHouse `deadletters` columns (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

from streams.deadletters.letter import DeadLetter

DEADLETTER_COLUMNS: tuple[str, ...] = (
    "received_at",
    "channel",
    "reason",
    "reasons",
    "errors",
    "event_id",
    "event_type",
    "source_topic",
    "source_partition",
    "source_offset",
    "source_timestamp",
    "payload_bytes",
    "payload_sha256",
    "deadletter_partition",
    "deadletter_offset",
    "rejected_by",
)


def dead_letter_columns(
    letters: Sequence[tuple[DeadLetter, int, int]],
) -> dict[str, list[Any]]:
    """Columns of (dead letter, dead-letter partition, dead-letter offset)."""
    rows = []
    for letter, partition, offset in letters:
        rejection = letter.rejection
        rows.append(
            (
                letter.received_at_ms,
                letter.channel.value,
                rejection.reason.value,
                [error.reason.value for error in rejection.errors],
                orjson.dumps([e.model_dump(mode="json") for e in rejection.errors]).decode(),
                rejection.event_id or "",
                rejection.event_type or "",
                letter.source_topic,
                letter.source_partition,
                letter.source_offset,
                letter.source_timestamp_ms,
                letter.truncated_from or len(letter.value),
                hashlib.sha256(letter.value).hexdigest(),
                partition,
                offset,
                letter.rejected_by,
            )
        )
    return dict(zip(DEADLETTER_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
