"""The records a journey is made of: immutable and typed. The parts stored as
JSON (support contacts, survey answers, pain points) are dataclasses, which
orjson writes as objects; `Journey` itself is a NamedTuple, the cheapest
record to build (the journey stage builds one per journey it writes)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, NamedTuple

SupportState = Literal["open", "answered", "resolved"]


class PainKind(StrEnum):
    ABANDONED_CHECKOUT = "abandoned_checkout"
    UNANSWERED_SUPPORT = "unanswered_support"
    SLOW_SUPPORT = "slow_support"
    LOW_SCORE = "low_score"
    RETURN_AFTER_PURCHASE = "return_after_purchase"
    APP_CRASH_IN_SESSION = "app_crash_in_session"
    OPT_OUT_AFTER_MESSAGE = "opt_out_after_message"


@dataclass(frozen=True, slots=True)
class SupportContact:
    contact_id: str
    channel: str
    opened_at_ms: int | None  # None: not opened in this journey
    first_answer_ms: int | None  # answered minus opened
    resolution_ms: int | None  # resolved minus opened
    state: SupportState


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    event_id: str
    survey: str
    score: int
    dimension: str | None
    at_ms: int
    channel: str
    about_event_id: str | None
    rated_event_id: str | None
    rated_event_type: str | None
    rated_stage: str | None


@dataclass(frozen=True, slots=True)
class FollowUp:
    thank_you_sent: bool = False
    reminder_sent: bool = False
    survey_sent: bool = False
    answered: bool = False


@dataclass(frozen=True, slots=True)
class PainPoint:
    kind: PainKind
    at_ms: int
    event_id: str
    detail: str


NO_FOLLOW_UP = FollowUp()


class Journey(NamedTuple):
    journey_id: str
    customer_key: str
    started_at_ms: int
    last_at_ms: int
    ended: bool
    touchpoints: int
    stages: tuple[tuple[str, int], ...]
    stage_channels: tuple[str, ...]
    """The channel each of `stages` was first reached on."""
    channels: tuple[str, ...]
    channel_switches: int
    first_channel: str
    last_channel: str
    converted: bool
    first_purchase_at_ms: int | None
    time_to_purchase_ms: int | None
    purchases: int
    revenue: tuple[tuple[str, float], ...]
    purchase_channel: str | None
    support: tuple[SupportContact, ...]
    surveys: tuple[SurveyAnswer, ...]
    follow_up: FollowUp
    pain_points: tuple[PainPoint, ...]
