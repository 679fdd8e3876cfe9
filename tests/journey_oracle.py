"""The oracle for people and journeys, by plain Python from the generated
events: union-find over the identifiers events carry, and each person's
journeys from the definitions in docs/domain.md and docs/producers.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import orjson

from schemas import Rejection, normalised, stage_of, validate_event
from streams.dev.generator import GeneratedRecord
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.touchpoint import identifiers_of, to_touchpoint

HOUR = 3_600_000
DAY = 24 * HOUR
_RANK = {"customer_id": 0, "loyalty_id": 1, "phone_hash": 2, "email_hash": 3, "anonymous_id": 4}


@dataclass(frozen=True)
class Seen:
    """A valid event as the oracle reads it."""

    event_id: str
    at: int
    channel: str
    event_type: str
    properties: dict[str, Any]
    identifiers: tuple[str, ...]
    person: int | None
    store_id: str = ""


def read(records: Iterable[GeneratedRecord], secret: str) -> list[Seen]:
    """Valid events, once each (duplicates dropped); identifiers normalised
    and hashed as the contract says (the parsing is the contract's own)."""
    pseudonymizer = Pseudonymizer(secret.encode())
    seen: dict[str, Seen] = {}
    for record in records:
        if record.truth.kind != "valid" or record.truth.event_id in seen:
            continue
        event = validate_event(record.value, record.channel)
        assert not isinstance(event, Rejection)
        tp = to_touchpoint(normalised(event), record.channel, ("t", 0, 0), 0, pseudonymizer)
        raw = orjson.loads(record.value)
        seen[event.event_id] = Seen(
            event.event_id,
            tp.occurred_at_ms,
            record.channel.value,
            event.event_type,
            raw.get("properties", {}),
            identifiers_of(tp.identifiers),
            record.truth.person,
            raw.get("context", {}).get("store_id", ""),
        )
    return list(seen.values())


def people(events: Sequence[Seen]) -> dict[str, str]:
    """identifier -> key of its person: connected components of identifiers
    seen together, keyed by their strongest member."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for event in events:
        for other in event.identifiers[1:]:
            parent[root(other)] = root(event.identifiers[0])
        root(event.identifiers[0])
    members: dict[str, list[str]] = {}
    for x in list(parent):
        members.setdefault(root(x), []).append(x)
    key = {r: min(m, key=lambda i: (_RANK[i.split(":", 1)[0]], i)) for r, m in members.items()}
    return {x: key[root(x)] for x in parent}


@dataclass(frozen=True)
class ExpectedJourney:
    started_at: int
    touchpoints: int
    stages: tuple[str, ...]
    channels: tuple[str, ...]
    channel_switches: int
    purchases: int
    pains: tuple[str, ...]


def runs(events: Sequence[Seen], gap: int = 3 * DAY) -> list[list[Seen]]:
    """One person's events split where nothing happened for `gap`."""
    ordered = sorted(events, key=lambda e: (e.at, e.event_id))
    result: list[list[Seen]] = []
    for event in ordered:
        if not result or event.at - result[-1][-1].at > gap:
            result.append([])
        result[-1].append(event)
    return result


def journeys(events: Sequence[Seen], gap: int = 3 * DAY) -> list[ExpectedJourney]:
    """One person's journeys."""
    result = []
    bought_before = False
    for run in runs(events, gap):
        result.append(_journey(run, bought_before))
        bought_before = bought_before or result[-1].purchases > 0
    return result


def _journey(run: list[Seen], bought_before: bool) -> ExpectedJourney:
    stages: set[str] = set()
    bought = bought_before
    for e in run:
        stage = stage_of(e.event_type, e.properties.get("message_kind"))
        if stage is not None:
            stages.add(stage.value)
        if e.event_type in ("purchase", "pos_purchase"):
            if bought:
                stages.add("loyalty")
            bought = True
    channels = list(dict.fromkeys(e.channel for e in run))
    switches = sum(a.channel != b.channel for a, b in pairwise(run))
    purchases = sum(e.event_type in ("purchase", "pos_purchase") for e in run)
    return ExpectedJourney(
        run[0].at,
        len(run),
        tuple(sorted(stages)),
        tuple(channels),
        switches,
        purchases,
        tuple(sorted(_pains(run, bought_before))),
    )


def _pains(run: list[Seen], bought_before: bool) -> list[str]:
    return [kind for kind, _ in pain_events(run, bought_before)]


def pain_events(run: list[Seen], bought_before: bool) -> list[tuple[str, Seen]]:
    """Each pain point of a journey with the touchpoint it names."""
    pains: list[tuple[str, Seen]] = []
    contacts: dict[str, Seen] = {}
    purchases = [e.at for e in run if e.event_type in ("purchase", "pos_purchase")]
    low = {"nps": 6, "csat": 2, "ces": 3}
    opened: dict[str, int] = {}
    answered: dict[str, int] = {}
    resolved: set[str] = set()
    for e in run:
        props = e.properties
        kind = e.event_type
        if kind == "checkout_started" and not any(e.at <= p <= e.at + HOUR for p in purchases):
            pains.append(("abandoned_checkout", e))
        elif kind == "survey_response" and props["score"] <= low[props["survey"]]:
            pains.append(("low_score", e))
        elif kind == "return" and (bought_before or purchases):
            pains.append(("return_after_purchase", e))
        elif kind == "opt_out" and any(
            o.event_type == "sms_sent" and e.at - 2 * DAY <= o.at <= e.at for o in run
        ):
            pains.append(("opt_out_after_message", e))
        elif kind == "app_crash" and any(
            o.channel == "app"
            and o.event_type != "app_crash"
            and e.at - 30 * 60_000 <= o.at <= e.at
            for o in run
            if o is not e
        ):
            pains.append(("app_crash_in_session", e))
        elif kind == "support_contact_opened":
            opened[props["contact_id"]] = e.at
            contacts.setdefault(props["contact_id"], e)
        elif kind == "support_contact_answered":
            answered.setdefault(props["contact_id"], e.at)
        elif kind == "support_contact_resolved":
            resolved.add(props["contact_id"])
    for contact, at in opened.items():
        if contact in answered:
            if answered[contact] - at > 2 * HOUR:
                pains.append(("slow_support", contacts[contact]))
        elif contact not in resolved:
            pains.append(("unanswered_support", contacts[contact]))
    return pains


@dataclass(frozen=True)
class Contact:
    """A support contact within a journey: the touchpoint that first opened
    it, and when it was first answered and first resolved (None: not)."""

    opened: Seen
    answered_at: int | None
    resolved_at: int | None


def contacts(run: Sequence[Seen]) -> dict[str, Contact]:
    """contact_id -> the contact, of each contact opened in `run` (in the
    order first opened); answers and resolutions of others are left out."""
    opened: dict[str, Seen] = {}
    answered: dict[str, int] = {}
    resolved: dict[str, int] = {}
    for e in run:
        contact = e.properties.get("contact_id")
        if e.event_type == "support_contact_opened":
            opened.setdefault(contact, e)
        elif e.event_type == "support_contact_answered":
            answered.setdefault(contact, e.at)
        elif e.event_type == "support_contact_resolved":
            resolved.setdefault(contact, e.at)
    return {
        contact: Contact(e, answered.get(contact), resolved.get(contact))
        for contact, e in opened.items()
    }


def by_person(events: Sequence[Seen], keys: dict[str, str]) -> dict[str, list[Seen]]:
    """Events grouped by the key of the person they belong to (their
    strongest identifier's person)."""
    grouped: dict[str, list[Seen]] = {}
    for event in events:
        grouped.setdefault(keys[event.identifiers[0]], []).append(event)
    return grouped


def true_people(grouped: dict[str, list[Seen]]) -> Counter[int | None]:
    """How many stitched people each true person became."""
    return Counter(next(iter({e.person for e in events})) for events in grouped.values())
