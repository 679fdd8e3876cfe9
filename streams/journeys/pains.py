"""Pain points of one journey: where it went wrong (pure).

Every function takes the journey's steps already sorted by
(occurred_at_ms, event_id). `as_of_ms` is the event-time watermark: a pain
point that needs a window to have elapsed is reported only after it has.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from schemas.events import PURCHASE_TYPES
from streams.journeys.records import PainKind, PainPoint, SurveyAnswer
from streams.journeys.rules import JourneyRules
from streams.journeys.steps import Step


@dataclass(slots=True)
class ContactSteps:
    """The support steps of one contact_id; the first of each kind counts."""

    contact_id: str
    first_seen: Step
    opened: Step | None = None
    answered: Step | None = None
    resolved: Step | None = None

    def since_opened(self, later: Step | None) -> int | None:
        """Milliseconds from opened to `later` (never negative), if both exist."""
        if self.opened is None or later is None:
            return None
        return max(0, later.occurred_at_ms - self.opened.occurred_at_ms)


def contact_steps(steps: Sequence[Step]) -> list[ContactSteps]:
    """Support steps grouped by contact_id, in order of first appearance."""
    contacts: dict[str, ContactSteps] = {}
    for step in steps:
        if not step.event_type.startswith("support_contact_") or step.contact_id is None:
            continue
        contact = contacts.setdefault(step.contact_id, ContactSteps(step.contact_id, step))
        if step.event_type == "support_contact_opened" and contact.opened is None:
            contact.opened = step
        elif step.event_type == "support_contact_answered" and contact.answered is None:
            contact.answered = step
        elif step.event_type == "support_contact_resolved" and contact.resolved is None:
            contact.resolved = step
    return list(contacts.values())


def _pain(kind: PainKind, step: Step, detail: str | None) -> PainPoint:
    return PainPoint(kind, step.occurred_at_ms, step.event_id, detail or "")


def abandoned_checkouts(
    steps: Sequence[Step], rules: JourneyRules, as_of_ms: int
) -> list[PainPoint]:
    """Each checkout_started with no purchase in [checkout, checkout + window],
    once as_of_ms >= checkout + window or a later step is past the window;
    detail is the channel."""
    paid = [s.occurred_at_ms for s in steps if s.event_type in PURCHASE_TYPES]
    last = steps[-1].occurred_at_ms if steps else 0
    pains = []
    for step in steps:
        if step.event_type != "checkout_started":
            continue
        end = step.occurred_at_ms + rules.checkout_window_ms
        if as_of_ms < end and last <= end:
            continue  # the window has not elapsed yet
        first_paid = bisect_left(paid, step.occurred_at_ms)
        if first_paid == len(paid) or paid[first_paid] > end:
            pains.append(_pain(PainKind.ABANDONED_CHECKOUT, step, step.channel))
    return pains


def support_pains(
    contacts: Sequence[ContactSteps], rules: JourneyRules, as_of_ms: int
) -> list[PainPoint]:
    """At the opened step, detail the contact_id: slow_support when the first
    answer came more than slow_answer_ms after opening; unanswered_support
    when neither answered nor resolved and as_of_ms > opened + slow_answer_ms.
    A contact not opened in this journey has neither."""
    pains = []
    for contact in contacts:
        opened = contact.opened
        if opened is None:
            continue
        waited = contact.since_opened(contact.answered)
        if waited is not None and waited > rules.slow_answer_ms:
            pains.append(_pain(PainKind.SLOW_SUPPORT, opened, contact.contact_id))
        still_open = contact.answered is None and contact.resolved is None
        if still_open and as_of_ms - opened.occurred_at_ms > rules.slow_answer_ms:
            pains.append(_pain(PainKind.UNANSWERED_SUPPORT, opened, contact.contact_id))
    return pains


def low_scores(answers: Sequence[SurveyAnswer], rules: JourneyRules) -> list[PainPoint]:
    """Each survey response with a low score (NPS 0-6, CSAT 1-2, CES 1-3);
    detail "survey:score", plus ":rated_event_id" when one is known."""
    return [
        PainPoint(
            PainKind.LOW_SCORE,
            answer.at_ms,
            answer.event_id,
            ":".join(filter(None, (answer.survey, str(answer.score), answer.rated_event_id))),
        )
        for answer in answers
        if rules.is_low_score(answer.survey, answer.score)
    ]


def returns_after_purchase(steps: Sequence[Step], purchased: bool) -> list[PainPoint]:
    """Each `return`, when the person purchased (in an earlier journey or in
    this one); detail is the order_id."""
    if not purchased:
        return []
    kind = PainKind.RETURN_AFTER_PURCHASE
    return [_pain(kind, s, s.order_id) for s in steps if s.event_type == "return"]


def crashes_in_session(steps: Sequence[Step], rules: JourneyRules) -> list[PainPoint]:
    """Each app_crash that follows another (non-crash) app-channel step within
    crash_window_ms before it, or shares a session_id with one; detail is the
    session_id."""
    app = [s for s in steps if s.channel == "app" and s.event_type != "app_crash"]
    times = [s.occurred_at_ms for s in app]
    sessions = {s.session_id for s in app if s.session_id is not None}
    pains = []
    for step in steps:
        if step.event_type != "app_crash":
            continue
        i = bisect_left(times, step.occurred_at_ms - rules.crash_window_ms)
        recent = i < len(times) and times[i] <= step.occurred_at_ms
        if recent or (step.session_id is not None and step.session_id in sessions):
            pains.append(_pain(PainKind.APP_CRASH_IN_SESSION, step, step.session_id))
    return pains


def opt_outs_after_message(steps: Sequence[Step], rules: JourneyRules) -> list[PainPoint]:
    """Each opt_out at most opt_out_window_ms after an sms_sent; detail is the
    message_kind of the latest sms_sent at or before it."""
    sent = [s for s in steps if s.event_type == "sms_sent"]
    times = [s.occurred_at_ms for s in sent]
    pains = []
    for step in steps:
        if step.event_type != "opt_out":
            continue
        i = bisect_right(times, step.occurred_at_ms) - 1
        if i >= 0 and step.occurred_at_ms - times[i] <= rules.opt_out_window_ms:
            pains.append(_pain(PainKind.OPT_OUT_AFTER_MESSAGE, step, sent[i].message_kind))
    return pains


PAIN_TYPES = frozenset({"checkout_started", "return", "app_crash", "opt_out"})
"""Event types a pain-point rule starts from (besides support contacts and
survey answers)."""


def pain_points(
    steps: Sequence[Step],
    contacts: Sequence[ContactSteps],
    answers: Sequence[SurveyAnswer],
    rules: JourneyRules,
    *,
    as_of_ms: int,
    purchased: bool,
    types: AbstractSet[str] | None = None,
) -> tuple[PainPoint, ...]:
    """All pain points of a journey, sorted by (at_ms, kind, event_id).
    `types`, the event types of the steps, lets a rule be skipped when the
    event type it starts from is absent."""
    if types is None:
        types = {step.event_type for step in steps}
    pains: list[PainPoint] = []
    if "checkout_started" in types:
        pains += abandoned_checkouts(steps, rules, as_of_ms)
    if contacts:
        pains += support_pains(contacts, rules, as_of_ms)
    if answers:
        pains += low_scores(answers, rules)
    if "return" in types:
        pains += returns_after_purchase(steps, purchased)
    if "app_crash" in types:
        pains += crashes_in_session(steps, rules)
    if "opt_out" in types:
        pains += opt_outs_after_message(steps, rules)
    return tuple(sorted(pains, key=lambda p: (p.at_ms, p.kind.value, p.event_id)))
