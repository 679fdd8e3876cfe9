"""People, their identifiers, and the stores they shop in."""

from __future__ import annotations

import random
from dataclasses import dataclass

STORES: tuple[str, ...] = (
    "tehran-04",
    "tehran-11",
    "isfahan-02",
    "shiraz-01",
    "london-03",
    "london-07",
    "berlin-01",
    "paris-05",
    "madrid-02",
    "milan-01",
    "istanbul-06",
    "dubai-01",
)
_FIRST = (
    "sara",
    "ali",
    "maryam",
    "reza",
    "emma",
    "liam",
    "noah",
    "mia",
    "leyla",
    "omid",
    "ana",
    "luca",
)
_LAST = (
    "ahmadi",
    "karimi",
    "smith",
    "jones",
    "muller",
    "martin",
    "garcia",
    "rossi",
    "yilmaz",
    "hosseini",
)
_COUNTRY_MOBILE = ("+98912", "+98935", "+447700", "+4915", "+3361", "+3461", "+39347", "+90532")


@dataclass(frozen=True)
class Person:
    index: int
    customer_id: str | None
    web_cookies: tuple[str, ...]
    app_install: str | None
    email: str | None
    phone: str | None
    loyalty_id: str | None
    home_store: str
    mood: float
    """How this person tends to rate experiences: about N(0, 1)."""
    b2b_accounts: tuple[str, ...] = ()
    """The business accounts they act for (`context.b2b_account_id`): none
    for most people; see `draw_accounts`."""

    def identifiers(self) -> dict[str, set[str]]:
        """Every identifier value of this person, by kind (for the truth)."""
        return {
            "customer_id": {self.customer_id} if self.customer_id else set(),
            "anonymous_id": set(self.web_cookies)
            | ({self.app_install} if self.app_install else set()),
            "email": {self.email} if self.email else set(),
            "phone": {self.phone} if self.phone else set(),
            "loyalty_id": {self.loyalty_id} if self.loyalty_id else set(),
        }


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def make_person(rng: random.Random, index: int) -> Person:
    has_account = rng.random() < 0.7
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    phone = None
    if rng.random() < 0.75:
        prefix = rng.choice(_COUNTRY_MOBILE)
        for _ in range(7):  # drawn, not used, so that the draws after stay as they were
            rng.choice("0123456789")
        # The index, not random digits: two people never share a phone by
        # chance, which among tens of thousands they would.
        phone = f"{prefix}{index:07d}"
    return Person(
        index=index,
        customer_id=f"C{10_000_000 + index}" if has_account else None,
        web_cookies=tuple(f"ck-{_hex(rng, 16)}" for _ in range(rng.choice((1, 1, 2)))),
        app_install=f"app-{_hex(rng, 16)}" if rng.random() < 0.55 else None,
        email=f"{first}.{last}{index}@example.com" if has_account else None,
        phone=phone,
        loyalty_id=f"L{rng.randrange(10**9, 10**10)}" if rng.random() < 0.5 else None,
        home_store=rng.choice(STORES),
        mood=rng.gauss(0.0, 1.0),
    )


B2B_SHARE = 0.15
"""Share of people who act for a business account."""
PEOPLE_PER_ACCOUNT = 6
"""About how many people act for each account."""


def draw_accounts(rng: random.Random, people: int) -> tuple[str, ...]:
    """The accounts one person of a population of `people` acts for: none
    for most, one for `B2B_SHARE` of them, two for about a third of those
    (a person may buy for two companies). Drawn from an rng of their own,
    so every other field of the traffic stays as it was without accounts."""
    accounts = max(1, round(people * B2B_SHARE / PEOPLE_PER_ACCOUNT))
    if rng.random() >= B2B_SHARE:
        return ()
    first = rng.randrange(accounts)
    if accounts > 1 and rng.random() < 0.3:
        second = (first + 1 + rng.randrange(accounts - 1)) % accounts
        return (f"acct-{first:04d}", f"acct-{second:04d}")
    return (f"acct-{first:04d}",)


def store_quality(store: str) -> float:
    """A fixed per-store offset of how well the store serves people."""
    return (sum(map(ord, store)) % 7 - 3) / 3.0
