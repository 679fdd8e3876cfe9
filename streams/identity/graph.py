"""`IdentityGraph`: identifiers linked into people, as a deterministic state
machine over link evidence.

An event that carries two or more identifiers is evidence that they belong
to one person. The graph applies evidence in the order of the identity log (a
single-partition topic every worker reads whole), so every worker computes
the same people from the same log, whatever the partition count or the number
of workers. Rules (`IdentityRules`):

- a person holds at most one value of each strong kind: a link that would
  unite two customer ids is refused (`strong_conflict`), and recorded;
- a weak identifier seen with too many distinct identifiers of one kind is
  shared (a family tablet, a shop's phone): from then on it links nobody
  (`shared_identifier`); the links it made before stay;
- a person's key is their strongest identifier (`key_order`): it follows
  from who the person is, not from the order links arrived in. When two
  people turn out to be one, the weaker key moves to the stronger (`Move`).

Pure: no I/O. Whoever applies evidence gets a `Change` back: the links and
refusals to record, the keys that moved, and the identifiers whose key is new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from streams.identity.rules import IdentityRules, key_order, kind_of


class Evidence(NamedTuple):
    """Identifiers seen together on one event; `identifiers` distinct,
    strongest first (`evidence_of` builds it)."""

    event_id: str
    occurred_at_ms: int
    channel: str
    identifiers: tuple[str, ...]


class Decision(StrEnum):
    LINKED = "linked"
    """A new identifier joined a person."""
    MERGED = "merged"
    """Two known people turned out to be one."""
    REFUSED = "refused"


class Reason(StrEnum):
    SEEN_TOGETHER = "seen_together"
    STRONG_CONFLICT = "strong_conflict"
    SHARED_IDENTIFIER = "shared_identifier"


class Link(NamedTuple):
    """One recorded decision: `identifier` linked (or not) to the person of
    `anchor`, the event's strongest linkable identifier."""

    decision: Decision
    reason: Reason
    identifier: str
    anchor: str
    from_key: str
    """Key of `identifier`'s person before."""
    to_key: str
    """Key of its person after (refused: of the anchor's person)."""
    detail: str
    event_id: str
    occurred_at_ms: int
    channel: str


class Move(NamedTuple):
    """Everything keyed `from_key` now belongs to `to_key`."""

    from_key: str
    to_key: str


class Erased(NamedTuple):
    """A person forgotten by an erasure: their key and every identifier they
    had (just the one asked for when it never linked to anything)."""

    request_id: str
    key: str
    members: tuple[str, ...]
    suppress: bool


class Change(NamedTuple):
    links: list[Link]
    moves: list[Move]
    keys: list[tuple[str, str]]
    """(identifier, key) of every identifier whose key is new or changed."""
    erased: tuple[Erased, ...] = ()


def evidence_of(
    event_id: str, occurred_at_ms: int, channel: str, identifiers: Sequence[str]
) -> Evidence | None:
    """Evidence of an event's identifiers, or None with fewer than two."""
    distinct = sorted(set(identifiers), key=key_order)
    if len(distinct) < 2:
        return None
    return Evidence(event_id, occurred_at_ms, channel, tuple(distinct))


@dataclass(slots=True)
class _Person:
    key: str
    members: list[str]
    strong: dict[str, str] = field(default_factory=dict)
    """Kind -> the person's one identifier of that strong kind."""


