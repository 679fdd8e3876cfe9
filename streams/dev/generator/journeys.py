"""One person's cross-channel journey as planned events (what a producer would
send), with realistic timing, identifiers and scores."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from schemas import Channel
from streams.dev.generator.population import STORES, Person, store_quality

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

_PRODUCTS = tuple(f"SKU-{n:05d}" for n in range(1, 400, 7))
_QUERIES = ("running shoes", "winter jacket", "gift card", "headphones", "coffee maker")
_SCREENS = ("home", "catalog", "product", "cart", "account", "orders")
_TOPICS = ("delivery", "refund", "sizing", "payment", "product_question")
COMMENTS = {
    "low": (
        "Nobody answered my question for hours.",
        "The checkout failed twice before it worked.",
        "The staff at the till did not seem to care.",
        "My order arrived late and the box was damaged.",
        "Far too hard to find the return form.",
    ),
    "mid": (
        "Fine overall, but delivery took a while.",
        "Good products, the queue was long.",
        "It worked, though the app is slow.",
    ),
    "high": (
        "Quick and easy, thank you!",
        "Lovely staff, they found my size at once.",
        "Everything arrived on time, well packed.",
        "Great help on the phone.",
    ),
}
"""Survey comments by how the answer felt: a third of the answers carry one."""
COMMENT_BANDS = {"nps": (6, 9), "csat": (2, 4), "ces": (3, 5)}
"""Per survey: the highest low answer and the lowest high one."""
# Currency of a store's city, and roughly how many units make a euro.
_CURRENCY = {
    "tehran": ("IRR", 480_000.0),
    "isfahan": ("IRR", 480_000.0),
    "shiraz": ("IRR", 480_000.0),
    "london": ("GBP", 0.85),
    "istanbul": ("TRY", 45.0),
    "dubai": ("AED", 4.0),
}


def _store_price(store: str, euros: float) -> tuple[str, float]:
    """A price in the store's currency, rounded as that currency is."""
    currency, rate = _CURRENCY.get(store.split("-")[0], ("EUR", 1.0))
    amount = euros * rate
    return currency, float(round(amount, -3)) if rate > 1000 else round(amount, 2)


@dataclass
class Planned:
    channel: Channel
    event_type: str
    at_ms: int
    identity: dict[str, str]
    context: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    key: str | None = None


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


