"""The `cx.format` header every record of an internal topic carries (pure).

Its value names the encoding of the record's value, defined beside the code
that encodes it: `streams.clickhouse.bundle.FORMAT` (row bundles),
`streams.ingest.route.TOUCHPOINTS_FORMAT`, `streams.journeys.steps.STEPS_FORMAT`,
`streams.journeys.state.RECORD_FORMAT`, `streams.identity.log.FORMAT`.
"""

from __future__ import annotations

FORMAT_HEADER = "cx.format"
"""Name of the header that names a record value's encoding."""


def format_headers(value_format: bytes) -> list[tuple[str, bytes]]:
    """The headers of a record whose value is encoded as `value_format` (a
    list: aiokafka's batch builder takes no tuple)."""
    return [(FORMAT_HEADER, value_format)]
