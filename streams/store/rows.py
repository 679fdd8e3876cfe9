"""Touchpoints as ClickHouse `touchpoints` rows (pure): JSONCompactEachRow
lines built once at ingest (`streams.clickhouse.bundle`)."""

from __future__ import annotations

from streams.clickhouse.bundle import Row
from streams.ingest.touchpoint import Touchpoint, Typed, typed_properties

# Typed columns are read out of the properties for BI (`Typed`: the same as a
# journey step's fields); all properties are also kept as JSON in `properties`.
_CONTEXT = ("store_id", "campaign_id", "session_id", "locale", "user_agent", "b2b_account_id")


def touchpoint_row(
    tp: Touchpoint, customer_key: str, route_partition: int, typed: Typed | None = None
) -> Row:
    """The `touchpoints` row of a touchpoint, in `TOUCHPOINT_COLUMNS` order
    (`streams.clickhouse.bundle`). `customer_key` is its stitched person;
    `route_partition` the partition of the touchpoints topic it travels on;
    `typed` its `typed_properties`, when they are at hand. A typed property
    the event does not have is "" in its String column, NULL in a number's.
    `properties` goes in as a JSON object: ClickHouse keeps its text in the
    String column (input_format_json_read_objects_as_strings)."""
    ids, ctx = tp.identifiers, tp.context
    (
        order_id,
        revenue,
        currency,
        contact_id,
        message_kind,
        survey,
        score,
        dimension,
        about,
        product,
    ) = typed_properties(tp) if typed is None else typed
    return (
        tp.event_id,
        tp.channel,
        tp.event_type,
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
        survey or "",
        score,
        dimension or "",
        about or "",
        order_id or "",
        revenue,
        currency or "",
        contact_id or "",
        message_kind or "",
        product or "",
        tp.properties,
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
