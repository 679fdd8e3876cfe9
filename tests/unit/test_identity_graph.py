"""The identity graph against plain union-find, and its rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.identity import (
    Decision,
    Evidence,
    IdentityGraph,
    IdentityRules,
    Reason,
    evidence_of,
    key_order,
)


def ev(*identifiers: str, event_id: str = "e", at: int = 0) -> Evidence:
    evidence = evidence_of(event_id, at, "web", identifiers)
    assert evidence is not None
    return evidence


def components(evidence: list[Evidence]) -> dict[str, str]:
    """Oracle: identifier -> min identifier of its connected component."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for e in evidence:
        first = e.identifiers[0]
        for other in e.identifiers[1:]:
            parent[root(other)] = root(first)
    groups: dict[str, list[str]] = {}
    for x in list(parent):
        groups.setdefault(root(x), []).append(x)
    return {x: min(members, key=key_order) for members in groups.values() for x in members}


# People with one customer id each, linked through their own weak ids only:
# no conflicts, so any order must give the same people and keys.
_PEOPLE = [
    ["customer_id:C1", "email_hash:e1", "anonymous_id:a1", "anonymous_id:a2"],
    ["loyalty_id:L2", "phone_hash:p2", "anonymous_id:a3"],
    ["email_hash:e3", "anonymous_id:a4", "anonymous_id:a5"],
    ["customer_id:C4", "loyalty_id:L4", "phone_hash:p4", "anonymous_id:a6"],
]
_PAIRS = [
    ev(person[i], person[j], event_id=f"{n}-{i}-{j}")
    for n, person in enumerate(_PEOPLE)
    for i in range(len(person))
    for j in range(i + 1, len(person))
]


@settings(max_examples=60, deadline=None)
@given(st.permutations(_PAIRS), st.integers(min_value=3, max_value=len(_PAIRS)))
def test_keys_do_not_depend_on_arrival_order(pairs: list[Evidence], take: int) -> None:
    applied = pairs[:take]
    graph = IdentityGraph(IdentityRules())
    for evidence in applied:
        graph.observe(evidence)
    expected = components(applied)
    assert {x: graph.key_of(x) for x in expected} == expected


def test_a_person_key_is_the_strongest_identifier() -> None:
    graph = IdentityGraph(IdentityRules())
    graph.observe(ev("anonymous_id:a1", "email_hash:e1"))
    assert graph.key_of("anonymous_id:a1") == "email_hash:e1"
    graph.observe(ev("email_hash:e1", "loyalty_id:L1"))
    graph.observe(ev("anonymous_id:a1", "customer_id:C1"))
    assert {graph.key_of(x) for x in ("anonymous_id:a1", "email_hash:e1", "loyalty_id:L1")} == {
        "customer_id:C1"
    }
    assert graph.key_of("anonymous_id:unknown") == "anonymous_id:unknown"


def test_late_link_moves_the_anonymous_person_and_reports_every_key() -> None:
    graph = IdentityGraph(IdentityRules())
    graph.observe(ev("anonymous_id:a1", "anonymous_id:a2"))  # not possible on the wire, fine here
    change = graph.observe(ev("customer_id:C1", "anonymous_id:a2", event_id="login"))
    assert change.moves == [("anonymous_id:a1", "customer_id:C1")]
    assert sorted(change.keys) == [
        ("anonymous_id:a1", "customer_id:C1"),
        ("anonymous_id:a2", "customer_id:C1"),
        ("customer_id:C1", "customer_id:C1"),
    ]
    (link,) = change.links
    assert (link.decision, link.reason, link.event_id) == (
        Decision.MERGED,
        Reason.SEEN_TOGETHER,
        "login",
    )
    assert (link.from_key, link.to_key) == ("anonymous_id:a1", "customer_id:C1")


def test_a_new_identifier_is_linked_and_gets_its_key_row() -> None:
    graph = IdentityGraph(IdentityRules())
    change = graph.observe(ev("customer_id:C1", "anonymous_id:a1"))
    assert [link.decision for link in change.links] == [Decision.LINKED]
    assert sorted(change.keys) == [
        ("anonymous_id:a1", "customer_id:C1"),
        ("customer_id:C1", "customer_id:C1"),
    ]
    assert change.moves == [("anonymous_id:a1", "customer_id:C1")]


