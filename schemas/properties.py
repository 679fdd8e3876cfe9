"""Type-specific `properties` of each event type (contract, "Event types").

Fields named by the contract are typed; unknown extra properties are kept.
A required property is one the contract's rule makes required. Free text,
ids and numbers are bounded (`schemas.limits`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictInt, ValidationInfo, field_validator
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from schemas.base import Amount, CurrencyCode, EventIdRef, ExternalId, OpenProperties, Text
from schemas.limits import INT64_MAX

MessageKind = Literal["campaign", "reminder", "thank_you", "survey", "service"]
SurveyKind = Literal["nps", "csat", "ces"]
Dimension = Literal["functional", "mechanic", "humanic"]

SCORE_RANGES: dict[str, tuple[int, int]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
}


class NoProperties(OpenProperties):
    """An event type with no named properties; extras are still kept."""


class PageViewProperties(OpenProperties):
    url: Text | None = None
    referrer: Text | None = None


class ProductViewProperties(OpenProperties):
    product_id: ExternalId


class SearchProperties(OpenProperties):
    query: Text | None = None


class AddToCartProperties(OpenProperties):
    product_id: ExternalId
    quantity: StrictInt | None = Field(default=None, ge=1, le=INT64_MAX)
    price: Amount | None = None


class PurchaseProperties(OpenProperties):
    order_id: ExternalId
    revenue: Amount
    currency: CurrencyCode


class PosPurchaseProperties(PurchaseProperties):
    staff_id: ExternalId | None = None


class ScreenViewProperties(OpenProperties):
    screen: Text | None = None


class PushReceivedProperties(OpenProperties):
    campaign_id: Text | None = None


class StaffInteractionProperties(OpenProperties):
    staff_id: ExternalId | None = None
    topic: Text | None = None


class OrderProperties(OpenProperties):
    order_id: ExternalId


class ReturnProperties(OrderProperties):
    reason: Text | None = None


class SmsSentProperties(OpenProperties):
    message_kind: MessageKind


class SmsReplyProperties(OpenProperties):
    text: Text | None = None


def _score_range_schema(survey: str, low: int, high: int) -> JsonDict:
    return {
        "if": {"required": ["survey"], "properties": {"survey": {"const": survey}}},
        "then": {"properties": {"score": {"minimum": low, "maximum": high}}},
    }


class SurveyResponseProperties(OpenProperties):
    # JSON Schema for the score range, which depends on the survey kind.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [_score_range_schema(kind, *bounds) for kind, bounds in SCORE_RANGES.items()]
        }
    )

    survey: SurveyKind
    score: StrictInt
    comment: Text | None = None
    dimension: Dimension | None = None
    about_event_id: EventIdRef | None = None

    @field_validator("score", mode="after")
    @classmethod
    def _score_in_range(cls, score: int, info: ValidationInfo) -> int:
        survey = info.data.get("survey")  # absent when survey itself was invalid
        if survey is None:
            return score
        low, high = SCORE_RANGES[survey]
        if not low <= score <= high:
            raise PydanticCustomError(
                "score_out_of_range",
                "{survey} score must be between {low} and {high}",
                {"survey": survey, "low": low, "high": high},
            )
        return score


class SupportContactOpenedProperties(OpenProperties):
    contact_id: ExternalId
    topic: Text | None = None


class SupportContactProperties(OpenProperties):
    contact_id: ExternalId
