"""Journeys of one person, folded from their steps (pure, no I/O).

A journey is a run of one person's steps with no silence longer than
`JourneyRules.inactivity_gap_ms`. Every function sorts its input by
(occurred_at_ms, event_id) and counts a repeated event_id once, so the result
does not depend on arrival order. `as_of_ms` is the event-time watermark.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from hashlib import blake2b
from itertools import pairwise

from schemas.events import PURCHASE_TYPES
from schemas.stages import Stage
from streams.journeys.pains import PAIN_TYPES, ContactSteps, contact_steps, pain_points
from streams.journeys.records import (
    NO_FOLLOW_UP,
    FollowUp,
    Journey,
    PainKind,
    SupportContact,
    SupportState,
    SurveyAnswer,
)
from streams.journeys.rules import JourneyRules
from streams.journeys.steps import Step

_LOYALTY = Stage.LOYALTY.value
FOLLOW_UP_KINDS = frozenset({"thank_you", "reminder", "survey"})
"""sms_sent message kinds that are a follow-up after a purchase."""
_ANSWER_TYPES = frozenset({"survey_response", "sms_reply"})
_NOT_RATED_TYPES = frozenset({"survey_response", "sms_sent", "sms_delivered"})


def ordered(steps: Iterable[Step]) -> list[Step]:
    """Steps sorted by (occurred_at_ms, event_id); a repeated event_id is the
    same event delivered twice and is kept once."""
    seen: set[str] = set()
    result = []
    for step in sorted(steps, key=lambda s: (s.occurred_at_ms, s.event_id)):
        if step.event_id not in seen:
            seen.add(step.event_id)
            result.append(step)
    return result


def split_journeys(steps: Sequence[Step], gap_ms: int) -> list[list[Step]]:
    """Sorted steps, cut wherever consecutive steps are more than gap_ms apart."""
    return _split(ordered(steps), gap_ms)


def _split(run: Sequence[Step], gap_ms: int) -> list[list[Step]]:
    """`split_journeys` of steps already `ordered`."""
    journeys: list[list[Step]] = []
    current: list[Step] = []
    last = 0
    for step in run:
        if current and step.occurred_at_ms - last > gap_ms:
            journeys.append(current)
            current = []
        current.append(step)
        last = step.occurred_at_ms
    if current:
        journeys.append(current)
    return journeys


def journey_id(customer_key: str, first: Step) -> str:
    """16 hex chars of blake2b of "customer_key|first time|first event_id"."""
    text = f"{customer_key}|{first.occurred_at_ms}|{first.event_id}"
    return blake2b(text.encode(), digest_size=8).hexdigest()


def _stages(steps: Sequence[Step], purchased_before: bool) -> dict[str, Step]:
    """Stage -> the step that first reached it, in order of first reach. A
    purchase by a person who purchased before (earlier journey, or earlier
    in this one) reaches loyalty as well as purchase; loyalty_scan reaches
    loyalty."""
    reached: dict[str, Step] = {}
    bought = purchased_before
    for step in steps:
        if step.stage is not None:
            reached.setdefault(step.stage, step)
        if step.event_type in PURCHASE_TYPES:
            if bought:
                reached.setdefault(_LOYALTY, step)
            bought = True
    return reached


def _switches(steps: Sequence[Step]) -> int:
    """Number of consecutive steps on different channels."""
    return sum(a.channel != b.channel for a, b in pairwise(steps))


def _revenue(purchases: Sequence[Step]) -> tuple[tuple[str, float], ...]:
    """Revenue total per currency, rounded to 4 decimals, sorted by currency."""
    amounts: dict[str, list[float]] = {}
    for step in purchases:
        if step.currency is not None and step.revenue is not None:
            amounts.setdefault(step.currency, []).append(step.revenue)
    return tuple((cur, round(math.fsum(values), 4)) for cur, values in sorted(amounts.items()))


def _support_contact(contact: ContactSteps) -> SupportContact:
    """State resolved > answered > open. Times are measured from the opened
    step; a contact not opened in this journey has no times."""
    state: SupportState = (
        "resolved" if contact.resolved else "answered" if contact.answered else "open"
    )
    opened = contact.opened
    return SupportContact(
        contact_id=contact.contact_id,
        channel=(opened or contact.first_seen).channel,
        opened_at_ms=opened.occurred_at_ms if opened else None,
        first_answer_ms=contact.since_opened(contact.answered),
        resolution_ms=contact.since_opened(contact.resolved),
        state=state,
    )


def _surveys(steps: Sequence[Step]) -> tuple[SurveyAnswer, ...]:
    """Each survey response rates its about_event_id when that step is in the
    journey, else the latest earlier step that is not a survey_response,
    sms_sent, sms_delivered or signal (stage None)."""
    by_id = {step.event_id: step for step in steps}
    answers: list[SurveyAnswer] = []
    latest: Step | None = None
    for step in steps:
        if step.event_type == "survey_response":
            if step.survey is not None and step.score is not None:
                about = by_id.get(step.about_event_id) if step.about_event_id else None
                answers.append(_answer(step, step.survey, step.score, about or latest))
        elif step.stage is not None and step.event_type not in _NOT_RATED_TYPES:
            latest = step
    return tuple(answers)


def _answer(step: Step, survey: str, score: int, rated: Step | None) -> SurveyAnswer:
    return SurveyAnswer(
        event_id=step.event_id,
        survey=survey,
        score=score,
        dimension=step.dimension,
        at_ms=step.occurred_at_ms,
        channel=step.channel,
        about_event_id=step.about_event_id,
        rated_event_id=rated.event_id if rated else None,
        rated_event_type=rated.event_type if rated else None,
        rated_stage=rated.stage if rated else None,
    )


def _follow_up(steps: Sequence[Step]) -> FollowUp:
    """Follow-up sms kinds (thank_you, reminder, survey) sent after the first
    purchase; answered: a survey_response or sms_reply after the first one."""
    first = next((i for i, s in enumerate(steps) if s.event_type in PURCHASE_TYPES), None)
    if first is None:
        return FollowUp()
    kinds: set[str] = set()
    answered = False
    for step in steps[first + 1 :]:
        kind = step.message_kind
        if step.event_type == "sms_sent" and kind is not None and kind in FOLLOW_UP_KINDS:
            kinds.add(kind)
        elif kinds and step.event_type in _ANSWER_TYPES:
            answered = True
    return FollowUp("thank_you" in kinds, "reminder" in kinds, "survey" in kinds, answered)


def build_journey(
    customer_key: str,
    steps: Sequence[Step],
    rules: JourneyRules,
    *,
    as_of_ms: int,
    purchased_before: bool,
) -> Journey:
    """The journey made of one journey's steps (sorted inside). as_of_ms
    decides only `ended` (as_of_ms - last step > inactivity gap) and the pain
    points that need a window to have elapsed."""
    run = ordered(steps)
    if not run:
        raise ValueError("a journey needs at least one step")
    return _build(customer_key, run, rules, as_of_ms=as_of_ms, purchased_before=purchased_before)


def _build(
    customer_key: str,
    run: Sequence[Step],
    rules: JourneyRules,
    *,
    as_of_ms: int,
    purchased_before: bool,
) -> Journey:
    """`build_journey` of steps already `ordered`. Each part is computed only
    when the journey has the event types it looks at (most have few)."""
    first, last = run[0], run[-1]
    types = {step.event_type for step in run}
    purchases = [s for s in run if s.event_type in PURCHASE_TYPES] if types & PURCHASE_TYPES else []
    bought = purchases[0] if purchases else None
    contacts = contact_steps(run) if any(map(_is_support, types)) else []
    surveys = _surveys(run) if "survey_response" in types else ()
    channels = tuple(dict.fromkeys([step.channel for step in run]))
    reached = _stages(run, purchased_before)
    pains = (
        pain_points(
            run,
            contacts,
            surveys,
            rules,
            as_of_ms=as_of_ms,
            purchased=purchased_before or bought is not None,
            types=types,
        )
        if contacts or surveys or not types.isdisjoint(PAIN_TYPES)
        else ()
    )
    return Journey(  # positional: the cheapest way to build one
        journey_id(customer_key, first),
        customer_key,
        first.occurred_at_ms,
        last.occurred_at_ms,
        as_of_ms - last.occurred_at_ms > rules.inactivity_gap_ms,
        len(run),
        tuple((stage, step.occurred_at_ms) for stage, step in reached.items()),
        tuple(step.channel for step in reached.values()),
        channels,
        _switches(run) if len(channels) > 1 else 0,
        first.channel,
        last.channel,
        bought is not None,
        bought.occurred_at_ms if bought else None,
        bought.occurred_at_ms - first.occurred_at_ms if bought else None,
        len(purchases),
        _revenue(purchases) if purchases else (),
        bought.channel if bought else None,
        tuple(_support_contact(c) for c in contacts) if contacts else (),
        surveys,
        _follow_up(run) if bought else NO_FOLLOW_UP,
        pains,
    )


def _is_support(event_type: str) -> bool:
    return event_type.startswith("support_contact_")


def pain_counts(journey: Journey) -> dict[str, int]:
    """Pain points per kind; every kind is a key (0 when none)."""
    counts = Counter(p.kind.value for p in journey.pain_points)
    return {kind.value: counts[kind.value] for kind in PainKind}


def person_journeys(
    customer_key: str, steps: Sequence[Step], rules: JourneyRules, *, as_of_ms: int
) -> list[Journey]:
    """All journeys of one person's steps, oldest first: split on the
    inactivity gap, each built knowing whether an earlier one purchased."""
    return journeys_of_ordered(customer_key, ordered(steps), rules, as_of_ms=as_of_ms)


def journeys_of_ordered(
    customer_key: str,
    steps: Sequence[Step],
    rules: JourneyRules,
    *,
    as_of_ms: int,
    purchased: bool = False,
) -> list[Journey]:
    """`person_journeys` of steps already `ordered` (as the journey stage
    keeps them); `purchased`: whether a journey before these converted."""
    journeys: list[Journey] = []
    for run in _split(steps, rules.inactivity_gap_ms):
        journey = _build(customer_key, run, rules, as_of_ms=as_of_ms, purchased_before=purchased)
        journeys.append(journey)
        purchased = purchased or journey.converted
    return journeys