class JourneyPlanner:
    """Plans one person's events; `rng` makes it reproducible."""

    def __init__(self, rng: random.Random, person: Person, start_ms: int) -> None:
        self.rng = rng
        self.p = person
        self.t = start_ms
        self.events: list[Planned] = []
        self.cookie = rng.choice(person.web_cookies)
        self.logged_in_web = False
        self.logged_in_app = False
        self.pain = 0.0  # bad experiences so far lower later scores

    # -- identities a producer on each channel actually has ---------------
    def web_id(self) -> dict[str, str]:
        ids = {"anonymous_id": self.cookie}
        if self.logged_in_web and self.p.customer_id:
            ids["customer_id"] = self.p.customer_id
        return ids

    def app_id(self) -> dict[str, str]:
        assert self.p.app_install is not None
        ids = {"anonymous_id": self.p.app_install}
        if self.logged_in_app and self.p.customer_id:
            ids["customer_id"] = self.p.customer_id
        return ids

    def store_id(self) -> dict[str, str]:
        if self.p.loyalty_id:
            return {"loyalty_id": self.p.loyalty_id}
        if self.p.phone:
            return {"phone": self._spelled_phone()}
        return {"anonymous_id": f"pos-walkin-{self.p.index}"}

    def sms_id(self) -> dict[str, str]:
        assert self.p.phone is not None
        return {"phone": self._spelled_phone()}

    def _spelled_phone(self) -> str:
        phone = self.p.phone or ""
        roll = self.rng.random()
        if roll < 0.1:  # "+98 912 1234567": valid once normalised
            return f"{phone[:3]} {phone[3:6]} {phone[6:]}"
        if roll < 0.15:
            return "00" + phone[1:]
        return phone

    def emit(
        self,
        channel: Channel,
        event_type: str,
        identity: dict[str, str],
        gap_ms: float,
        properties: dict[str, Any] | None = None,
        context: dict[str, str] | None = None,
    ) -> Planned:
        self.t += max(1000, int(gap_ms))
        key = {
            Channel.WEB: identity.get("anonymous_id"),
            Channel.APP: identity.get("anonymous_id"),
            Channel.SMS: identity.get("phone"),
            Channel.STORE: None,
        }[channel]
        context = {**(context or {}), **self.account(channel, event_type)}
        event = Planned(channel, event_type, self.t, identity, context, properties or {}, key)
        self.events.append(event)
        return event

    def account(self, channel: Channel, event_type: str) -> dict[str, str]:
        """The business account an event carries: a person with two
        accounts acts for each in turn, four events at a time. On SMS only
        survey answers and support contacts carry one (their producers know
        the account); messages, replies and opt-outs are the person's own.
        No draw from `rng`: the rest of the traffic stays as it was."""
        accounts = self.p.b2b_accounts
        sms_own = event_type != "survey_response" and not event_type.startswith("support_")
        if not accounts or (channel is Channel.SMS and sms_own):
            return {}
        return {"b2b_account_id": accounts[len(self.events) // 4 % len(accounts)]}

    def commented(self, answer: dict[str, Any]) -> dict[str, Any]:
        """A survey answer's properties with the free-text comment every
        third answer carries (by the events planned so far), worded as its
        score felt. No draw from `rng`: the rest of the traffic stays as it
        was."""
        planned = len(self.events)
        if planned % 3:
            return answer
        low, high = COMMENT_BANDS[answer["survey"]]
        score = answer["score"]
        feel = "low" if score <= low else "high" if score >= high else "mid"
        texts = COMMENTS[feel]
        return {**answer, "comment": texts[planned // 3 % len(texts)]}

    def minutes(self, mean: float) -> float:
        return self.rng.expovariate(1 / mean) * MINUTE

    def score_latent(self, channel: Channel, store: str | None) -> float:
        latent = 0.6 * self.p.mood - self.pain + self.rng.gauss(0, 0.7)
        if store:
            latent += 0.5 * store_quality(store)
        return (
            latent
            + {Channel.APP: -0.3, Channel.STORE: 0.2, Channel.WEB: 0.0, Channel.SMS: 0.0}[channel]
        )

    # -- the journey ------------------------------------------------------
    def plan(self) -> list[Planned]:
        self.awareness()
        cart = self.consideration()
        bought = self.purchase(cart)
        if bought is not None:
            self.post_purchase(*bought)
            if self.rng.random() < 0.3:
                self.t += int(self.rng.uniform(2, 10) * DAY)
                self.loyalty()
        return self.events

    def awareness(self) -> None:
        options = (
            ["web_ad"]
            + (["sms"] if self.p.phone else [])
            + (["push"] if self.p.app_install else [])
        )
        entry = self.rng.choice(options)
        campaign = f"cmp-{self.rng.randrange(1, 9):02d}"
        if entry == "web_ad":
            self.emit(
                Channel.WEB, "ad_click", self.web_id(), MINUTE, context={"campaign_id": campaign}
            )
        elif entry == "sms":
            self.emit(
                Channel.SMS,
                "sms_sent",
                self.sms_id(),
                MINUTE,
                {"message_kind": "campaign"},
                {"campaign_id": campaign},
            )
            self.emit(Channel.SMS, "sms_delivered", self.sms_id(), 5000)
            if self.rng.random() < 0.5:
                self.emit(Channel.SMS, "sms_clicked", self.sms_id(), self.minutes(20))
        else:
            self.emit(
                Channel.APP, "push_received", self.app_id(), MINUTE, {"campaign_id": campaign}
            )
            if self.rng.random() < 0.5:
                self.emit(Channel.APP, "push_opened", self.app_id(), self.minutes(30))
        if self.rng.random() < 0.8:
            self.emit(
                Channel.WEB,
                "page_view",
                self.web_id(),
                self.minutes(10),
                {"url": "https://shop.example/", "referrer": "https://ads.example/"},
            )

    def consideration(self) -> tuple[Channel, str] | None:
        cart: tuple[Channel, str] | None = None
        for _ in range(self.rng.choice((1, 1, 2, 3))):
            channels = [Channel.WEB, Channel.STORE] + ([Channel.APP] if self.p.app_install else [])
            channel = self.rng.choice(channels)
            session = {"session_id": f"s-{self.rng.getrandbits(40):010x}"}
            product = self.rng.choice(_PRODUCTS)
            if channel is Channel.WEB:
                if self.p.customer_id and not self.logged_in_web and self.rng.random() < 0.6:
                    self.logged_in_web = True
                    self.emit(
                        Channel.WEB, "login", self.web_id(), self.minutes(60), context=session
                    )
                if self.rng.random() < 0.5:
                    self.emit(
                        Channel.WEB,
                        "search",
                        self.web_id(),
                        self.minutes(2),
                        {"query": self.rng.choice(_QUERIES)},
                        session,
                    )
                self.emit(
                    Channel.WEB,
                    "product_view",
                    self.web_id(),
                    self.minutes(3),
                    {"product_id": product},
                    session,
                )
                if self.rng.random() < 0.6:
                    price = round(self.rng.uniform(9, 250), 2)
                    self.emit(
                        Channel.WEB,
                        "add_to_cart",
                        self.web_id(),
                        self.minutes(2),
                        {"product_id": product, "quantity": 1, "price": price},
                        session,
                    )
                    cart = (Channel.WEB, product)
            elif channel is Channel.APP:
                self.emit(Channel.APP, "app_open", self.app_id(), self.minutes(90), context=session)
                if self.p.customer_id and not self.logged_in_app and self.rng.random() < 0.7:
                    self.logged_in_app = True
                    self.emit(Channel.APP, "login", self.app_id(), self.minutes(1), context=session)
                self.emit(
                    Channel.APP,
                    "screen_view",
                    self.app_id(),
                    self.minutes(1),
                    {"screen": self.rng.choice(_SCREENS)},
                    session,
                )
                self.emit(
                    Channel.APP,
                    "product_view",
                    self.app_id(),
                    self.minutes(2),
                    {"product_id": product},
                    session,
                )
                if self.rng.random() < 0.08:
                    self.pain += 0.8
                    self.emit(
                        Channel.APP,
                        "app_crash",
                        self.app_id(),
                        self.minutes(3),
                        {"screen": "cart"},
                        session,
                    )
                if self.rng.random() < 0.5:
                    self.emit(
                        Channel.APP,
                        "add_to_cart",
                        self.app_id(),
                        self.minutes(2),
                        {"product_id": product, "quantity": self.rng.choice((1, 1, 2))},
                        session,
                    )
                    cart = (Channel.APP, product)
            else:
                store = self.p.home_store if self.rng.random() < 0.8 else self.rng.choice(STORES)
                self.emit(
                    Channel.STORE,
                    "store_visit",
                    self.store_id(),
                    self.minutes(240),
                    context={"store_id": store},
                )
                if self.rng.random() < 0.6:
                    self.emit(
                        Channel.STORE,
                        "staff_interaction",
                        self.store_id(),
                        self.minutes(5),
                        {"staff_id": f"st-{self.rng.randrange(100, 160)}", "topic": "advice"},
                        {"store_id": store},
                    )
                cart = (Channel.STORE, store)
        return cart

    def purchase(self, cart: tuple[Channel, str] | None) -> tuple[Channel, str, str | None] | None:
        if cart is None or self.rng.random() > 0.6 + 0.1 * self.p.mood:
            return None
        channel, what = cart
        order = f"o-{self.rng.getrandbits(48):012x}"
        revenue = round(self.rng.uniform(15, 400), 2)
        if channel is Channel.STORE:
            store = what
            currency, revenue = _store_price(store, revenue)
            ids = self.store_id()
            if self.p.loyalty_id and self.p.phone and self.rng.random() < 0.3:
                ids = {
                    "loyalty_id": self.p.loyalty_id,
                    "phone": self.p.phone,
                }  # links card and phone
            self.emit(
                Channel.STORE,
                "pos_purchase",
                ids,
                self.minutes(15),
                {
                    "order_id": order,
                    "revenue": revenue,
                    "currency": currency,
                    "staff_id": f"st-{self.rng.randrange(100, 160)}",
                },
                {"store_id": store},
            )
            return channel, order, store
        identity = self.web_id() if channel is Channel.WEB else self.app_id()
        if channel is Channel.WEB:
            self.emit(Channel.WEB, "checkout_started", identity, self.minutes(3))
            if self.rng.random() < 0.25:  # abandoned checkout
                return None
        self.emit(
            channel,
            "purchase",
            identity,
            self.minutes(4),
            {"order_id": order, "revenue": revenue, "currency": "EUR"},
        )
        return channel, order, None

    def post_purchase(self, channel: Channel, order: str, store: str | None) -> None:
        rng = self.rng
        if channel is Channel.STORE:
            if rng.random() < 0.5:
                self.emit(
                    Channel.STORE,
                    "survey_response",
                    self.store_id(),
                    self.minutes(10),
                    self.commented(
                        {
                            "survey": "csat",
                            "score": _clamp(
                                4.0 + 0.9 * self.score_latent(Channel.STORE, store), 1, 5
                            ),
                            "dimension": rng.choice(("humanic", "mechanic")),
                        }
                    ),
                    {"store_id": store or ""},
                )
        else:
            self.t += int(rng.uniform(1, 3) * DAY)
            if rng.random() < 0.3 and self.p.loyalty_id:
                store = self.p.home_store
                self.emit(
                    Channel.STORE,
                    "pickup",
                    self.store_id(),
                    HOUR,
                    {"order_id": order},
                    {"store_id": store},
                )
            else:
                identity = self.web_id() if channel is Channel.WEB else self.app_id()
                self.emit(channel, "order_delivered", identity, HOUR, {"order_id": order})
            if channel is Channel.APP and rng.random() < 0.5:
                self.emit(
                    Channel.APP,
                    "survey_response",
                    self.app_id(),
                    self.minutes(30),
                    self.commented(
                        {
                            "survey": "ces",
                            "score": _clamp(5.3 + 1.3 * self.score_latent(Channel.APP, None), 1, 7),
                            "dimension": "functional",
                        }
                    ),
                )
        if rng.random() < 0.25:
            self.support(channel)
        if self.p.phone:
            self.emit(
                Channel.SMS,
                "sms_sent",
                self.sms_id(),
                self.minutes(60),
                {"message_kind": "thank_you"},
            )
            if rng.random() < 0.7:
                self.emit(
                    Channel.SMS,
                    "sms_sent",
                    self.sms_id(),
                    rng.uniform(1, 2) * DAY,
                    {"message_kind": "survey"},
                )
                if rng.random() < 0.6:
                    score = _clamp(7.6 + 2.0 * self.score_latent(Channel.SMS, store), 0, 10)
                    self.emit(
                        Channel.SMS,
                        "survey_response",
                        self.sms_id(),
                        self.minutes(45),
                        self.commented(
                            {
                                "survey": "nps",
                                "score": score,
                                "dimension": rng.choice(("functional", "mechanic", "humanic")),
                            }
                        ),
                        {"store_id": store} if store else None,
                    )
                    if score <= 6 and rng.random() < 0.3:
                        self.emit(
                            Channel.SMS,
                            "sms_reply",
                            self.sms_id(),
                            self.minutes(5),
                            {"text": "not happy with my order"},
                        )
            if rng.random() < 0.04:
                self.emit(Channel.SMS, "opt_out", self.sms_id(), self.minutes(600))
        if rng.random() < 0.08:
            self.emit(
                Channel.STORE,
                "return",
                self.store_id(),
                rng.uniform(2, 6) * DAY,
                {"order_id": order, "reason": rng.choice(("size", "damaged", "changed_mind"))},
                {"store_id": self.p.home_store},
            )

    def support(self, channel: Channel) -> None:
        rng = self.rng
        contact = f"case-{rng.getrandbits(40):010x}"
        if channel is Channel.WEB or not self.p.phone:
            via, identity = Channel.WEB, self.web_id()
            if self.p.email and self.p.customer_id:
                identity = {"customer_id": self.p.customer_id, "email": self.p.email}
            self.emit(Channel.WEB, "chat_started", self.web_id(), self.minutes(600))
        else:
            via, identity = Channel.SMS, self.sms_id()
        self.emit(
            via,
            "support_contact_opened",
            identity,
            self.minutes(2),
            {"contact_id": contact, "topic": rng.choice(_TOPICS)},
        )
        if rng.random() < 0.9:
            answer = math.exp(rng.gauss(math.log(20), 0.9)) * MINUTE  # median 20 min
            if answer > 2 * HOUR:
                self.pain += 1.0
            self.emit(via, "support_contact_answered", identity, answer, {"contact_id": contact})
            if rng.random() < 0.8:
                self.emit(
                    via,
                    "support_contact_resolved",
                    identity,
                    math.exp(rng.gauss(math.log(6), 0.8)) * HOUR,
                    {"contact_id": contact},
                )
        else:
            self.pain += 1.5

    def loyalty(self) -> None:
        store = self.p.home_store
        if self.p.loyalty_id:
            self.emit(
                Channel.STORE, "loyalty_scan", self.store_id(), MINUTE, context={"store_id": store}
            )
        currency, revenue = _store_price(store, self.rng.uniform(10, 200))
        self.emit(
            Channel.STORE,
            "pos_purchase",
            self.store_id(),
            self.minutes(10),
            {
                "order_id": f"o-{self.rng.getrandbits(48):012x}",
                "revenue": revenue,
                "currency": currency,
            },
            {"store_id": store},
        )
