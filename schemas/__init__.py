"""The wire contract of the channel topics (version 1) as strict, frozen
pydantic models, with the rejection reasons and journey stages it defines."""

from schemas.base import CONTRACT_VERSION, epoch_ms
from schemas.channels import CHANNELS, Channel
from schemas.events import (
    CHANNEL_MODELS,
    EVENT_TYPES,
    PURCHASE_TYPES,
    SCORED_TYPES,
    SHARED_EVENT_TYPES,
    Envelope,
    Event,
)
from schemas.identity import IDENTIFIER_FIELDS, Context, Identity
from schemas.rejections import Rejection, RejectionError, RejectReason
from schemas.stages import Stage, stage_of
from schemas.validate import AcceptedEvent, accept_event, normalised, validate_event

__all__ = [
    "CHANNELS",
    "CHANNEL_MODELS",
    "CONTRACT_VERSION",
    "EVENT_TYPES",
    "IDENTIFIER_FIELDS",
    "PURCHASE_TYPES",
    "SCORED_TYPES",
    "SHARED_EVENT_TYPES",
    "AcceptedEvent",
    "Channel",
    "Context",
    "Envelope",
    "Event",
    "Identity",
    "RejectReason",
    "Rejection",
    "RejectionError",
    "Stage",
    "accept_event",
    "epoch_ms",
    "normalised",
    "stage_of",
    "validate_event",
]
