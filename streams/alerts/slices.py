"""Counts per slice for a rule, from the rows the alert queries return
(pure): filter to the rule's slice, group by its `by` fields."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from streams.alerts.evaluate import Counts
from streams.alerts.rules import TIME_METRICS, Rule

SLICE_FIELDS = ("channel", "store_id", "stage", "dimension")


def slice_key(rule: Rule, values: dict[str, str]) -> str:
    """The slice an alert names: the rule's fixed slice and the `by` values."""
    fixed = [f"{k}={v}" for k, v in rule.slice.model_dump(mode="json").items() if v is not None]
    return ", ".join(fixed + [f"{field}={values[field]}" for field in rule.by]) or "all"


def _matches(rule: Rule, values: dict[str, str]) -> bool:
    wanted = rule.slice.model_dump(mode="json")
    return all(v is None or values.get(k) == v for k, v in wanted.items())


_SURVEY = {"nps": "nps", "csat": "csat", "ces": "ces", "ces_easy": "ces"}


def metric_counts(rule: Rule, rows: Iterable[Sequence[Any]]) -> dict[str, Counts]:
    """Rows of `alert_counts`: (channel, store_id, stage, dimension, survey,
    events, responses, promoters, detractors, satisfied, ces_sum,
    ces_sum_squares, ces_easy). A score rule counts its own survey's
    answers only."""
    survey = _SURVEY.get(rule.metric)
    groups: dict[str, list[int]] = {}
    for row in rows:
        values = dict(zip(SLICE_FIELDS, row[:4], strict=True))
        if not _matches(rule, values) or (survey is not None and row[4] != survey):
            continue
        sums = groups.setdefault(slice_key(rule, values), [0] * 8)
        for i, n in enumerate(row[5:13]):
            sums[i] += int(n)
    return {key: Counts(*sums) for key, sums in groups.items()}


def time_counts(rule: Rule, rows: Iterable[Sequence[Any]]) -> dict[str, Counts]:
    """Rows of `alert_response_times`: (channel, contacts, first answer p90
    ms, resolution p90 ms); a rule on response times splits by channel only."""
    assert rule.metric in TIME_METRICS
    result: dict[str, Counts] = {}
    for channel, contacts, first_p90, resolution_p90 in rows:
        values = {"channel": channel}
        if rule.slice.channel is not None and rule.slice.channel.value != channel:
            continue
        if rule.by or rule.slice.channel is not None:
            result[slice_key(rule, values)] = Counts(
                contacts=int(contacts),
                first_answer_p90_minutes=None if first_p90 is None else first_p90 / 60_000,
                resolution_p90_minutes=None if resolution_p90 is None else resolution_p90 / 60_000,
            )
    if not rule.by and rule.slice.channel is None:
        raise ValueError("response-time rules need a channel, fixed or in 'by'")
    return result
