"""`PersonState`: what the journey stage keeps per person, and its changelog
record.

A person's state is the steps of their open journeys, in event-time order,
each event once, and what the rules need of their closed ones
(`streams.journeys.closed`). Journeys are rebuilt from the steps (`fold`), so
a late step, or the history of a person merged in, simply takes its place in
time (one that reaches a closed journey reopens it first). The steps are kept
encoded (`encode_steps`, one bytes object a person): a hundred thousand
people cost a hundred thousand objects, which the garbage collector never
has to look into, and the changelog record carries the same bytes.

The changelog record (`PersonRecord`) carries the steps (to restore the state),
the open journey ids they made (to retire the ids that later vanish) and
where the closed journeys are. The
journeys themselves go to the store as rows (`streams.journeys.rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from streams.journeys.closed import NO_CHAIN, PENDING, ClosedJourney, Closure
from streams.journeys.records import Journey
from streams.journeys.steps import Step, decode_steps, encode_steps

RECORD_FORMAT = b"person/6"
"""Value of the `cx.format` header on the journeys (changelog) topic. The
record's value (JSON) says who the person is now (version, journey ids,
moved or evicted); their steps travel in the `cx.steps` header."""

NO_STEPS = encode_steps([])


def _order(step: Step) -> tuple[int, str]:
    return step.occurred_at_ms, step.event_id


@dataclass(slots=True)
class PersonState:
    steps: bytes = NO_STEPS
    """`encode_steps` of the steps of the person's open journeys, in
    (occurred_at_ms, event_id) order, each event once."""
    version: int = 0
    journey_ids: tuple[str, ...] = ()
    """Open journeys last written for this person (and closed ones reopened)."""
    last_at_ms: int = 0
    """Event time of the latest step."""
    chain: int = NO_CHAIN
    """Offset of the person's newest closure on the closed-journeys topic."""
    chain_count: int = 0
    """How many of that closure's journeys are still closed (the first ones)."""
    closed_until_ms: int = 0
    """Event time of the last step of their closed journeys (0: none)."""
    purchased: bool = False
    """Whether any closed journey converted."""
    closed_now: bool = False
    """The last version closed journeys: restored unconfirmed, their rows may
    be missing too, and the closure is reopened to write them again."""
    superseded: tuple[bytes, ...] = ()
    """Keys of closures reopened into the state, tombstoned once the next
    version is written (memory only)."""
    touched_at: float = 0.0
    """time.monotonic() of the last step (memory only)."""
    unconfirmed: bool = False
    """Restored from a changelog record whose rows the store may not hold
    yet (a crash between the two writes): the next step for the person,
    even one already known, writes them again (memory only)."""
    retired: tuple[str, ...] = ()
    """Restored: the journeys that record's version retired, whose deletions
    may not have reached the store either."""

    def decoded(self) -> list[Step]:
        return decode_steps(self.steps)

    def maybe_stored(self) -> tuple[str, ...]:
        """The journey ids whose rows may be current in the store: the ones
        last written and, while unconfirmed, the ones their version retired."""
        return self.journey_ids + self.retired if self.unconfirmed else self.journey_ids


def merge_steps(known: list[Step], new: Iterable[Step]) -> list[Step] | None:
    """`known` (ordered, each event once) with the steps of `new` not in it,
    in order; None when `new` adds nothing."""
    ids = {step.event_id for step in known}
    fresh = []
    for step in new:
        if step.event_id not in ids:
            ids.add(step.event_id)
            fresh.append(step)
    if not fresh:
        return None
    fresh.sort(key=_order)
    if not known or _order(fresh[0]) > _order(known[-1]):
        return known + fresh  # the usual case: the newest steps come last
    return sorted(known + fresh, key=_order)


def add_steps(state: PersonState, new: Iterable[Step]) -> list[Step] | None:
    """Add the steps not seen yet; the person's steps after, or None when
    nothing was new (the state is then unchanged)."""
    merged = merge_steps(state.decoded(), new)
    if merged is not None:
        state.steps = encode_steps(merged)
        state.last_at_ms = max(state.last_at_ms, merged[-1].occurred_at_ms)
    return merged


def close(key: str, state: PersonState, steps: list[Step], ended: Sequence[Journey]) -> Closure:
    """Move the `ended` journeys (the first of the person's, folded from
    `steps`, their steps in order) out of the state into a closure; the
    state's chain is PENDING until the closure's offset is known."""
    assert state.chain != PENDING, "one closure per person at a time"
    count = sum(journey.touchpoints for journey in ended)  # the first steps
    closure = Closure(
        key,
        state.version,
        tuple(ClosedJourney(j.journey_id, j.last_at_ms, j.converted, j.touchpoints) for j in ended),
        encode_steps(steps[:count]),
        state.chain,
        state.chain_count,
        state.closed_until_ms,
        state.purchased,
    )
    state.steps = encode_steps(steps[count:])
    state.chain, state.chain_count = PENDING, len(ended)
    state.closed_until_ms = ended[-1].last_at_ms
    state.purchased = state.purchased or any(journey.converted for journey in ended)
    return closure


