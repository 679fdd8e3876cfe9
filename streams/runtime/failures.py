"""Records a stage fails on: set one aside, crash on many.

A record the contract admits may still make a later step fail: a bug of
ours, or a value ClickHouse refuses. Retrying it forever would stop every
channel behind it (a poison pill), so the stage sets it aside: it goes to the
dead-letter topic with the stage and why, and the others go on. A bug that
fails many records must not quietly empty the stream into the dead-letter
topic, though: past the `FailureBudget`, the stage raises and the worker
stops, loudly (docs/operations.md, "When a stage fails on records").
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence

log = logging.getLogger(__name__)

MAX_CONSECUTIVE = 10
"""More records than this failing in a row is a bug, not bad records."""
MAX_SHARE = 0.01
"""Nor more than this share of the records a stage handled..."""
SHARE_AFTER = 1000
"""...once it has handled this many (before, the share means little)."""


class TooManyFailures(RuntimeError):
    """A stage failed on too many records: most likely a bug or a broken
    schema, which dead-lettering would hide."""


class FailureBudget:
    """Counts a stage's records as they pass or fail, in order, and raises
    `TooManyFailures` past the limits above. Counted from the worker's
    start: a restart that reads the same records again decides the same."""

    def __init__(
        self,
        stage: str,
        *,
        max_consecutive: int = MAX_CONSECUTIVE,
        max_share: float = MAX_SHARE,
        share_after: int = SHARE_AFTER,
    ) -> None:
        self.stage = stage
        self.max_consecutive = max_consecutive
        self.max_share = max_share
        self.share_after = share_after
        self.handled = 0
        self.failed = 0
        self.consecutive = 0

    def count(self, records: int, failures: Sequence[tuple[int, str, BaseException]]) -> None:
        """`records` handled in order, of which `failures` (index, which,
        error; in index order) failed."""
        at = 0
        for index, what, exc in failures:
            self.passed(index - at)
            self.fail(what, exc)
            at = index + 1
        self.passed(records - at)

    def passed(self, records: int = 1) -> None:
        if records:
            self.handled += records
            self.consecutive = 0

    def fail(self, what: str, exc: BaseException, why: str | None = None) -> None:
        """Count one record set aside (`what` says which, without its
        content; `why`, what went wrong, without data: the error's type by
        default), log where the code failed, and raise past the budget."""
        self.handled += 1
        self.failed += 1
        self.consecutive += 1
        why = why or type(exc).__name__
        # The frames say where; the error's message is left out: it may quote data.
        frames = "".join(traceback.format_tb(exc.__traceback__, limit=-8))
        log.error(
            "%s stage failed on %s (%s): set aside to the dead-letter topic\n%s",
            self.stage,
            what,
            why,
            frames,
        )
        if self.consecutive > self.max_consecutive:
            raise TooManyFailures(
                f"the {self.stage} stage failed on {self.consecutive} records in a row, the "
                f"last with {why}: a bug or a broken schema, not bad records; stopping "
                "(nothing was committed past them)"
            ) from None
        if self.handled >= self.share_after and self.failed > self.max_share * self.handled:
            raise TooManyFailures(
                f"the {self.stage} stage failed on {self.failed} of {self.handled} records "
                f"(more than {self.max_share:.0%}), the last with {why}: a bug or a broken "
                "schema, not bad records; stopping (nothing was committed past them)"
            ) from None
