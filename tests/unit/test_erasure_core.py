"""Erasure's pure parts: the identity graph forgets a person (and replaying
the log honours it), the tombstones reach every record of theirs, requests
are read strictly, and the journey core drops them."""

from __future__ import annotations

import random

import orjson
import pytest

from streams.erasure.request import BadRequest, decode_request, encode_request, new_request
from streams.erasure.tombstones import changelog_tombstones, closure_tombstones
from streams.identity import Evidence, IdentityGraph, IdentityRules, evidence_of
from streams.identity.log import Erasure, decode_erasure, encode_erasure
from streams.journeys.logic import JourneyLogic
from streams.journeys.outbox import Outbox, Partition
from streams.journeys.rules import JourneyRules
from streams.journeys.steps import Step
from streams.runtime.partitioning import partition_of


def ev(*identifiers: str, event_id: str = "e") -> Evidence:
    evidence = evidence_of(event_id, 0, "web", identifiers)
    assert evidence is not None
    return evidence


ALICE = ["customer_id:A", "email_hash:ea", "anonymous_id:a1", "anonymous_id:a2"]
BOB = ["customer_id:B", "phone_hash:pb", "anonymous_id:b1"]


def _log() -> list[Evidence]:
    evidence = [ev(ALICE[0], x, event_id=f"a{i}") for i, x in enumerate(ALICE[1:])]
    evidence += [ev(BOB[0], x, event_id=f"b{i}") for i, x in enumerate(BOB[1:])]
    # Alice's e-mail seen with Bob's account: refused (two customer ids).
    evidence.append(ev("customer_id:B", "email_hash:ea", event_id="clash"))
    return evidence


def _graph(evidence: list[Evidence]) -> IdentityGraph:
    graph = IdentityGraph(IdentityRules())
    for e in evidence:
        graph.observe(e)
    return graph


def test_erasing_forgets_every_identifier_of_the_person_and_nothing_else() -> None:
    graph = _graph(_log())
    erased = graph.erase("r1", "anonymous_id:a2", suppress=False)
    assert erased.key == "customer_id:A"
    assert sorted(erased.members) == sorted(ALICE)
    assert len(graph) == len(BOB)
    for identifier in ALICE:
        assert graph.key_of(identifier) == identifier  # unknown now
    assert all(graph.key_of(x) == "customer_id:B" for x in BOB)
    # Nothing of Alice left anywhere in the graph's memory.
    held = repr((graph._parent, graph._people, graph._partners, graph._shared, graph._refused))
    assert not any(identifier in held for identifier in ALICE)
    assert not graph.suppressed


def test_an_identifier_never_linked_is_erased_alone() -> None:
    graph = _graph(_log())
    erased = graph.erase("r2", "customer_id:Z", suppress=True)
    assert erased.members == ("customer_id:Z",) and erased.key == "customer_id:Z"
    assert graph.is_suppressed(["anonymous_id:q", "customer_id:Z"])
    assert len(graph) == len(ALICE) + len(BOB)


def test_suppression_covers_all_their_identifiers_and_later_evidence_makes_a_new_person() -> None:
    graph = _graph(_log())
    graph.erase("r1", "customer_id:A", suppress=True)
    assert all(graph.is_suppressed([x]) for x in ALICE)
    assert not graph.is_suppressed(BOB)
    unsuppressed = _graph(_log())
    unsuppressed.erase("r1", "customer_id:A", suppress=False)
    unsuppressed.observe(ev("customer_id:A", "anonymous_id:new"))
    assert unsuppressed.key_of("anonymous_id:new") == "customer_id:A"
    assert unsuppressed.key_of("email_hash:ea") == "email_hash:ea"  # not re-linked


@pytest.mark.parametrize("seed", range(20))
def test_replaying_the_log_honours_every_erasure_in_it(seed: int) -> None:
    """A fresh worker replays evidence and erasures in log order: an
    identifier whose last mention is an erasure of its person is unknown,
    one seen again after it is known (a new person) unless suppressed, and
    suppression holds exactly the identifiers erased with it."""
    rng = random.Random(seed)
    people = [[f"customer_id:C{p}", f"email_hash:e{p}", f"anonymous_id:a{p}"] for p in range(8)]
    records: list[Evidence | Erasure] = []
    for n in range(40):
        person = rng.choice(people)
        records.append(ev(*rng.sample(person, 2), event_id=f"e{n}"))
        if rng.random() < 0.2:
            victim = rng.choice(rng.choice(people))
            records.append(Erasure(f"r{n}", victim, n, rng.random() < 0.5))
    graph = IdentityGraph(IdentityRules())
    for record in records:
        if isinstance(record, Erasure):
            graph.erase(record.request_id, record.identifier, suppress=record.suppress)
        else:
            graph.observe(record)
    last: dict[str, str] = {}
    suppressed: set[str] = set()
    for record in records:
        if isinstance(record, Erasure):
            for identifier in first_members(records, record):
                last[identifier] = "erased"
                if record.suppress:
                    suppressed.add(identifier)
        elif not suppressed.intersection(record.identifiers):  # else ignored
            last.update(dict.fromkeys(record.identifiers, "seen"))
    assert last, "the log mentions people"
    for identifier, what in last.items():
        assert (identifier in graph._parent) == (what == "seen"), (identifier, what)
    assert graph.suppressed == suppressed


