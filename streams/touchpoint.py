"""`Touchpoint`: the canonical, pseudonymised form of an accepted event.

Every later stage (store, journeys, metrics) reads touchpoints, never raw
events. A touchpoint holds no personal data in clear: email and phone are
replaced by keyed hashes, in the identifiers and anywhere in the properties.
Touchpoints are immutable tuples with times in epoch milliseconds (UTC): they
are built, sent and stored tens of thousands of times a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson

from schemas import Channel, Event, Stage, stage_of
from streams.identity.rules import KINDS
from streams.pseudonym import Pseudonymizer

FORMAT = b"touchpoints/3"
"""Value of the `cx.format` header on the internal touchpoints topic; the
value is a JSON array of touchpoints (a bundle), each the JSON array of a
`Touchpoint`'s fields in order."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Exact milliseconds since the epoch of an aware datetime."""
    return (moment - _EPOCH) // _MS


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
    """The event's own strongest identifier."""
    customer_key: str
    """The person it belongs to, once stitched (`person_key` until then)."""
    identifiers: Identifiers
    context: dict[str, str]
    properties: dict[str, Any]
    source_topic: str
    source_partition: int
    source_offset: int


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


def _scrub(value: Any, secrets: dict[str, str]) -> Any:
    if isinstance(value, str):
        for clear, token in secrets.items():
            if clear in value:
                value = value.replace(clear, token)
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    return value


def _present(model: Any) -> dict[str, Any]:
    """Set fields and extras of a pydantic model (reading __dict__ is ~25x
    cheaper than iterating the model)."""
    values = {key: value for key, value in model.__dict__.items() if value is not None}
    extra = model.__pydantic_extra__
    if extra:
        values.update(extra)
    return values


def to_touchpoint(
    event: Event,
    channel: Channel,
    source: tuple[str, int, int],
    received_at_ms: int,
    pseudonymizer: Pseudonymizer,
) -> Touchpoint:
    """Normalise an accepted event into a touchpoint (pure). `source` is the
    (topic, partition, offset) it was read at."""
    identity = event.identity
    properties = _present(event.properties)
    email_hash = phone_hash = None
    if identity.email is not None or identity.phone is not None:
        secrets: dict[str, str] = {}
        if identity.email is not None:
            email_hash = pseudonymizer.hash("email", identity.email)
            secrets[identity.email] = f"email:{email_hash}"
        if identity.phone is not None:
            phone_hash = pseudonymizer.hash("phone", identity.phone)
            secrets[identity.phone] = f"phone:{phone_hash}"
        properties = _scrub(properties, secrets)
    ids = Identifiers(
        identity.customer_id,
        identity.anonymous_id,
        email_hash,
        phone_hash,
        identity.loyalty_id,
    )
    person_key = person_key_of(ids)
    return Touchpoint(
        event.event_id,
        channel,
        event.event_type,
        stage_of(event.event_type, properties.get("message_kind")),
        epoch_ms(event.occurred_at),
        received_at_ms,
        event.schema_version,
        person_key,
        person_key,
        ids,
        _present(event.context),
        properties,
        *source,
    )


_CUSTOMER_KEY = Touchpoint._fields.index("customer_key")


def keyed_to(touchpoint: Touchpoint, customer_key: str) -> Touchpoint:
    """The touchpoint with its stitched person (cheaper than `_replace`)."""
    fields = list(touchpoint)
    fields[_CUSTOMER_KEY] = customer_key
    return Touchpoint._make(fields)


def encode_touchpoints(touchpoints: Sequence[Touchpoint]) -> bytes:
    """A bundle of touchpoints (one Kafka record holds many)."""
    return orjson.dumps(touchpoints, default=tuple)


_CHANNEL = {channel.value: channel for channel in Channel}
_STAGE: dict[str | None, Stage | None] = {stage.value: stage for stage in Stage}
_STAGE[None] = None


def decode_touchpoints(raw: bytes) -> list[Touchpoint]:
    """Inverse of `encode_touchpoints`."""
    touchpoints = []
    for fields in orjson.loads(raw):
        fields[1] = _CHANNEL[fields[1]]
        fields[3] = _STAGE[fields[3]]
        fields[9] = Identifiers._make(fields[9])
        touchpoints.append(Touchpoint._make(fields))
    return touchpoints
