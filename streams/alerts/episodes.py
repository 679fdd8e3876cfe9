"""Alert episodes: an alert fires once when its condition starts to hold,
stays quiet while it holds, and sends one resolved notice when it clears.
Too little data neither fires nor resolves. Pure."""

from __future__ import annotations

from typing import Literal, NamedTuple

from streams.alerts.evaluate import Verdict
from streams.alerts.rules import Rule


class Episode(NamedTuple):
    rule: str
    slice: str
    started_at_ms: int


class AlertEvent(NamedTuple):
    status: Literal["firing", "resolved"]
    rule: str
    severity: str
    metric: str
    slice: str
    at_ms: int
    episode_started_at_ms: int
    value: float | None
    baseline: float | None
    n: int
    reason: str
    baseline_n: int | None = None
    bound: float | None = None


def advance(
    open_episodes: dict[tuple[str, str], Episode],
    rule: Rule,
    slice_key: str,
    verdict: Verdict,
    now_ms: int,
) -> AlertEvent | None:
    """Apply one verdict; returns the event to deliver, if any. Updates
    `open_episodes` in place."""
    key = (rule.name, slice_key)
    episode = open_episodes.get(key)
    if verdict.state == "firing" and episode is None:
        episode = open_episodes[key] = Episode(rule.name, slice_key, now_ms)
        return _event("firing", rule, episode, verdict, now_ms)
    if verdict.state == "clear" and episode is not None:
        del open_episodes[key]
        return _event("resolved", rule, episode, verdict, now_ms)
    return None


def _event(
    status: Literal["firing", "resolved"],
    rule: Rule,
    episode: Episode,
    verdict: Verdict,
    now_ms: int,
) -> AlertEvent:
    return AlertEvent(
        status,
        rule.name,
        rule.severity,
        rule.metric,
        episode.slice,
        now_ms,
        episode.started_at_ms,
        verdict.value,
        verdict.baseline,
        verdict.n,
        verdict.reason,
        verdict.baseline_n,
        verdict.bound,
    )
