"""Envelope and event models of contract version 1, and the event types each
channel topic accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import Field, StrictInt, TypeAdapter, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.base import CONTRACT_VERSION, ContractModel, Timestamp, epoch_ms
from schemas.channels import Channel
from schemas.identity import Context, Identity
from schemas.limits import MAX_EVENT_ID_CHARS, MAX_FUTURE_MS, event_time_in_range, now_ms
from schemas.properties import (
    AddToCartProperties,
    NoProperties,
    OrderProperties,
    PageViewProperties,
    PosPurchaseProperties,
    ProductViewProperties,
    PurchaseProperties,
    PushReceivedProperties,
    ReturnProperties,
    ScreenViewProperties,
    SearchProperties,
    SmsReplyProperties,
    SmsSentProperties,
    StaffInteractionProperties,
    SupportContactOpenedProperties,
    SupportContactProperties,
    SurveyResponseProperties,
)

RECEIVED_AT_MS = "received_at_ms"
"""Key of the validation context that holds when the processor received the
event (epoch ms); without it, the wall clock."""


class Envelope(ContractModel):
    """Fields every event carries, on every topic."""

    event_id: str = Field(min_length=1, max_length=MAX_EVENT_ID_CHARS)
    occurred_at: Timestamp = Field(
        description=(
            "at or after 1970-01-01T00:00:00Z and at most "
            f"{MAX_FUTURE_MS // 3_600_000} hours after the processor receives the event "
            "(bounds JSON Schema cannot express)"
        )
    )
    schema_version: StrictInt = Field(
        default=CONTRACT_VERSION, json_schema_extra={"minimum": 1, "maximum": CONTRACT_VERSION}
    )
    identity: Identity
    context: Context = Field(default_factory=Context)

    @field_validator("occurred_at", mode="after")
    @classmethod
    def _in_time_range(cls, value: datetime, info: ValidationInfo) -> datetime:
        received_at_ms = (info.context or {}).get(RECEIVED_AT_MS)
        if received_at_ms is None:
            received_at_ms = now_ms()
        if not event_time_in_range(epoch_ms(value), received_at_ms):
            raise PydanticCustomError(
                "timestamp_out_of_range",
                "must be at or after 1970-01-01T00:00:00Z and at most {hours} hours "
                "after the processor receives the event",
                {"hours": MAX_FUTURE_MS // 3_600_000},
            )
        return value

    @field_validator("schema_version", mode="after")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if not 1 <= value <= CONTRACT_VERSION:
            raise PydanticCustomError(
                "unsupported_schema_version",
                "schema_version {value} is not supported; this processor "
                "reads versions 1 to {latest}",
                {"value": value, "latest": CONTRACT_VERSION},
            )
        return value


# -- web ---------------------------------------------------------------------
class AdClick(Envelope):
    event_type: Literal["ad_click"]
    properties: NoProperties = Field(default_factory=NoProperties)


class PageView(Envelope):
    event_type: Literal["page_view"]
    properties: PageViewProperties = Field(default_factory=PageViewProperties)


class ProductView(Envelope):
    event_type: Literal["product_view"]
    properties: ProductViewProperties


class Search(Envelope):
    event_type: Literal["search"]
    properties: SearchProperties = Field(default_factory=SearchProperties)


class AddToCart(Envelope):
    event_type: Literal["add_to_cart"]
    properties: AddToCartProperties


class CheckoutStarted(Envelope):
    event_type: Literal["checkout_started"]
    properties: NoProperties = Field(default_factory=NoProperties)


class Purchase(Envelope):
    event_type: Literal["purchase"]
    properties: PurchaseProperties


class Login(Envelope):
    event_type: Literal["login"]
    properties: NoProperties = Field(default_factory=NoProperties)


class ChatStarted(Envelope):
    event_type: Literal["chat_started"]
    properties: NoProperties = Field(default_factory=NoProperties)


# -- app ---------------------------------------------------------------------
class AppOpen(Envelope):
    event_type: Literal["app_open"]
    properties: NoProperties = Field(default_factory=NoProperties)


class ScreenView(Envelope):
    event_type: Literal["screen_view"]
    properties: ScreenViewProperties = Field(default_factory=ScreenViewProperties)


class PushReceived(Envelope):
    event_type: Literal["push_received"]
    properties: PushReceivedProperties = Field(default_factory=PushReceivedProperties)


class PushOpened(Envelope):
    event_type: Literal["push_opened"]
    properties: NoProperties = Field(default_factory=NoProperties)


class AppCrash(Envelope):
    event_type: Literal["app_crash"]
    properties: NoProperties = Field(default_factory=NoProperties)


# -- store -------------------------------------------------------------------
class StoreVisit(Envelope):
    event_type: Literal["store_visit"]
    properties: NoProperties = Field(default_factory=NoProperties)


class StaffInteraction(Envelope):
    event_type: Literal["staff_interaction"]
    properties: StaffInteractionProperties = Field(default_factory=StaffInteractionProperties)


class PosPurchase(Envelope):
    event_type: Literal["pos_purchase"]
    properties: PosPurchaseProperties


class Return(Envelope):
    event_type: Literal["return"]
    properties: ReturnProperties


class Pickup(Envelope):
    event_type: Literal["pickup"]
    properties: OrderProperties


class LoyaltyScan(Envelope):
    event_type: Literal["loyalty_scan"]
    properties: NoProperties = Field(default_factory=NoProperties)


# -- sms ---------------------------------------------------------------------
class SmsSent(Envelope):
    event_type: Literal["sms_sent"]
    properties: SmsSentProperties


class SmsDelivered(Envelope):
    event_type: Literal["sms_delivered"]
    properties: NoProperties = Field(default_factory=NoProperties)


class SmsClicked(Envelope):
    event_type: Literal["sms_clicked"]
    properties: NoProperties = Field(default_factory=NoProperties)


class SmsReply(Envelope):
    event_type: Literal["sms_reply"]
    properties: SmsReplyProperties = Field(default_factory=SmsReplyProperties)


class OptOut(Envelope):
    event_type: Literal["opt_out"]
    properties: NoProperties = Field(default_factory=NoProperties)


# -- shared by every channel -------------------------------------------------
class SurveyResponse(Envelope):
    event_type: Literal["survey_response"]
    properties: SurveyResponseProperties


class SupportContactOpened(Envelope):
    event_type: Literal["support_contact_opened"]
    properties: SupportContactOpenedProperties


class SupportContactAnswered(Envelope):
    event_type: Literal["support_contact_answered"]
    properties: SupportContactProperties


class SupportContactResolved(Envelope):
    event_type: Literal["support_contact_resolved"]
    properties: SupportContactProperties


class OrderDelivered(Envelope):
    event_type: Literal["order_delivered"]
    properties: OrderProperties


SHARED_MODELS: tuple[type[Envelope], ...] = (
    SurveyResponse,
    SupportContactOpened,
    SupportContactAnswered,
    SupportContactResolved,
    OrderDelivered,
)

CHANNEL_MODELS: dict[Channel, tuple[type[Envelope], ...]] = {
    Channel.WEB: (
        AdClick,
        PageView,
        ProductView,
        Search,
        AddToCart,
        CheckoutStarted,
        Purchase,
        Login,
        ChatStarted,
        *SHARED_MODELS,
    ),
    Channel.APP: (
        AppOpen,
        ScreenView,
        ProductView,
        AddToCart,
        Purchase,
        Login,
        PushReceived,
        PushOpened,
        AppCrash,
        *SHARED_MODELS,
    ),
    Channel.STORE: (
        StoreVisit,
        StaffInteraction,
        PosPurchase,
        Return,
        Pickup,
        LoyaltyScan,
        *SHARED_MODELS,
    ),
    Channel.SMS: (SmsSent, SmsDelivered, SmsClicked, SmsReply, OptOut, *SHARED_MODELS),
}
"""The event types each channel topic accepts, as models."""

Event = Union[  # noqa: UP007
    AdClick,
    PageView,
    ProductView,
    Search,
    AddToCart,
    CheckoutStarted,
    Purchase,
    Login,
    ChatStarted,
    AppOpen,
    ScreenView,
    PushReceived,
    PushOpened,
    AppCrash,
    StoreVisit,
    StaffInteraction,
    PosPurchase,
    Return,
    Pickup,
    LoyaltyScan,
    SmsSent,
    SmsDelivered,
    SmsClicked,
    SmsReply,
    OptOut,
    SurveyResponse,
    SupportContactOpened,
    SupportContactAnswered,
    SupportContactResolved,
    OrderDelivered,
]
"""Any accepted event, whatever its channel."""


def event_type_of(model: type[Envelope]) -> str:
    """The `event_type` tag a model is selected by."""
    return str(get_args(model.model_fields["event_type"].annotation)[0])


def _channel_union(models: tuple[type[Envelope], ...]) -> Any:
    return Annotated[Union[models], Field(discriminator="event_type")]  # noqa: UP007


EVENT_ADAPTERS: dict[Channel, TypeAdapter[Event]] = {
    channel: TypeAdapter(_channel_union(models)) for channel, models in CHANNEL_MODELS.items()
}
EVENT_TYPES: dict[Channel, frozenset[str]] = {
    channel: frozenset(map(event_type_of, models)) for channel, models in CHANNEL_MODELS.items()
}
SHARED_EVENT_TYPES: frozenset[str] = frozenset(map(event_type_of, SHARED_MODELS))
PURCHASE_TYPES: frozenset[str] = frozenset({event_type_of(Purchase), event_type_of(PosPurchase)})
"""Event types that are a purchase (web/app `purchase`, store `pos_purchase`):
the contract types their `order_id`, `revenue` and `currency`. The SQL that
counts purchases names the same types (checked by tests/unit/test_rules.py)."""
SCORED_TYPES: frozenset[str] = frozenset({event_type_of(SurveyResponse)})
"""Event types whose contract types a `score` (survey responses)."""
