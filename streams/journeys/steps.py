"""`Step`: what a journey needs of one touchpoint, flat and compact.

Steps are kept in memory for many people and stored as JSON arrays, so they
hold only str/int/float/None fields: no enums, no nested objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import orjson

from streams.ingest.touchpoint import Touchpoint, Typed, typed_properties
from streams.runtime.headers import format_headers
from streams.runtime.right_size import right_sized

STEPS_FORMAT = b"steps/2"
"""Value of the `cx.format` header on the journey-steps topic; the value is
`encode_keyed_steps`: a bundle of (customer key, steps) pairs, one step for a
new touchpoint, many for a person moved to another key."""

STEPS_HEADERS = format_headers(STEPS_FORMAT)
"""Headers of every journey-steps record."""

STEPS_HEADER = "cx.steps"
"""The header that carries a person's encoded steps (`encode_steps`) on the
changelog and the closed-journeys topics, beside the record's JSON value."""


def with_steps(value_format: bytes, steps: bytes) -> list[tuple[str, bytes]]:
    """The headers of a changelog or closure record: its format, its steps."""
    return [*format_headers(value_format), (STEPS_HEADER, steps)]


def steps_in(headers: Iterable[tuple[str, bytes]]) -> bytes:
    """The encoded steps a changelog or closure record carries."""
    return next(value for name, value in headers if name == STEPS_HEADER)


class Step(NamedTuple):
    event_id: str
    occurred_at_ms: int
    channel: str
    event_type: str
    stage: str | None = None
    store_id: str | None = None
    session_id: str | None = None
    order_id: str | None = None
    revenue: float | None = None
    currency: str | None = None
    contact_id: str | None = None
    message_kind: str | None = None
    survey: str | None = None
    score: int | None = None
    dimension: str | None = None
    about_event_id: str | None = None


def step_of(touchpoint: Touchpoint, typed: Typed | None = None) -> Step:
    """The step of a touchpoint (pure). store_id and session_id come from the
    context, the rest from its typed properties (`typed_properties`: pass
    them when they are at hand), revenue as a float."""
    if typed is None:
        typed = typed_properties(touchpoint)
    context = touchpoint.context
    revenue = typed.revenue
    # Channel and Stage are str enums: the members are the strings (no .value,
    # a descriptor call), equal to and encoded as their values.
    return Step(
        touchpoint.event_id,
        touchpoint.occurred_at_ms,
        touchpoint.channel,
        touchpoint.event_type,
        touchpoint.stage,
        context.get("store_id"),
        context.get("session_id"),
        typed.order_id,
        float(revenue) if revenue is not None else None,
        typed.currency,
        typed.contact_id,
        typed.message_kind,
        typed.survey,
        typed.score,
        typed.dimension,
        typed.about_event_id,
    )


def encode_steps(steps: Iterable[Step]) -> bytes:
    """A JSON array of steps, each the JSON array of its fields in order,
    right-sized: the journey stage keeps one per person in memory."""
    return right_sized(orjson.dumps([tuple(step) for step in steps]))


def decode_steps(raw: bytes) -> list[Step]:
    """Inverse of `encode_steps` (exact: ints stay ints, floats floats)."""
    rows = orjson.loads(raw)
    if not isinstance(rows, list):
        raise ValueError("encoded steps must be a JSON array")
    return [Step._make(row) for row in rows]


KeyedSteps = tuple[str, Sequence[Step]]


def encode_keyed_steps(items: Iterable[KeyedSteps]) -> bytes:
    """A JSON array of [customer key, [step, ...]] pairs."""
    return orjson.dumps([(key, [tuple(step) for step in steps]) for key, steps in items])


FORWARD_CHUNK = 200
"""Steps per pair when a person's history is sent on (`keyed_chunks`), so a
long history travels in several records, none too large for the broker."""


def keyed_chunks(items: Iterable[KeyedSteps], size: int = FORWARD_CHUNK) -> list[tuple[str, bytes]]:
    """(customer key, the encoded [key, [step, ...]] pair) of each item, a
    long one cut into pairs of at most `size` steps (the journey stage
    gathers a key's steps from every pair); `join_keyed` makes encoded pairs
    one record's value."""
    return [
        (key, orjson.dumps((key, [tuple(step) for step in steps[start : start + size]])))
        for key, steps in items
        for start in range(0, max(len(steps), 1), size)
    ]


def join_keyed(encoded: Sequence[bytes]) -> bytes:
    """The value of a journey-steps record holding these encoded pairs (what
    `decode_keyed_steps` reads)."""
    return b"[" + b",".join(encoded) + b"]"


def decode_keyed_steps(raw: bytes) -> list[tuple[str, list[Step]]]:
    """Inverse of `encode_keyed_steps`."""
    return [(key, [Step._make(row) for row in rows]) for key, rows in orjson.loads(raw)]
