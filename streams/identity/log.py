"""The identity log: link evidence on a single-partition topic, in the one
order every worker applies it in."""

from __future__ import annotations

import orjson

from streams.identity.graph import Change, Evidence
from streams.runtime.headers import format_headers

FORMAT = b"identity-evidence/1"
"""Value of the `cx.format` header; the value is the JSON array of an
`Evidence`'s fields."""
HEADERS = format_headers(FORMAT)
"""Headers of every identity-log record."""

Applied = tuple[int, Evidence, Change]
"""(identity log offset, the evidence, what applying it changed)."""


def encode_evidence(evidence: Evidence) -> bytes:
    return orjson.dumps(tuple(evidence))


def decode_evidence(raw: bytes) -> Evidence:
    event_id, occurred_at_ms, channel, identifiers = orjson.loads(raw)
    return Evidence(event_id, occurred_at_ms, channel, tuple(identifiers))
