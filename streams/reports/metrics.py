"""`cx metrics`: the current scores by channel and store, with their sample
sizes, and the funnel, read from the BI views."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from streams.clickhouse.client import Store
from streams.reports.tables import table

SURVEYS = ("nps", "csat", "ces")


def score(
    survey: str, responses: int, promoters: int, detractors: int, satisfied: int, ces_sum: int
) -> float:
    """NPS (% promoters - % detractors), CSAT (% satisfied) or CES (mean),
    from counts, as docs/domain.md defines them."""
    if survey == "nps":
        return round(100 * (promoters - detractors) / responses, 2)
    if survey == "csat":
        return round(100 * satisfied / responses, 2)
    return round(ces_sum / responses, 3)


def _cell(counts: list[int] | None, survey: str) -> str:
    if not counts or not counts[0]:
        return "-"
    return f"{score(survey, *counts):g} (n={counts[0]:,})"


def score_rows(rows: list[tuple[Any, ...]]) -> list[list[str]]:
    """One row per channel and store, and per channel over all its stores,
    each survey's score with its sample size."""
    counts: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)
    for channel, store, survey, *numbers, _ in rows:
        for key in ((channel, store or "(no store)"), (channel, "all stores")):
            acc = counts[key].setdefault(survey, [0, 0, 0, 0, 0])
            for i, n in enumerate(numbers):
                acc[i] += int(n)
    return [
        [channel, store, *(_cell(counts[(channel, store)].get(s), s) for s in SURVEYS)]
        for channel, store in sorted(counts, key=lambda k: (k[0], k[1] != "all stores", k[1]))
    ]


def render_metrics(store: Store, window: str = "7d", days: int = 7) -> str:
    rows = store.query("metrics_scores", window=window)
    if not rows:
        return f"no survey answers in the last {window}"
    end = rows[0][-1]
    funnel = store.query("metrics_funnel", days=days)
    parts = [
        f"Scores over the {window} ending {end:%Y-%m-%d %H:%M} UTC (now), n = answers",
        table(("channel", "store", "NPS", "CSAT %", "CES"), score_rows(rows)),
        "",
        f"Funnel of the journeys begun in the last {days} days, by the channel they began on",
        table(
            ("began on", "journeys", "awareness", "consideration", "purchase", "post-purchase",
             "loyalty", "converted", "on another channel", "conversion %"),
            [[*row, f"{100 * row[7] / row[1]:.1f}" if row[1] else "-"] for row in funnel],
        ),
        "",
        "Churn risk of people active in the last 90 days, by the channel last seen on",
        table(("channel", "people", "high", "medium", "low"), store.query("metrics_churn")),
    ]  # fmt: skip
    return "\n".join(parts)
