"""What may link to what: which identifier kinds are strong, and when a weak
identifier is too widely shared to link anyone.

Identifiers are written `kind:value`, with the kinds of `Identifiers`
(`customer_id`, `loyalty_id`, `phone_hash`, `email_hash`, `anonymous_id`): a
touchpoint never holds an email or a phone in clear.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("customer_id", "loyalty_id", "phone_hash", "email_hash", "anonymous_id")
"""Every identifier kind, strongest first: the canonical key of a person is
their first identifier in this order (then by value)."""

_RANK = {kind: rank for rank, kind in enumerate(KINDS)}
_SETTING_NAMES = {"email": "email_hash", "phone": "phone_hash"}


def kind_of(identifier: str) -> str:
    return identifier.partition(":")[0]


def key_order(identifier: str) -> tuple[int, str]:
    """Sort key of identifiers: strongest kind first, then by value."""
    return _RANK[kind_of(identifier)], identifier


def parse_kinds(text: str) -> frozenset[str]:
    """Kinds from a setting such as "customer_id,loyalty_id" (email and phone
    may be named as such)."""
    kinds = set()
    for name in filter(None, (part.strip() for part in text.split(","))):
        kind = _SETTING_NAMES.get(name, name)
        if kind not in _RANK:
            raise ValueError(f"unknown identifier kind {name!r}; kinds are {', '.join(KINDS)}")
        kinds.add(kind)
    return frozenset(kinds)


@dataclass(frozen=True, slots=True)
class IdentityRules:
    strong_kinds: frozenset[str] = frozenset({"customer_id", "loyalty_id"})
    """A person holds at most one value of each strong kind: a link that would
    put two customer ids (or two loyalty cards) into one person is refused."""
    shared_limit: int = 5
    """A weak identifier seen with more than this many distinct identifiers of
    any one kind (a family tablet, a shop's phone) stops linking."""
    shared_anonymous_limit: int = 50
    """The same, counting anonymous ids: one person clears cookies and
    changes devices, so the limit for those is higher."""

    def is_strong(self, identifier: str) -> bool:
        return kind_of(identifier) in self.strong_kinds

    def limit_for(self, partner_kind: str) -> int:
        """Most distinct partners of this kind a weak identifier may have."""
        return self.shared_anonymous_limit if partner_kind == "anonymous_id" else self.shared_limit