class IdentityGraph:
    def __init__(self, rules: IdentityRules) -> None:
        self.rules = rules
        self._parent: dict[str, str] = {}
        self._people: dict[str, _Person] = {}  # by root identifier
        self._partners: dict[str, dict[str, set[str]]] = {}
        self._shared: set[str] = set()
        self._refused: set[tuple[str, str]] = set()
        self.suppressed: set[str] = set()
        """Identifiers of people erased with suppression: their events are
        dropped from then on (in memory only; the log holds the erasures)."""

    # -- reading ------------------------------------------------------------
    def __len__(self) -> int:
        """Identifiers known to the graph."""
        return len(self._parent)

    def _root(self, identifier: str) -> str:
        parent = self._parent
        while (up := parent[identifier]) != identifier:
            parent[identifier] = parent[up]  # path halving
            identifier = parent[identifier]
        return identifier

    def key_of(self, identifier: str) -> str:
        """The key of the person `identifier` belongs to (itself if unknown)."""
        if identifier not in self._parent:
            return identifier
        return self._people[self._root(identifier)].key

    def is_shared(self, identifier: str) -> bool:
        return identifier in self._shared

    def anchor(self, identifiers: Sequence[str]) -> str:
        """The identifier an event is attributed by: its strongest one that is
        not shared. `identifiers` strongest first."""
        for identifier in identifiers:
            if identifier not in self._shared:
                return identifier
        return identifiers[0]

    def resolve(self, identifiers: Sequence[str]) -> str:
        """The key of the person an event with these identifiers (strongest
        first) belongs to."""
        return self.key_of(self.anchor(identifiers))

    def is_news(self, identifiers: Sequence[str]) -> bool:
        """Whether evidence of these identifiers (strongest first) could change
        the graph: some pair is neither linked already nor refused before."""
        if len(identifiers) < 2:
            return False
        anchor = self.anchor(identifiers)
        known = self._parent
        for other in identifiers:
            if other == anchor or (anchor, other) in self._refused:
                continue
            if anchor not in known or other not in known:
                return True
            if self._root(anchor) != self._root(other):
                return True
        return False

    def is_suppressed(self, identifiers: Sequence[str]) -> bool:
        """Whether an event with these identifiers belongs to a person erased
        with suppression."""
        suppressed = self.suppressed
        return bool(suppressed) and any(i in suppressed for i in identifiers)

    # -- erasing ------------------------------------------------------------
    def erase(self, request_id: str, identifier: str, *, suppress: bool) -> Erased:
        """Forget the person `identifier` belongs to: every identifier of
        theirs, and what others' counts and refusals remembered of them.
        Their identifiers are unknown from then on: a later event makes a new
        person, unless `suppress`."""
        if identifier in self._parent:
            person = self._people.pop(self._root(identifier))
            key, members = person.key, tuple(person.members)
        else:
            key, members = identifier, (identifier,)
        gone = set(members)
        parent, partners = self._parent, self._partners
        for member in members:
            parent.pop(member, None)
            partners.pop(member, None)
            self._shared.discard(member)
        # Only an identifier refused a link with one of theirs can hold them
        # among its partners: their own evidence linked the rest to them.
        others = {x for pair in self._refused if gone.intersection(pair) for x in pair} - gone
        for other in others:
            for seen in partners.get(other, {}).values():
                seen.difference_update(gone)
        self._refused = {pair for pair in self._refused if not gone.intersection(pair)}
        if suppress:
            self.suppressed |= gone
        return Erased(request_id, key, members, suppress)

    # -- applying evidence --------------------------------------------------
    def observe(self, evidence: Evidence) -> Change:
        change = Change([], [], [])
        ids = evidence.identifiers
        if self.is_suppressed(ids):  # appended before its person was erased
            return change
        self._count_partners(evidence, change)
        anchor = self.anchor(ids)
        for other in ids:
            if other != anchor and (anchor, other) not in self._refused:
                self._link(anchor, other, evidence, change)
        return change

    def _count_partners(self, evidence: Evidence, change: Change) -> None:
        """Count, for each weak identifier, the distinct identifiers of each
        kind it was seen with; past the limit it is shared."""
        rules = self.rules
        for identifier in evidence.identifiers:
            if rules.is_strong(identifier) or identifier in self._shared:
                continue
            partners = self._partners.setdefault(identifier, {})
            for other in evidence.identifiers:
                if other == identifier:
                    continue
                kind = kind_of(other)
                seen = partners.setdefault(kind, set())
                seen.add(other)
                limit = rules.limit_for(kind)
                if len(seen) > limit:
                    self._shared.add(identifier)
                    del self._partners[identifier]
                    key = self.key_of(identifier)
                    change.links.append(
                        self._record(
                            Decision.REFUSED,
                            Reason.SHARED_IDENTIFIER,
                            identifier,
                            other,
                            key,
                            key,
                            f"seen with more than {limit} {kind}",
                            evidence,
                        )
                    )
                    break

    def _add(self, identifier: str) -> str:
        if identifier not in self._parent:
            self._parent[identifier] = identifier
            self._people[identifier] = _Person(identifier, [identifier])
            if self.rules.is_strong(identifier):
                self._people[identifier].strong[kind_of(identifier)] = identifier
        return self._root(identifier)

    def _link(self, anchor: str, other: str, evidence: Evidence, change: Change) -> None:
        if other in self._shared or anchor in self._shared:
            self._refuse(Reason.SHARED_IDENTIFIER, anchor, other, "shared", evidence, change)
            return
        new = other not in self._parent
        new_anchor = anchor not in self._parent
        root_a, root_o = self._add(anchor), self._add(other)
        if root_a == root_o:
            return
        a, o = self._people[root_a], self._people[root_o]
        clash = [kind for kind, mine in a.strong.items() if o.strong.get(kind, mine) != mine]
        if clash:
            detail = "; ".join(f"{a.strong[kind]} vs {o.strong[kind]}" for kind in clash)
            self._refuse(Reason.STRONG_CONFLICT, anchor, other, detail, evidence, change)
            return
        winner_key = min(a.key, o.key, key=key_order)
        loser = o if winner_key == a.key else a
        change.moves.append(Move(loser.key, winner_key))
        change.keys.extend((member, winner_key) for member in loser.members)
        if new and loser is a:  # a new identifier that wins keeps its own key
            change.keys.append((other, winner_key))
        if new_anchor and loser is o:
            change.keys.append((anchor, winner_key))
        change.links.append(
            self._record(
                Decision.LINKED if new else Decision.MERGED,
                Reason.SEEN_TOGETHER,
                other,
                anchor,
                o.key,
                winner_key,
                "",
                evidence,
            )
        )
        big, small = (root_a, root_o) if len(a.members) >= len(o.members) else (root_o, root_a)
        kept, gone = self._people[big], self._people.pop(small)
        self._parent[small] = big
        kept.key = winner_key
        kept.members.extend(gone.members)
        for kind, identifier in gone.strong.items():
            kept.strong.setdefault(kind, identifier)

    def _refuse(
        self,
        reason: Reason,
        anchor: str,
        other: str,
        detail: str,
        evidence: Evidence,
        change: Change,
    ) -> None:
        self._refused.add((anchor, other))
        change.links.append(
            self._record(
                Decision.REFUSED,
                reason,
                other,
                anchor,
                self.key_of(other),
                self.key_of(anchor),
                detail,
                evidence,
            )
        )

    @staticmethod
    def _record(
        decision: Decision,
        reason: Reason,
        identifier: str,
        anchor: str,
        from_key: str,
        to_key: str,
        detail: str,
        evidence: Evidence,
    ) -> Link:
        return Link(
            decision,
            reason,
            identifier,
            anchor,
            from_key,
            to_key,
            detail,
            evidence.event_id,
            evidence.occurred_at_ms,
            evidence.channel,
        )
