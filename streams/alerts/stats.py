"""Sampling statistics for alerts: a dip computed from a handful of answers
must not page anyone. Pure functions over counts."""

from __future__ import annotations

import math
from typing import NamedTuple

Z_95 = 1.959963984540054
"""Two-sided 95% normal quantile."""


class Estimate(NamedTuple):
    """A metric's value from a sample, with its standard error."""

    value: float
    standard_error: float
    n: int


def nps(promoters: int, detractors: int, n: int) -> Estimate:
    """NPS (-100..100) and its standard error: NPS is 100 times the mean of a
    variable that is +1 for a promoter, 0 for a passive, -1 for a detractor,
    so its variance is p + d - (p - d)^2 per answer."""
    p, d = promoters / n, detractors / n
    variance = p + d - (p - d) ** 2
    return Estimate(100 * (p - d), 100 * math.sqrt(max(variance, 0.0) / n), n)


def share(successes: int, n: int) -> Estimate:
    """A percentage (CSAT, the easy share of CES) with its standard error."""
    p = successes / n
    return Estimate(100 * p, 100 * math.sqrt(p * (1 - p) / n), n)


def mean(total: float, total_of_squares: float, n: int) -> Estimate:
    """A mean (CES) from the sum and the sum of squares."""
    m = total / n
    variance = max(total_of_squares / n - m * m, 0.0)
    return Estimate(m, math.sqrt(variance / n), n)


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion, in percent. Unlike the normal
    interval it stays inside 0..100 and is honest for small n and extreme p."""
    if n == 0:
        return 0.0, 100.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def significantly_below(current: Estimate, baseline: Estimate, z: float = Z_95) -> bool:
    """Whether `current` is below `baseline` by more than chance explains
    (a one-sided test on the difference of two independent estimates)."""
    spread = math.hypot(current.standard_error, baseline.standard_error)
    return baseline.value - current.value > z * spread


def poisson_low(expected: float, observed: int, z: float = Z_95) -> bool:
    """Whether `observed` events are too few to be chance, when `expected`
    were due (normal approximation of the Poisson count, with the
    continuity correction)."""
    if expected <= 0:
        return False
    return (expected - observed - 0.5) > z * math.sqrt(expected)
