"""Infrastructure errors are retried with capped exponential backoff; anything
else is a bug and propagates."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


async def with_backoff(
    operation: Callable[[], Awaitable[T]],
    *,
    is_transient: Callable[[BaseException], bool],
    what: str,
    first_delay: float = 0.2,
    max_delay: float = 30.0,
) -> T:
    """Run `operation` until it succeeds, waiting longer after each transient
    failure (jittered, capped at `max_delay`). A non-transient error is raised
    at once. Cancellation (shutdown) interrupts the wait."""
    delay = first_delay
    attempt = 1
    while True:
        try:
            return await operation()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("%s failed (attempt %d), retrying in %.1fs: %r", what, attempt, delay, exc)
        await asyncio.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, max_delay)
        attempt += 1
