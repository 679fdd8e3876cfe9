"""The journey stage: one person's touchpoints folded into journeys with their
stages, channels, purchases, support contacts, surveys, follow-up and pain
points. Every module is pure and typed except `stage` (its Kafka side) and
`sink` (its ClickHouse writer)."""

from streams.journeys.fold import (
    build_journey,
    journey_id,
    pain_counts,
    person_journeys,
    split_journeys,
)
from streams.journeys.records import (
    FollowUp,
    Journey,
    PainKind,
    PainPoint,
    SupportContact,
    SurveyAnswer,
)
from streams.journeys.rules import JourneyRules
from streams.journeys.steps import Step, decode_steps, encode_steps, step_of

__all__ = [
    "FollowUp",
    "Journey",
    "JourneyRules",
    "PainKind",
    "PainPoint",
    "Step",
    "SupportContact",
    "SurveyAnswer",
    "build_journey",
    "decode_steps",
    "encode_steps",
    "journey_id",
    "pain_counts",
    "person_journeys",
    "split_journeys",
    "step_of",
]