def test_two_customer_ids_are_never_one_person() -> None:
    graph = IdentityGraph(IdentityRules())
    graph.observe(ev("customer_id:C1", "anonymous_id:tablet"))
    change = graph.observe(ev("customer_id:C2", "anonymous_id:tablet", event_id="x"))
    (link,) = change.links
    assert (link.decision, link.reason) == (Decision.REFUSED, Reason.STRONG_CONFLICT)
    assert link.detail == "customer_id:C2 vs customer_id:C1"
    assert (link.identifier, link.anchor) == ("anonymous_id:tablet", "customer_id:C2")
    assert change.moves == [] and change.keys == []
    assert graph.key_of("anonymous_id:tablet") == "customer_id:C1"
    assert graph.key_of("customer_id:C2") == "customer_id:C2"
    # The same refused pair is not news any more; a conflict through a chain is
    # refused too.
    assert not graph.is_news(("customer_id:C2", "anonymous_id:tablet"))
    graph.observe(ev("customer_id:C2", "email_hash:e2"))
    change = graph.observe(ev("email_hash:e2", "anonymous_id:tablet"))
    assert [link.reason for link in change.links] == [Reason.STRONG_CONFLICT]
    assert graph.key_of("email_hash:e2") == "customer_id:C2"


def test_two_loyalty_cards_conflict_but_card_and_account_link() -> None:
    graph = IdentityGraph(IdentityRules())
    graph.observe(ev("customer_id:C1", "loyalty_id:L1"))
    change = graph.observe(ev("customer_id:C1", "loyalty_id:L2"))
    assert [link.reason for link in change.links] == [Reason.STRONG_CONFLICT]
    assert graph.key_of("loyalty_id:L1") == "customer_id:C1"
    assert graph.key_of("loyalty_id:L2") == "loyalty_id:L2"


def test_strong_kinds_are_configuration() -> None:
    graph = IdentityGraph(IdentityRules(strong_kinds=frozenset({"customer_id"})))
    graph.observe(ev("customer_id:C1", "loyalty_id:L1"))
    change = graph.observe(ev("customer_id:C1", "loyalty_id:L2"))
    assert [link.decision for link in change.links] == [Decision.LINKED]
    assert graph.key_of("loyalty_id:L2") == "customer_id:C1"


def test_an_over_shared_weak_identifier_stops_linking() -> None:
    graph = IdentityGraph(IdentityRules(shared_anonymous_limit=3))
    shop_phone = "phone_hash:shop"
    for n in range(3):
        graph.observe(ev(shop_phone, f"anonymous_id:walkin-{n}"))
    assert graph.key_of("anonymous_id:walkin-2") == shop_phone
    change = graph.observe(ev(shop_phone, "anonymous_id:walkin-3"))
    # The phone crosses the limit, then the event is attributed by its
    # walk-in id, and the phone's link to it refused.
    assert [(link.reason, link.identifier, link.anchor) for link in change.links] == [
        (Reason.SHARED_IDENTIFIER, shop_phone, "anonymous_id:walkin-3"),
        (Reason.SHARED_IDENTIFIER, shop_phone, "anonymous_id:walkin-3"),
    ]
    assert graph.is_shared(shop_phone)
    assert graph.key_of("anonymous_id:walkin-3") == "anonymous_id:walkin-3"
    # Links made before stay; later events are attributed by their other id.
    assert graph.key_of("anonymous_id:walkin-0") == shop_phone
    later = graph.observe(ev(shop_phone, "anonymous_id:walkin-9"))
    assert [link.decision for link in later.links] == [Decision.REFUSED]
    assert graph.resolve((shop_phone, "anonymous_id:walkin-9")) == "anonymous_id:walkin-9"


def test_other_kinds_have_their_own_limit() -> None:
    graph = IdentityGraph(IdentityRules(shared_limit=2, shared_anonymous_limit=50))
    for n in range(10):
        graph.observe(ev("phone_hash:p", f"anonymous_id:a{n}"))
    assert not graph.is_shared("phone_hash:p")
    graph.observe(ev("phone_hash:p", "email_hash:e1"))
    graph.observe(ev("phone_hash:p", "email_hash:e2"))
    assert not graph.is_shared("phone_hash:p")
    graph.observe(ev("phone_hash:p", "email_hash:e3"))
    assert graph.is_shared("phone_hash:p")


def test_is_news() -> None:
    graph = IdentityGraph(IdentityRules())
    pair = ("customer_id:C1", "anonymous_id:a1")
    assert graph.is_news(pair)
    assert not graph.is_news(("customer_id:C1",))
    graph.observe(ev(*pair))
    assert not graph.is_news(pair)
    assert graph.is_news(("customer_id:C1", "anonymous_id:a2"))
