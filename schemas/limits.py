"""The bounds of the wire contract: how large, deep, long, big and when an
accepted event may be.

Every accepted event must be representable downstream: encodable as JSON by
orjson (integers within signed 64 bits, finite floats, at most 255 levels),
storable in ClickHouse (revenue in Decimal(18, 4), event time in
DateTime64(3)) and small enough for a broker to carry. Each bound is defined
here once; the contract models, the fast path, the JSON Schema and the
producer guide all read it from here.
"""

from __future__ import annotations

import time
from math import isfinite
from typing import NamedTuple

MAX_VALUE_BYTES = 512 * 1024
"""A message value holds at most this many bytes (reason `too_large`)."""

MAX_DEPTH = 32
"""A property value nests at most this many levels of arrays and objects
(reason `too_deep`)."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""Integers anywhere in `properties` lie within signed 64 bits (reason
`number_out_of_range`); floats there must be finite."""

MAX_AMOUNT = 10**14
"""`revenue` and `price` are below this (exclusive): the most that
Decimal(18, 4) holds (reason `number_out_of_range`)."""

MAX_EVENT_ID_CHARS = 128
MAX_IDENTIFIER_CHARS = 256
"""Each `identity` field, as sent (before blanks are trimmed)."""
MAX_CONTEXT_CHARS = 1024
"""Each `context` field, as sent."""
MAX_EXTERNAL_ID_CHARS = 256
"""Producer ids: order_id, product_id, contact_id, staff_id."""
MAX_TEXT_CHARS = 8192
"""Every other typed free-text property (url, query, comment, ...)."""

EARLIEST_EVENT_MS = 0
"""`occurred_at` is at or after 1970-01-01T00:00:00Z (reason
`timestamp_out_of_range`)."""
MAX_FUTURE_MS = 24 * 60 * 60 * 1000
"""`occurred_at` is at most this long after the processor received the event
(reason `timestamp_out_of_range`): a clock far ahead would otherwise move the
journeys' event-time watermark and end every open journey."""


def event_time_in_range(occurred_at_ms: int, received_at_ms: int) -> bool:
    """Whether an event time (epoch ms) lies within the contract's bounds."""
    return EARLIEST_EVENT_MS <= occurred_at_ms <= received_at_ms + MAX_FUTURE_MS


def now_ms() -> int:
    """The wall clock, epoch milliseconds: the receive time when none is given."""
    return time.time_ns() // 1_000_000


TOO_DEEP = "too_deep"
NUMBER_OUT_OF_RANGE = "number_out_of_range"


def free_value_problem(value: object, levels_left: int = MAX_DEPTH) -> str | None:
    """The first bound a parsed JSON value breaks (`TOO_DEEP` or
    `NUMBER_OUT_OF_RANGE`), or None. For values whose shape the contract does
    not type: unknown extra properties."""
    if type(value) is int:
        return None if INT64_MIN <= value <= INT64_MAX else NUMBER_OUT_OF_RANGE
    if type(value) is float:
        return None if isfinite(value) else NUMBER_OUT_OF_RANGE
    if type(value) is dict or type(value) is list:
        if not levels_left:
            return TOO_DEEP
        for item in value.values() if type(value) is dict else value:
            problem = free_value_problem(item, levels_left - 1)
            if problem is not None:
                return problem
    return None


class Bound(NamedTuple):
    """One bound in plain words, as the producer guide lists it."""

    what: str
    bound: str
    reason: str


_TEXT_PROPERTIES = (
    "`url`, `referrer`, `query`, `screen`, `campaign_id`, `topic`, `reason`, `text`, `comment`"
)
_IDS = "`order_id`, `product_id`, `contact_id`, `staff_id`"

BOUNDS: tuple[Bound, ...] = (
    Bound("the whole value", f"at most {MAX_VALUE_BYTES:,} bytes (512 KiB)", "too_large"),
    Bound(
        "arrays and objects in a property",
        f"nested at most {MAX_DEPTH} levels; anywhere in the value, no deeper than the parser "
        "reads (about 200 levels)",
        "too_deep",
    ),
    Bound(
        "integers anywhere in `properties`, nested ones too",
        f"{INT64_MIN:,} to {INT64_MAX:,} (signed 64 bits)",
        "number_out_of_range",
    ),
    Bound(
        "numbers anywhere in `properties`, nested ones too",
        "finite: NaN, Infinity, -Infinity and numbers too large for a double (1e400) are refused",
        "number_out_of_range",
    ),
    Bound(
        "`revenue`, `price`",
        f"below {MAX_AMOUNT:,} (10^14, what a Decimal(18, 4) column holds)",
        "number_out_of_range",
    ),
    Bound("`quantity`, value", f"at most {INT64_MAX:,}", "number_out_of_range"),
    Bound(f"{_IDS} sent as integers", "signed 64 bits, as any integer", "number_out_of_range"),
    Bound("`event_id`, length", f"1 to {MAX_EVENT_ID_CHARS} characters", "invalid_value"),
    Bound(
        "`about_event_id` (it names an event), length",
        f"at most {MAX_EVENT_ID_CHARS} characters",
        "invalid_value",
    ),
    Bound(
        "each `identity` field, length",
        f"at most {MAX_IDENTIFIER_CHARS} characters as sent (surrounding blanks count)",
        "invalid_value",
    ),
    Bound(
        "each `context` field, length", f"at most {MAX_CONTEXT_CHARS:,} characters", "invalid_value"
    ),
    Bound(f"{_IDS}, length", f"1 to {MAX_EXTERNAL_ID_CHARS} characters", "invalid_value"),
    Bound(f"{_TEXT_PROPERTIES}, length", f"at most {MAX_TEXT_CHARS:,} characters", "invalid_value"),
    Bound("`occurred_at`, earliest", "1970-01-01T00:00:00Z", "timestamp_out_of_range"),
    Bound(
        "`occurred_at`, latest",
        f"{MAX_FUTURE_MS // 3_600_000} hours after the processor received the event "
        "(to the millisecond)",
        "timestamp_out_of_range",
    ),
)
"""Every bound in plain words, for the producer guide (`docs/producers.md`
lists exactly these; tests/test_cli.py holds it to them)."""