def reopen(state: PersonState, closure: Closure | None, keep: Callable[[int], bool]) -> None:
    """Journeys of the closure at the head of the state's chain back into
    the state, newest first, as long as `keep(last_at_ms)` of the one before
    says no (all of them: the chain moves one closure back, and this one is
    superseded). None (gone from the topic): the chain ends here, the older
    history stays as stored."""
    if closure is None:
        state.chain, state.chain_count = NO_CHAIN, 0
        return
    journeys = closure.journeys[: state.chain_count]
    assert journeys, "a chain points at one closed journey at least"
    kept = len(journeys) - 1  # the newest goes back, always
    while kept > 0 and not keep(journeys[kept - 1].last_at_ms):
        kept -= 1
    start = sum(journey.steps for journey in journeys[:kept])
    end = start + sum(journey.steps for journey in journeys[kept:])
    back = decode_steps(closure.steps)[start:end]
    state.steps = encode_steps(merge_steps(back, state.decoded()) or back)
    ids = tuple(journey.journey_id for journey in journeys[kept:])
    state.journey_ids = tuple(dict.fromkeys(ids + state.journey_ids))
    state.closed_now = False
    if kept:
        state.chain_count = kept
        state.closed_until_ms = journeys[kept - 1].last_at_ms
        state.purchased = closure.purchased_before or any(j.converted for j in journeys[:kept])
    else:
        state.chain, state.chain_count = closure.previous, closure.previous_count
        state.closed_until_ms = closure.previous_until_ms
        state.purchased = closure.purchased_before
        state.superseded += (closure.key,)


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """One changelog record of a person."""

    customer_key: str
    version: int
    as_of_ms: int
    steps: bytes
    """Encoded, as in `PersonState.steps`."""
    last_at_ms: int
    journey_ids: tuple[str, ...]
    retired: tuple[str, ...] = ()
    """Journeys this version deleted (rows with is_deleted)."""
    chain: int = NO_CHAIN
    chain_count: int = 0
    closed_until_ms: int = 0
    purchased: bool = False
    closed_now: bool = False
    closure: int | None = None
    """While the closure this version made is being sent: its index in the
    Outbox (`chain` is set from its offset). Not encoded."""
    moved_to: str | None = None
    evicted: bool = False
    """Idle: the state left memory (this record keeps it, for a late step)."""


def encode_record(record: PersonRecord) -> tuple[bytes, bytes]:
    """The record's value (JSON) and its encoded steps."""
    value = orjson.dumps(
        {
            "customer_key": record.customer_key,
            "version": record.version,
            "as_of_ms": record.as_of_ms,
            "last_at_ms": record.last_at_ms,
            "journey_ids": record.journey_ids,
            "retired": record.retired,
            "chain": record.chain,
            "chain_count": record.chain_count,
            "closed_until_ms": record.closed_until_ms,
            "purchased": record.purchased,
            "closed_now": record.closed_now,
            "moved_to": record.moved_to,
            "evicted": record.evicted,
        }
    )
    return value, record.steps


def decode_record(raw: bytes) -> dict[str, Any]:
    """The record's value as JSON values."""
    data: dict[str, Any] = orjson.loads(raw)
    return data


def restored(data: dict[str, Any], encoded_steps: bytes) -> PersonState | None:
    """The state a changelog record holds (its decoded value and steps), or
    None when the person was merged into another. A new version's record is
    written before its journeys (`streams.journeys.logic.Outbox`), so the state
    it restores is `unconfirmed`; an eviction's record is written after."""
    if data["moved_to"] is not None:
        return None
    return PersonState(
        steps=encoded_steps,
        version=data["version"],
        journey_ids=tuple(data["journey_ids"]),
        last_at_ms=data["last_at_ms"],
        unconfirmed=not data["evicted"],
        retired=tuple(data.get("retired", ())),  # person/4 records carry none
        # person/5 records hold every step: the next fold closes what ended.
        chain=data.get("chain", NO_CHAIN),
        chain_count=data.get("chain_count", 0),
        closed_until_ms=data.get("closed_until_ms", 0),
        purchased=data.get("purchased", False),
        closed_now=data.get("closed_now", False),
    )
