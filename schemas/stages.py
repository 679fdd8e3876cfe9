"""Journey stage of each event type (contract, "Journey stages of event types").

`loyalty` also covers a purchase by a customer who already purchased before;
only the journey knows that, so the static stage of a purchase is `purchase`.
Event types the table does not name (login, push_opened, app_crash,
sms_delivered, opt_out) are signals, not steps of the funnel: stage `None`.
"""

from __future__ import annotations

from enum import StrEnum

from schemas.events import PURCHASE_TYPES


class Stage(StrEnum):
    AWARENESS = "awareness"
    CONSIDERATION = "consideration"
    PURCHASE = "purchase"
    POST_PURCHASE = "post_purchase"
    LOYALTY = "loyalty"


_STAGE_OF_TYPE: dict[str, Stage] = {
    **dict.fromkeys(
        ("ad_click", "push_received", "sms_clicked", "page_view", "app_open"),
        Stage.AWARENESS,
    ),
    **dict.fromkeys(
        (
            "product_view",
            "search",
            "screen_view",
            "add_to_cart",
            "checkout_started",
            "staff_interaction",
            "store_visit",
            "chat_started",
        ),
        Stage.CONSIDERATION,
    ),
    **dict.fromkeys(sorted(PURCHASE_TYPES), Stage.PURCHASE),
    **dict.fromkeys(
        (
            "order_delivered",
            "pickup",
            "return",
            "support_contact_opened",
            "support_contact_answered",
            "support_contact_resolved",
            "survey_response",
            "sms_reply",
        ),
        Stage.POST_PURCHASE,
    ),
    "loyalty_scan": Stage.LOYALTY,
}


def stage_of(event_type: str, message_kind: str | None = None) -> Stage | None:
    """The stage an event of this type marks; `sms_sent` depends on its kind."""
    if event_type == "sms_sent":
        return Stage.AWARENESS if message_kind == "campaign" else Stage.POST_PURCHASE
    return _STAGE_OF_TYPE.get(event_type)
