"""The contract as one function: raw bytes from a channel topic in, an
accepted event or the reason it is rejected out."""

from __future__ import annotations

from pydantic import ValidationError

from schemas.channels import Channel
from schemas.events import EVENT_ADAPTERS, Event
from schemas.rejections import Rejection, rejection_from_error


def validate_event(raw: bytes, channel: Channel) -> Event | Rejection:
    """Validate one message value as it arrived on `channel`'s topic."""
    try:
        return EVENT_ADAPTERS[channel].validate_json(raw)
    except ValidationError as exc:
        return rejection_from_error(exc, raw, channel)
