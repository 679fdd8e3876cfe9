"""One plain-language sentence per notice, the same in every format: what
moved where, from what to what (change = now - baseline, so a fall is
negative), on how many answers, and the top pain point. A person reads it
in a chat or a pager; the numbers for machines stay in the payload. Pure."""

from __future__ import annotations

from typing import Any

from streams.alerts.episodes import AlertEvent
from streams.alerts.rules import TIME_METRICS, Drop, Rule, Silence, Threshold, Volume

METRIC_NAMES = {
    "nps": "NPS",
    "csat": "CSAT",
    "ces": "CES",
    "ces_easy": "easy CES share",
    "first_answer_p90_minutes": "first answer time (p90)",
    "resolution_p90_minutes": "resolution time (p90)",
    "events": "events",
}
_UNITS = {
    "csat": "%",
    "ces_easy": "%",
    "first_answer_p90_minutes": " min",
    "resolution_p90_minutes": " min",
}
_SLICE_WORDS = {
    "channel": "channel",
    "store_id": "store",
    "stage": "stage",
    "dimension": "dimension",
}


def where(slice_key: str) -> str:
    """Where, as words: ' at store tehran-04', ' at channel app (dimension
    functional)', or ' overall' for the whole traffic."""
    parts = [
        f"{_SLICE_WORDS.get(k, k)} {v or '(none)'}"
        for k, v in (part.split("=", 1) for part in slice_key.split(", ") if "=" in part)
    ]
    if not parts:
        return " overall"
    rest = f" ({', '.join(parts[1:])})" if parts[1:] else ""
    return f" at {parts[0]}{rest}"


def duration(ms: int) -> str:
    """45s, 12m, 3h 5m, 2d 4h."""
    seconds = max(ms, 0) // 1000
    if seconds < 60:
        return f"{seconds}s"
    minutes_, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours == 0:
        return f"{minutes_}m"
    if days == 0:
        return f"{hours}h {minutes_ % 60}m" if minutes_ % 60 else f"{hours}h"
    return f"{days}d {hours % 24}h" if hours % 24 else f"{days}d"


def _number(metric: str, value: float | None) -> str:
    if value is None:
        return "unknown"
    if metric == "events":
        return f"{value:.0f}"
    return f"{value:.1f}{_UNITS.get(metric, '')}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def summarize(event: AlertEvent, rule: Rule, context: list[dict[str, Any]]) -> str:
    """The sentence of a firing or resolved notice, for example "NPS at store
    tehran-04 fell to -67.5 in the last 24h, from 56.0 over the 7d before
    (-123.5 points); n=40, baseline n=800; top pain: slow_support (12)". A
    resolved notice says how things stand now and ends "resolved after 3h
    12m"."""
    firing = event.status == "firing"
    text = _what(event, rule, firing)
    if firing and context:
        text += f"; top pain: {context[0]['pain_point']} ({context[0]['count']})"
    if not firing:
        text += f"; resolved after {duration(event.at_ms - event.episode_started_at_ms)}"
    return _sentence(text)


def _what(event: AlertEvent, rule: Rule, firing: bool) -> str:
    metric, at, window = rule.metric, where(event.slice), rule.window
    name = METRIC_NAMES[metric]
    now, before = _number(metric, event.value), _number(metric, event.baseline)
    condition = rule.condition
    if isinstance(condition, Drop):
        change = (
            "" if event.value is None or event.baseline is None
            else f" ({event.value - event.baseline:+.1f} points)"
        )  # fmt: skip
        verb = f"fell to {now}" if firing else f"is {now}"
        return (
            f"{name}{at} {verb} in the last {window}, "
            f"{'from' if firing else 'against'} {before} over the {condition.baseline} before"
            f"{change}; n={event.n}, baseline n={event.baseline_n}"
        )
    if isinstance(condition, Threshold):
        below = condition.below is not None
        line = f"{condition.below if below else condition.above:g}{_UNITS.get(metric, '')}"
        side = "below" if below else "above"
        sample = f"n={event.n} contacts" if metric in TIME_METRICS else f"n={event.n}"
        if not firing:
            return f"{name}{at} is {now} in the last {window}, no longer {side} {line}; {sample}"
        interval = ""
        if metric not in TIME_METRICS and event.bound is not None:
            interval = (
                f" (95% interval {'up to' if below else 'from'} {_number(metric, event.bound)})"
            )
        return f"{name}{at} is {now} in the last {window}, {side} {line}{interval}; {sample}"
    expected = f"about {before} expected from the {condition.baseline} before"
    if isinstance(condition, Silence):
        if firing:
            return f"data stopped{at}: no events in the last {window}, {expected}"
        return f"data flows again{at}: {now} events in the last {window}, {expected}"
    assert isinstance(condition, Volume)
    if firing:
        return f"events{at} fell to {now} in the last {window}, {expected}"
    return f"events{at} are back to {now} in the last {window}, {expected}"
