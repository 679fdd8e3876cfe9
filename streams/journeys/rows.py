"""Journeys as ClickHouse rows (pure). The journey stage builds the rows as
JSONCompactEachRow lines and sends them in row bundles (`streams.clickhouse.bundle`);
the store inserts them as they are."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from streams.clickhouse.bundle import Row
from streams.journeys.records import Journey


def _seconds(ms: int | None) -> float | None:
    """A DateTime64(3) for JSON input, which ClickHouse reads as seconds."""
    return None if ms is None else ms / 1000


def journey_row(customer_key: str, version: int, as_of_ms: int, journey: Journey) -> Row:
    """The `journeys` row of one version of a journey, in the order of
    `JOURNEY_COLUMNS` (`streams.clickhouse.bundle`). support, surveys and
    pain_points go in as JSON arrays: ClickHouse keeps their text in the
    String columns."""
    support = journey.support
    follow = journey.follow_up
    return (
        customer_key,
        journey.journey_id,
        version,
        0,
        as_of_ms / 1000,
        journey.started_at_ms / 1000,
        journey.last_at_ms / 1000,
        int(journey.ended),
        journey.touchpoints,
        [stage for stage, _ in journey.stages],
        [at / 1000 for _, at in journey.stages],
        journey.channels,
        journey.channel_switches,
        journey.first_channel,
        journey.last_channel,
        int(journey.converted),
        journey.purchase_channel or "",
        _seconds(journey.first_purchase_at_ms),
        journey.time_to_purchase_ms,
        journey.purchases,
        dict(journey.revenue),
        len(support),
        [c.first_answer_ms for c in support if c.first_answer_ms is not None],
        [c.resolution_ms for c in support if c.resolution_ms is not None],
        support,
        journey.surveys,
        int(follow.thank_you_sent),
        int(follow.reminder_sent),
        int(follow.survey_sent),
        int(follow.answered),
        [pain.kind for pain in journey.pain_points],
        journey.pain_points,
        journey.stage_channels,
    )


def deleted_row(customer_key: str, version: int, as_of_ms: int, journey_id: str) -> Row:
    """The row that retires a journey id (a later version, deleted)."""
    at = as_of_ms / 1000
    row: Row = (
        customer_key, journey_id, version, 1, at, at, at, 0, 0,
        [], [], [], 0, "", "", 0, "", None, None, 0, {}, 0, [], [], [], [],
        0, 0, 0, 0, [], [], [],
    )  # fmt: skip
    return row


def version_rows(
    customer_key: str,
    version: int,
    as_of_ms: int,
    journeys: Sequence[Journey],
    previous_ids: Iterable[str],
) -> list[Row]:
    """The rows of a new version of a person: one per journey they have now,
    and a deletion for each of `previous_ids` (their journeys last written)
    that is no longer among them."""
    ids = {journey.journey_id for journey in journeys}
    rows = [journey_row(customer_key, version, as_of_ms, journey) for journey in journeys]
    rows += [
        deleted_row(customer_key, version, as_of_ms, journey_id)
        for journey_id in previous_ids
        if journey_id not in ids
    ]
    return rows


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
    "stage_channels",
)