def first_members(records: list[Evidence | Erasure], erasure: Erasure) -> set[str]:
    """Oracle: who `erasure` erased, by replaying the records before it."""
    graph = IdentityGraph(IdentityRules())
    for record in records:
        if record is erasure:
            return set(graph.erase(record.request_id, record.identifier, suppress=False).members)
        if isinstance(record, Erasure):
            graph.erase(record.request_id, record.identifier, suppress=record.suppress)
        else:
            graph.observe(record)
    raise AssertionError("not in the records")


def test_an_erasure_record_round_trips() -> None:
    erasure = Erasure("r1", "email_hash:ea", 1_700_000_000_000, True)
    assert decode_erasure(encode_erasure(erasure)) == erasure


def test_tombstones_reach_the_changelog_and_every_closure() -> None:
    keys = ["customer_id:A", "email_hash:ea"]
    changelog = changelog_tombstones(keys, 8)
    assert [(p, k) for p, k, _, _ in changelog] == [
        (partition_of(k.encode(), 8), k.encode()) for k in sorted(keys)
    ]
    closures = closure_tombstones({"customer_id:A": 3, "email_hash:ea": 1}, 8)
    assert [k for _, k, _, _ in closures] == [
        b"customer_id:A|1",
        b"customer_id:A|2",
        b"customer_id:A|3",
        b"email_hash:ea|1",
    ]
    assert all(v is None for _, _, v, _ in (*changelog, *closures))
    assert {p for p, k, _, _ in closures if k.startswith(b"customer_id:A|")} == {
        partition_of(b"customer_id:A", 8)
    }


def test_requests_are_read_strictly_with_one_line_reasons() -> None:
    request = new_request("customer_id:C1", True)
    assert decode_request(encode_request(request)) == request
    for raw, says in [
        (b"", "empty record"),
        (b"[1]", "request"),
        (orjson.dumps({"request_id": "r 1", "identifier": "customer_id:C1"}), "request_id"),
        (orjson.dumps({"request_id": "r1"}), "identifier"),
        (orjson.dumps({"request_id": "r1", "identifier": "customer_id:C1", "x": 1}), "x"),
        (
            orjson.dumps({"request_id": "r1", "identifier": "customer_id:C1", "suppress": "y"}),
            "suppress",
        ),
    ]:
        with pytest.raises(BadRequest, match=says):
            decode_request(raw)


def _step(at: int, event_id: str) -> Step:
    return Step(event_id, at, "web", "page_view", "awareness")


def test_the_journey_core_forgets_an_erased_person_and_drops_their_late_steps() -> None:
    suppressed: set[str] = set()
    logic = JourneyLogic(
        lambda key: key,
        JourneyRules(),
        lateness_ms=0,
        evict_idle_s=60,
        suppressed_ids=suppressed,
    )
    logic.partitions[0] = Partition()
    logic.gather(
        0, [("customer_id:A", [_step(1_000, "a1")]), ("customer_id:B", [_step(1_000, "b1")])]
    )
    out = Outbox()
    list(logic.flush(out))
    assert {key for key, _ in out.rows} == {"customer_id:A", "customer_id:B"}
    logic.forget(0, "customer_id:A")
    suppressed.add("customer_id:A")
    assert "customer_id:A" not in logic.partitions[0].people
    logic.gather(
        0, [("customer_id:A", [_step(2_000, "a2")]), ("customer_id:B", [_step(2_000, "b2")])]
    )
    out = Outbox()
    list(logic.flush(out))
    assert {key for key, _ in out.rows} == {"customer_id:B"}
    assert logic.suppressed == 1 and logic.counts["people_erased"] == 1


def test_evidence_appended_before_the_erasure_but_applied_after_is_ignored() -> None:
    """Ingest may append a suppressed person's evidence just before their
    erasure is applied: it must not bring them back, now or on replay."""
    graph = _graph(_log())
    graph.erase("r1", "customer_id:A", suppress=True)
    change = graph.observe(ev("customer_id:A", "anonymous_id:late"))
    assert change.links == [] and "anonymous_id:late" not in graph._parent


def test_the_identity_recorder_never_records_what_a_later_erasure_forgets() -> None:
    """Rows of a person linked and then erased in one recorded batch are
    not inserted; the same identifiers linked again after it (a new person)
    are."""
    from streams.identity.log import Erasure as LogErasure
    from streams.identity.sink import forgotten

    graph = IdentityGraph(IdentityRules())
    first = graph.observe(ev("customer_id:A", "email_hash:ea", event_id="e1"))
    other = graph.observe(ev("customer_id:B", "anonymous_id:b1", event_id="e2"))
    erasure = LogErasure("r1", "customer_id:A", 5, False)
    gone = graph.erase("r1", "customer_id:A", suppress=False)
    again = graph.observe(ev("customer_id:A", "anonymous_id:new", event_id="e3"))
    applied = [
        (0, ev("customer_id:A", "email_hash:ea", event_id="e1"), first),
        (1, ev("customer_id:B", "anonymous_id:b1", event_id="e2"), other),
        (2, erasure.as_evidence(), first._replace(links=[], moves=[], keys=[], erased=(gone,))),
        (3, ev("customer_id:A", "anonymous_id:new", event_id="e3"), again),
    ]
    kept = forgotten(applied)
    assert [len(change.links) for _, _, change in kept] == [0, 1, 0, 1]
    assert kept[0][2].keys == [] and kept[1][2].keys == other.keys
    assert kept[3][2].keys == again.keys and again.keys
