"""The identity log: link evidence and erasures on a single-partition topic,
in the one order every worker applies them in.

An erasure is a record of the log, not a side channel: a worker replaying
the log from its start re-links a person from their evidence and forgets
them again at the erasure, so neither a restart nor a fresh worker brings
an erased person back."""

from __future__ import annotations

from typing import NamedTuple

import orjson

from streams.identity.graph import Change, Evidence
from streams.runtime.headers import FORMAT_HEADER, format_headers

FORMAT = b"identity-evidence/1"
"""Value of the `cx.format` header of evidence; the value is the JSON array
of an `Evidence`'s fields."""
HEADERS = format_headers(FORMAT)
"""Headers of every evidence record."""
ERASURE_FORMAT = b"identity-erasure/1"
"""`cx.format` of an erasure; the value is the JSON array of an `Erasure`'s
fields."""
ERASURE_HEADERS = format_headers(ERASURE_FORMAT)

Applied = tuple[int, Evidence, Change]
"""(identity log offset, the evidence, what applying it changed). An
erasure's evidence names its request (`Erasure.as_evidence`) and links
nothing; its change lists who was erased."""


class Erasure(NamedTuple):
    """A request to forget the person an identifier belongs to."""

    request_id: str
    identifier: str
    """`kind:value` as stored (email and phone as keyed hashes)."""
    requested_at_ms: int
    suppress: bool
    """Whether later events of the person are dropped (else: a new person)."""

    def as_evidence(self) -> Evidence:
        return Evidence(self.request_id, self.requested_at_ms, "erasure", ())


def encode_evidence(evidence: Evidence) -> bytes:
    return orjson.dumps(tuple(evidence))


def decode_evidence(raw: bytes) -> Evidence:
    event_id, occurred_at_ms, channel, identifiers = orjson.loads(raw)
    return Evidence(event_id, occurred_at_ms, channel, tuple(identifiers))


def encode_erasure(erasure: Erasure) -> bytes:
    return orjson.dumps(tuple(erasure))


def decode_erasure(raw: bytes) -> Erasure:
    request_id, identifier, requested_at_ms, suppress = orjson.loads(raw)
    return Erasure(str(request_id), str(identifier), int(requested_at_ms), bool(suppress))


def is_erasure(headers: object) -> bool:
    """Whether a record with these headers is an erasure (else evidence)."""
    if not isinstance(headers, (list, tuple)):
        return False
    return any(name == FORMAT_HEADER and value == ERASURE_FORMAT for name, value in headers)
