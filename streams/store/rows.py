"""Touchpoints as ClickHouse `touchpoints` rows (pure): JSONCompactEachRow
lines built once at ingest (`streams.clickhouse.bundle`)."""

from __future__ import annotations

from typing import Any

from streams.clickhouse.bundle import Row
from streams.ingest.touchpoint import Touchpoint

# Typed columns are read out of the properties for BI; all properties are also
# kept as JSON in `properties`. Score and revenue are read only from the event
# types whose contract types them (an extra "score" elsewhere may be anything).
_SCORED = frozenset({"survey_response"})
_PAID = frozenset({"purchase", "pos_purchase"})
_CONTEXT = ("store_id", "campaign_id", "session_id", "locale", "user_agent", "b2b_account_id")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def touchpoint_row(tp: Touchpoint, customer_key: str, route_partition: int) -> Row:
    """The `touchpoints` row of a touchpoint, in `TOUCHPOINT_COLUMNS` order
    (`streams.clickhouse.bundle`). `customer_key` is its stitched person;
    `route_partition` the partition of the touchpoints topic it travels on.
    `properties` goes in as a JSON object: ClickHouse keeps its text in the
    String column (input_format_json_read_objects_as_strings)."""
    ids, ctx, props = tp.identifiers, tp.context, tp.properties
    kind = tp.event_type
    paid = kind in _PAID
    get = props.get
    return (
        tp.event_id,
        tp.channel,
        kind,
        tp.stage or "",
        tp.occurred_at_ms / 1000,  # JSON numbers are read as seconds
        tp.received_at_ms / 1000,
        tp.person_key,
        customer_key,
        ids.customer_id or "",
        ids.anonymous_id or "",
        ids.email_hash or "",
        ids.phone_hash or "",
        ids.loyalty_id or "",
        ctx.get("store_id", ""),
        ctx.get("campaign_id", ""),
        ctx.get("session_id", ""),
        ctx.get("locale", ""),
        ctx.get("user_agent", ""),
        ctx.get("b2b_account_id", ""),
        _text(get("survey")),
        props["score"] if kind in _SCORED else None,
        _text(get("dimension")),
        _text(get("about_event_id")),
        _text(get("order_id")),
        props["revenue"] if paid else None,
        props["currency"].upper() if paid else "",
        _text(get("contact_id")),
        _text(get("message_kind")),
        _text(get("product_id")),
        props,
        tp.schema_version,
        tp.source_topic,
        tp.source_partition,
        tp.source_offset,
        route_partition,
    )


TOUCHPOINT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "channel",
    "event_type",
    "stage",
    "occurred_at",
    "received_at",
    "person_key",
    "customer_key",
    "customer_id",
    "anonymous_id",
    "email_hash",
    "phone_hash",
    "loyalty_id",
    *_CONTEXT,
    "survey",
    "score",
    "dimension",
    "about_event_id",
    "order_id",
    "revenue",
    "currency",
    "contact_id",
    "message_kind",
    "product_id",
    "properties",
    "schema_version",
    "source_topic",
    "source_partition",
    "source_offset",
    "route_partition",
)
