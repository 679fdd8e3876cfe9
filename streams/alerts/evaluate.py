"""One rule over one window of counts: firing, clear, or too little data to
say. Pure."""

from __future__ import annotations

from typing import Literal, NamedTuple

from streams.alerts import stats
from streams.alerts.rules import Drop, Rule, Silence, Threshold, Volume, minutes
from streams.alerts.stats import Estimate

State = Literal["firing", "clear", "unknown"]


class Counts(NamedTuple):
    """What a window holds for one slice (sums over metrics_minute, and
    support contacts from the journeys)."""

    events: int = 0
    responses: int = 0
    promoters: int = 0
    detractors: int = 0
    satisfied: int = 0
    ces_sum: int = 0
    ces_sum_squares: int = 0
    ces_easy: int = 0
    contacts: int = 0
    first_answer_p90_minutes: float | None = None
    resolution_p90_minutes: float | None = None


class Verdict(NamedTuple):
    state: State
    value: float | None
    baseline: float | None
    n: int
    reason: str
    baseline_n: int | None = None
    """Answers (or events) behind the baseline, when the rule has one."""
    bound: float | None = None
    """The end of the 95% interval that a threshold compared with its line."""

    @property
    def change(self) -> float | None:
        """Now minus the baseline: negative when the metric fell."""
        if self.value is None or self.baseline is None:
            return None
        return self.value - self.baseline


def estimate(metric: str, counts: Counts) -> Estimate | None:
    """The metric from counts, with its standard error; None without data."""
    if metric in ("first_answer_p90_minutes", "resolution_p90_minutes"):
        value = getattr(counts, metric)
        return None if value is None else Estimate(value, 0.0, counts.contacts)
    n = counts.responses
    if n == 0:
        return None
    if metric == "nps":
        return stats.nps(counts.promoters, counts.detractors, n)
    if metric == "csat":
        return stats.share(counts.satisfied, n)
    if metric == "ces_easy":
        return stats.share(counts.ces_easy, n)
    return stats.mean(counts.ces_sum, counts.ces_sum_squares, n)


def _interval(metric: str, counts: Counts, e: Estimate) -> tuple[float, float]:
    """95% interval: Wilson for shares, normal for NPS and CES, none for the
    response-time percentiles (read as they are)."""
    if metric == "csat":
        return stats.wilson(counts.satisfied, counts.responses)
    if metric == "ces_easy":
        return stats.wilson(counts.ces_easy, counts.responses)
    half = stats.Z_95 * e.standard_error
    return e.value - half, e.value + half


def evaluate(rule: Rule, current: Counts, baseline: Counts | None = None) -> Verdict:
    condition = rule.condition
    if isinstance(condition, Volume | Silence):
        return _volume(rule, condition, current, baseline or Counts())
    now = estimate(rule.metric, current)
    if now is None or now.n < rule.min_responses:
        n = 0 if now is None else now.n
        return Verdict(
            "unknown",
            None if now is None else now.value,
            None,
            n,
            f"{n} answers, fewer than {rule.min_responses}",
        )
    if isinstance(condition, Threshold):
        return _threshold(rule, condition, current, now)
    assert isinstance(condition, Drop)
    before = estimate(rule.metric, baseline or Counts())
    if before is None or before.n < rule.min_responses:
        return Verdict("unknown", now.value, None, now.n, "too few answers in the baseline")
    change = now.value - before.value
    firing = -change >= condition.points and stats.significantly_below(now, before)
    reason = (
        f"{rule.metric} {now.value:.1f} vs {before.value:.1f} over {condition.baseline} "
        f"({change:+.1f} points; n={now.n} vs {before.n})"
    )
    state: State = "firing" if firing else "clear"
    return Verdict(state, now.value, before.value, now.n, reason, before.n)


def _threshold(rule: Rule, condition: Threshold, counts: Counts, now: Estimate) -> Verdict:
    low, high = _interval(rule.metric, counts, now)
    if condition.below is not None:
        firing, bound = high < condition.below, high
        reason = f"{rule.metric} {now.value:.1f} below {condition.below:g} (95% up to {high:.1f}; n={now.n})"
    else:
        assert condition.above is not None
        firing, bound = low > condition.above, low
        reason = f"{rule.metric} {now.value:.1f} above {condition.above:g} (95% from {low:.1f}; n={now.n})"
    state: State = "firing" if firing else "clear"
    return Verdict(state, now.value, None, now.n, reason, bound=bound)


def _volume(rule: Rule, condition: Volume | Silence, current: Counts, baseline: Counts) -> Verdict:
    expected = baseline.events * rule.window_minutes / minutes(condition.baseline)
    observed = current.events
    if isinstance(condition, Silence):
        if expected < condition.min_expected:
            return Verdict(
                "unknown",
                observed,
                expected,
                observed,
                f"{expected:.1f} events due, too few to tell",
                baseline.events,
            )
        state: State = "firing" if observed == 0 else "clear"
        return Verdict(
            state,
            observed,
            expected,
            observed,
            f"data stopped: 0 events, {expected:.0f} due"
            if observed == 0
            else f"{observed} events, {expected:.0f} due",
            baseline.events,
        )
    firing = observed < condition.below_share * expected and stats.poisson_low(expected, observed)
    return Verdict(
        "firing" if firing else "clear",
        observed,
        expected,
        observed,
        f"{observed} events, {expected:.0f} due",
        baseline.events,
    )
