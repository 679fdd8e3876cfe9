"""The contract as functions: raw bytes from a channel topic in, an accepted
event or the reason it is rejected out.

`validate_event` answers with the contract models themselves (what `cx
validate` shows a producer). `accept_event` is what the processor runs on
every event: the same verdict, as a plain normalised dict, computed on the
fast path (`schemas.fast`) whenever the event is spelled plainly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict, cast

from pydantic import BaseModel, ValidationError

from schemas.base import epoch_ms
from schemas.channels import Channel
from schemas.events import EVENT_ADAPTERS, RECEIVED_AT_MS, Event
from schemas.fast import PLAIN_ADAPTERS
from schemas.identity import E164, EMAIL, normalize_phone
from schemas.limits import MAX_VALUE_BYTES, event_time_in_range, free_value_problem, now_ms
from schemas.properties import SCORE_RANGES
from schemas.rejections import Rejection, rejection_from_error, too_large


def validate_event(
    raw: bytes, channel: Channel, *, received_at_ms: int | None = None
) -> Event | Rejection:
    """Validate one message value as it arrived on `channel`'s topic;
    `received_at_ms` (epoch ms, default: now) bounds how far ahead its event
    time may be."""
    if len(raw) > MAX_VALUE_BYTES:  # before parsing: cheap
        return too_large(raw)
    return _validate(raw, channel, now_ms() if received_at_ms is None else received_at_ms)


def _validate(raw: bytes, channel: Channel, received_at_ms: int) -> Event | Rejection:
    try:
        return EVENT_ADAPTERS[channel].validate_json(raw, context={RECEIVED_AT_MS: received_at_ms})
    except ValidationError as exc:
        return rejection_from_error(exc, raw, channel)


class AcceptedEvent(TypedDict):
    """An accepted event, normalised: identifiers trimmed, email lower-cased,
    phone in E.164 (still in clear: the processor hashes them), blank or null
    fields left out."""

    event_id: str
    event_type: str
    occurred_at_ms: int
    """Event time, milliseconds since the epoch (UTC)."""
    schema_version: int
    identity: dict[str, str]
    context: dict[str, str]
    properties: dict[str, Any]
    """Typed properties that are set, and every extra property."""


def accept_event(
    raw: bytes, channel: Channel, *, received_at_ms: int | None = None
) -> AcceptedEvent | Rejection:
    """`validate_event`, normalised: the same verdict on every input."""
    if len(raw) > MAX_VALUE_BYTES:
        return too_large(raw)
    if received_at_ms is None:
        received_at_ms = now_ms()
    try:
        plain = PLAIN_ADAPTERS[channel].validate_json(raw)
    except ValidationError:
        plain = None
    accepted = _finish(plain, received_at_ms) if plain is not None else None
    if accepted is not None:
        return accepted
    verdict = _validate(raw, channel, received_at_ms)
    return verdict if isinstance(verdict, Rejection) else normalised(verdict)


def _finish(event: dict[str, Any], received_at_ms: int) -> AcceptedEvent | None:
    """Complete a plainly spelled event with the checks the contract models
    make in Python; None sends it to the models (invalid, or unusual)."""
    identity = event["identity"]
    if not identity:
        return None
    email = identity.get("email")
    if email is not None:
        email = identity["email"] = email.lower()  # ASCII, no blanks: normalize_email
        if not EMAIL.fullmatch(email):
            return None
    phone = identity.get("phone")
    if phone is not None:
        phone = identity["phone"] = normalize_phone(phone)
        if not E164.fullmatch(phone):
            return None
    properties = event.get("properties")
    if properties is None:
        properties = event["properties"] = {}
    else:
        if event["event_type"] == "survey_response":
            low, high = SCORE_RANGES[properties["survey"]]
            if not low <= properties["score"] <= high:
                return None
        for value in properties.values():  # typed ones too: they pass, cheaply
            if type(value) is not str and free_value_problem(value) is not None:
                return None
    try:
        occurred_at_ms = epoch_ms(datetime.fromisoformat(event.pop("occurred_at")))
    except ValueError:
        return None
    if not event_time_in_range(occurred_at_ms, received_at_ms):
        return None
    event["occurred_at_ms"] = occurred_at_ms
    event.setdefault("schema_version", 1)
    event.setdefault("context", {})
    return cast(AcceptedEvent, event)


def present(model: BaseModel) -> dict[str, Any]:
    """Set fields and extras of a model (reading __dict__ is ~25x cheaper
    than iterating the model)."""
    values = {key: value for key, value in model.__dict__.items() if value is not None}
    extra = model.__pydantic_extra__
    if extra:
        values.update(extra)
    return values


def normalised(event: Event) -> AcceptedEvent:
    """An event of the contract models as `accept_event` gives it."""
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "occurred_at_ms": epoch_ms(event.occurred_at),
        "schema_version": event.schema_version,
        "identity": event.identity.present(),
        "context": present(event.context),
        "properties": present(event.properties),
    }
