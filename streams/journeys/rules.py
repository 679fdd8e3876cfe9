"""`JourneyRules`: the windows and thresholds that define journeys and their
pain points. All durations are milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, fields

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class JourneyRules:
    inactivity_gap_ms: int = 3 * DAY_MS
    """A journey ends after this long without activity; the next touchpoint
    starts a new journey."""
    checkout_window_ms: int = HOUR_MS
    """checkout_started with no purchase within this window after it is an
    abandoned checkout."""
    slow_answer_ms: int = 2 * HOUR_MS
    """A first answer later than this after the contact opened is slow; no
    answer once this has elapsed is an unanswered contact."""
    crash_window_ms: int = 30 * MINUTE_MS
    """An app_crash is in a session if another app event of the person
    happened within this window before it (or shares its session_id)."""
    opt_out_window_ms: int = 2 * DAY_MS
    """An opt_out within this window after an sms_sent follows that message."""
    nps_low_max: int = 6
    """NPS detractors: 0-6."""
    csat_low_max: int = 2
    """Unsatisfied CSAT: 1-2."""
    ces_low_max: int = 3
    """High-effort CES: 1-3."""

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) < 0:
                raise ValueError(f"{field.name} must not be negative")

    @property
    def final_after_ms(self) -> int:
        """How long after its last step a journey can no longer change but
        through a late step: the gap, or the longest window a pain point
        waits for, whichever is longer."""
        return max(
            self.inactivity_gap_ms,
            self.checkout_window_ms,
            self.slow_answer_ms,
            self.opt_out_window_ms,
        )

    def is_low_score(self, survey: str, score: int) -> bool:
        """A low score: NPS 0-6, CSAT 1-2, CES 1-3 (with the defaults); an
        unknown survey kind is never low."""
        limit = {"nps": self.nps_low_max, "csat": self.csat_low_max, "ces": self.ces_low_max}
        return survey in limit and score <= limit[survey]
