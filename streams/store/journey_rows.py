"""Journeys from the journey stage's changelog records as column-oriented
ClickHouse rows (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson


def _row(record: dict[str, Any], journey: dict[str, Any]) -> tuple[Any, ...]:
    support = journey["support"]
    follow = journey["follow_up"]
    stages = journey["stages"]
    return (
        record["customer_key"],
        journey["journey_id"],
        record["version"],
        0,
        record["as_of_ms"],
        journey["started_at_ms"],
        journey["last_at_ms"],
        int(journey["ended"]),
        journey["touchpoints"],
        [stage for stage, _ in stages],
        [at for _, at in stages],
        journey["channels"],
        journey["channel_switches"],
        journey["first_channel"],
        journey["last_channel"],
        int(journey["converted"]),
        journey["purchase_channel"] or "",
        journey["first_purchase_at_ms"],
        journey["time_to_purchase_ms"],
        journey["purchases"],
        dict(journey["revenue"]),
        len(support),
        [c["first_answer_ms"] for c in support if c["first_answer_ms"] is not None],
        [c["resolution_ms"] for c in support if c["resolution_ms"] is not None],
        orjson.dumps(support).decode(),
        orjson.dumps(journey["surveys"]).decode(),
        int(follow["thank_you_sent"]),
        int(follow["reminder_sent"]),
        int(follow["survey_sent"]),
        int(follow["answered"]),
        [pain["kind"] for pain in journey["pain_points"]],
        orjson.dumps(journey["pain_points"]).decode(),
    )


def _deleted(record: dict[str, Any], journey_id: str) -> tuple[Any, ...]:
    at = record["as_of_ms"]
    return (
        record["customer_key"], journey_id, record["version"], 1, at, at, at, 0, 0,
        [], [], [], 0, "", "", 0, "", None, None, 0, {}, 0, [], [], "[]", "[]",
        0, 0, 0, 0, [], "[]",
    )  # fmt: skip


def journey_columns(records: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows of decoded changelog records: one per journey, and a deletion
    row per retired journey id."""
    rows: list[tuple[Any, ...]] = []
    for record in records:
        rows.extend(_row(record, journey) for journey in record["journeys"])
        rows.extend(_deleted(record, journey_id) for journey_id in record["retired"])
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
