"""`Touchpoint`: the canonical, pseudonymised form of an accepted event.

Every later stage (store, journeys, metrics) reads touchpoints, never raw
events. A touchpoint holds no personal data in clear: email and phone are
replaced by keyed hashes, in the identifiers and, spelled in any of the ways
`streams.ingest.scrub` knows, anywhere in the properties and the context.
Touchpoints are immutable tuples with times in epoch milliseconds (UTC): they
are built tens of thousands of times a second.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from schemas import PURCHASE_TYPES, SCORED_TYPES, AcceptedEvent, Channel, Stage, epoch_ms, stage_of
from streams.identity.rules import KINDS
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.scrub import Secrets, scrub

__all__ = [
    "Identifiers",
    "Touchpoint",
    "Typed",
    "epoch_ms",
    "identifiers_of",
    "to_touchpoint",
    "typed_properties",
]


class Identifiers(NamedTuple):
    customer_id: str | None = None
    anonymous_id: str | None = None
    email_hash: str | None = None
    phone_hash: str | None = None
    loyalty_id: str | None = None


class Touchpoint(NamedTuple):
    event_id: str
    channel: Channel
    event_type: str
    stage: Stage | None
    occurred_at_ms: int
    received_at_ms: int
    schema_version: int
    person_key: str
    """The event's own strongest identifier: every delivery of the event has
    the same one (the stitched person may change between two deliveries)."""
    identifiers: Identifiers
    context: dict[str, str]
    properties: dict[str, Any]
    source_topic: str
    source_partition: int
    source_offset: int


class Typed(NamedTuple):
    """The properties of a touchpoint that its store row has as columns
    (`streams.store.rows`) and its journey step as fields
    (`streams.journeys.steps`): each one the event carries as a string;
    revenue and currency (upper-cased) only of a purchase, score only of a
    survey response; None otherwise. All properties are also kept whole in
    the row's `properties`."""

    order_id: str | None = None
    revenue: int | float | None = None
    """As the event has it: a whole amount stays an int."""
    currency: str | None = None
    contact_id: str | None = None
    message_kind: str | None = None
    survey: str | None = None
    score: int | None = None
    dimension: str | None = None
    about_event_id: str | None = None
    product_id: str | None = None


NO_TYPED = Typed()
"""The typed properties of an event without properties (most events)."""


def _text(values: dict[str, Any], key: str) -> str | None:
    value = values.get(key)
    return value if isinstance(value, str) else None


def _number(values: dict[str, Any], key: str) -> int | float | None:
    value = values.get(key)
    return None if isinstance(value, bool) or not isinstance(value, int | float) else value


def _integer(values: dict[str, Any], key: str) -> int | None:
    value = values.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def typed_properties(tp: Touchpoint) -> Typed:
    """The typed properties of a touchpoint (pure)."""
    props = tp.properties
    if not props:
        return NO_TYPED
    kind = tp.event_type
    purchase = kind in PURCHASE_TYPES
    currency = _text(props, "currency") if purchase else None
    return Typed(
        _text(props, "order_id"),
        _number(props, "revenue") if purchase else None,
        currency.upper() if currency is not None else None,
        _text(props, "contact_id"),
        _text(props, "message_kind"),
        _text(props, "survey"),
        _integer(props, "score") if kind in SCORED_TYPES else None,
        _text(props, "dimension"),
        _text(props, "about_event_id"),
        _text(props, "product_id"),
    )


def identifiers_of(ids: Identifiers) -> tuple[str, ...]:
    """The event's identifiers as `kind:value`, strongest first (hashes stand
    in for email and phone)."""
    return tuple(f"{kind}:{value}" for kind in KINDS if (value := getattr(ids, kind)) is not None)


def person_key_of(ids: Identifiers) -> str:
    """The strongest identifier an event carries."""
    for kind in KINDS:
        value = getattr(ids, kind)
        if value is not None:
            return f"{kind}:{value}"
    raise ValueError("a touchpoint needs at least one identifier")


def to_touchpoint(
    event: AcceptedEvent,
    channel: Channel,
    source: tuple[str, int, int],
    received_at_ms: int,
    pseudonymizer: Pseudonymizer,
) -> Touchpoint:
    """Pseudonymise an accepted event into a touchpoint (pure). `source` is
    the (topic, partition, offset) it was read at."""
    identity = event["identity"]
    properties, context = event["properties"], event["context"]
    email, phone = identity.get("email"), identity.get("phone")
    email_hash = phone_hash = None
    if email is not None or phone is not None:
        if email is not None:
            email_hash = pseudonymizer.hash("email", email)
        if phone is not None:
            phone_hash = pseudonymizer.hash("phone", phone)
        secrets = Secrets(email, f"email:{email_hash}", phone, f"phone:{phone_hash}")
        properties = scrub(properties, secrets)
        if context:
            context = scrub(context, secrets)
    ids = Identifiers(
        identity.get("customer_id"),
        identity.get("anonymous_id"),
        email_hash,
        phone_hash,
        identity.get("loyalty_id"),
    )
    event_type = event["event_type"]
    return Touchpoint(
        event["event_id"],
        channel,
        event_type,
        stage_of(event_type, properties.get("message_kind")),
        event["occurred_at_ms"],
        received_at_ms,
        event["schema_version"],
        person_key_of(ids),
        ids,
        context,
        properties,
        *source,
    )
