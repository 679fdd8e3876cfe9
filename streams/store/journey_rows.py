"""Journeys as ClickHouse rows (pure). The journey stage builds the rows and
sends them in its changelog records; the store only turns them into columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from streams.journeys.records import Journey

Row = tuple[Any, ...]


def journey_row(customer_key: str, version: int, as_of_ms: int, journey: Journey) -> Row:
    """The `journeys` row of one version of a journey."""
    support = journey.support
    follow = journey.follow_up
    return (
        customer_key,
        journey.journey_id,
        version,
        0,
        as_of_ms,
        journey.started_at_ms,
        journey.last_at_ms,
        int(journey.ended),
        journey.touchpoints,
        [stage for stage, _ in journey.stages],
        [at for _, at in journey.stages],
        journey.channels,
        journey.channel_switches,
        journey.first_channel,
        journey.last_channel,
        int(journey.converted),
        journey.purchase_channel or "",
        journey.first_purchase_at_ms,
        journey.time_to_purchase_ms,
        journey.purchases,
        dict(journey.revenue),
        len(support),
        [c.first_answer_ms for c in support if c.first_answer_ms is not None],
        [c.resolution_ms for c in support if c.resolution_ms is not None],
        orjson.dumps(support).decode(),
        orjson.dumps(journey.surveys).decode(),
        int(follow.thank_you_sent),
        int(follow.reminder_sent),
        int(follow.survey_sent),
        int(follow.answered),
        [pain.kind.value for pain in journey.pain_points],
        orjson.dumps(journey.pain_points).decode(),
    )


def deleted_row(customer_key: str, version: int, as_of_ms: int, journey_id: str) -> Row:
    """The row that retires a journey id (a later version, deleted)."""
    at = as_of_ms
    return (
        customer_key, journey_id, version, 1, at, at, at, 0, 0,
        [], [], [], 0, "", "", 0, "", None, None, 0, {}, 0, [], [], "[]", "[]",
        0, 0, 0, 0, [], "[]",
    )  # fmt: skip


def journey_columns(rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    """Rows (as built above, or decoded from JSON) as columns."""
    if not rows:
        return {name: [] for name in JOURNEY_COLUMNS}
    return dict(zip(JOURNEY_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))


JOURNEY_COLUMNS: tuple[str, ...] = (
    "customer_key",
    "journey_id",
    "version",
    "is_deleted",
    "as_of",
    "started_at",
    "last_at",
    "ended",
    "touchpoints",
    "stages",
    "stage_reached_at",
    "channels",
    "channel_switches",
    "first_channel",
    "last_channel",
    "converted",
    "purchase_channel",
    "first_purchase_at",
    "time_to_purchase_ms",
    "purchases",
    "revenue",
    "support_contacts",
    "support_first_answer_ms",
    "support_resolution_ms",
    "support",
    "surveys",
    "thank_you_sent",
    "reminder_sent",
    "survey_sent",
    "follow_up_answered",
    "pain_kinds",
    "pain_points",
)
