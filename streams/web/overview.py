"""The overview page's JSON (docs/ui.md): NPS, CSAT and CES over everything
asked for, by channel, by store and over time, each with its sample size and
95% interval.

Pure: rows of the score views' counts in (the `ui_overview_daily` and
`ui_overview_hourly` queries), plain JSON values out. Scores are rolled up
from counts, never averaged, so any slice equals what the view would give for
it. The intervals are the alerts' and the B2B views' (`streams.alerts.stats`,
migration 014): NPS and CES mean plus or minus 1.96 standard errors, CSAT the
Wilson score interval, each clipped to its scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.alerts import stats
from streams.web.params import iso

SURVEYS = ("nps", "csat", "ces")
SCALES: dict[str, tuple[float, float]] = {
    "nps": (-100.0, 100.0),
    "csat": (0.0, 100.0),
    "ces": (1.0, 7.0),
}
"""Each survey's scale: its interval is clipped to it."""
DECIMALS = {"nps": 2, "csat": 2, "ces": 3}
"""Rounded as the views round their `score`."""


@dataclass(frozen=True, slots=True)
class Counts:
    """The additive counts behind one survey's score in a slice.

    `ces_sum_squares` is None when the rows lack it: the score views do not
    carry it yet (docs/ui.md, views to add), and then CES has no interval.
    """

    responses: int = 0
    promoters: int = 0
    detractors: int = 0
    satisfied: int = 0
    ces_sum: int = 0
    ces_sum_squares: int | None = 0

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Counts:
        """The counts of one view row."""
        squares = row.get("ces_sum_squares")
        return cls(
            responses=int(row["responses"]),
            promoters=int(row["promoters"]),
            detractors=int(row["detractors"]),
            satisfied=int(row["satisfied"]),
            ces_sum=int(row["ces_sum"]),
            ces_sum_squares=None if squares is None else int(squares),
        )

    def __add__(self, other: Counts) -> Counts:
        squares = (
            None
            if self.ces_sum_squares is None or other.ces_sum_squares is None
            else self.ces_sum_squares + other.ces_sum_squares
        )
        return Counts(
            self.responses + other.responses,
            self.promoters + other.promoters,
            self.detractors + other.detractors,
            self.satisfied + other.satisfied,
            self.ces_sum + other.ces_sum,
            squares,
        )


def score(survey: str, counts: Counts) -> dict[str, Any]:
    """`n`, `score`, `ci_low` and `ci_high` of one survey from its counts;
    None for what cannot be told (no answers; CES without its squares)."""
    if survey not in SCALES:
        raise ValueError(f"unknown survey {survey!r}: one of {', '.join(SURVEYS)}")
    n = counts.responses
    if n == 0:
        return {"n": 0, "score": None, "ci_low": None, "ci_high": None}
    low_end, high_end = SCALES[survey]
    interval: tuple[float, float] | None
    if survey == "nps":
        estimate = stats.nps(counts.promoters, counts.detractors, n)
        value = estimate.value
        half = stats.Z_95 * estimate.standard_error
        interval = (value - half, value + half)
    elif survey == "csat":
        value = 100 * counts.satisfied / n
        interval = stats.wilson(counts.satisfied, n)
    else:
        value = counts.ces_sum / n
        interval = None
        if counts.ces_sum_squares is not None:
            estimate = stats.mean(counts.ces_sum, counts.ces_sum_squares, n)
            half = stats.Z_95 * estimate.standard_error
            interval = (value - half, value + half)
    places = DECIMALS[survey]
    low, high = (None, None) if interval is None else interval
    return {
        "n": n,
        "score": round(value, places),
        "ci_low": None if low is None else round(max(low_end, low), places),
        "ci_high": None if high is None else round(min(high_end, high), places),
    }


def _rolled(rows: Iterable[Mapping[str, Any]], key: tuple[str, ...]) -> dict[Any, Counts]:
    """Counts summed per `survey` and the values of the `key` columns."""
    totals: dict[Any, Counts] = {}
    for row in rows:
        slot = (row["survey"], *(row[k] for k in key))
        totals[slot] = totals.get(slot, Counts()) + Counts.of(row)
    return totals


def _worst_first(item: dict[str, Any]) -> tuple[bool, float]:
    """Lowest score first (every survey reads higher as better), no score last."""
    value = item["score"]
    return (value is None, 0.0 if value is None else float(value))


def overview(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per survey: the total, by channel (by name), by store (worst first;
    rows without a store are in the total and by channel only) and over time
    (per bucket `at` and channel, in time order).

    Each row is one bucket (`at`), `channel`, `store_id` and `survey` with
    the view's counts (`responses`, `promoters`, `detractors`, `satisfied`,
    `ces_sum`, optionally `ces_sum_squares`). A survey without rows is there
    with n = 0, so a page always finds its three tiles."""
    kept = [row for row in rows if row["survey"] in SURVEYS]
    totals = _rolled(kept, ())
    channels = _rolled(kept, ("channel",))
    stores = _rolled([row for row in kept if row["store_id"]], ("store_id",))
    times = _rolled(kept, ("at", "channel"))
    surveys: dict[str, Any] = {}
    for survey in SURVEYS:
        by_store = [
            {"store_id": s, **score(survey, c)} for (v, s), c in stores.items() if v == survey
        ]
        surveys[survey] = {
            "total": score(survey, totals.get((survey,), Counts())),
            "by_channel": sorted(
                (
                    {"channel": ch, **score(survey, c)}
                    for (v, ch), c in channels.items()
                    if v == survey
                ),
                key=lambda item: str(item["channel"]),
            ),
            "by_store": sorted(by_store, key=lambda item: (*_worst_first(item), item["store_id"])),
            "over_time": [
                {"at": iso(at), "channel": ch, **score(survey, c)}
                for (v, at, ch), c in sorted(
                    times.items(), key=lambda kv: (kv[0][1], str(kv[0][2]))
                )
                if v == survey
            ],
        }
    return {"surveys": surveys}
