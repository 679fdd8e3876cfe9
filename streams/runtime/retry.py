"""Infrastructure errors are retried with capped exponential backoff; anything
else is a bug and propagates.

What is being waited for right now is kept in `WAITING` (one per process), so
that `/health` and `/stats` can say it: a ClickHouse that is unreachable or
out of disk, a broker that does not answer.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka.errors import KafkaError

T = TypeVar("T")
log = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    """An error in a few words, for logs and health: its type and, for the
    errors of the network and the file system, their text. Other messages
    may quote data (a row, a query's parameters), so they are left out."""
    if isinstance(exc, OSError | asyncio.TimeoutError | KafkaError):
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return type(exc).__name__


@dataclass
class Wait:
    """One operation being retried."""

    what: str
    since: float
    """time.monotonic() of its first failure."""
    attempts: int
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "for_s": round(time.monotonic() - self.since, 1),
            "attempts": self.attempts,
            "error": self.error,
        }


class Waiting:
    """The operations of this process being retried now."""

    def __init__(self) -> None:
        self._open: dict[int, Wait] = {}
        self._ids = itertools.count()

    def start(self, what: str, error: str) -> int:
        handle = next(self._ids)
        self._open[handle] = Wait(what, time.monotonic(), 1, error)
        return handle

    def failed_again(self, handle: int, error: str) -> None:
        wait = self._open[handle]
        wait.attempts += 1
        wait.error = error

    def end(self, handle: int) -> None:
        self._open.pop(handle, None)

    def longer_than(self, seconds: float) -> list[Wait]:
        """The waits that have lasted `seconds` or more, longest first."""
        now = time.monotonic()
        return sorted(
            (w for w in self._open.values() if now - w.since >= seconds), key=lambda w: w.since
        )


WAITING = Waiting()

RETRIES: Counter[str] = Counter()
"""Retried failures of this process, by system (`cx_retries_total`)."""
_SYSTEMS = ("clickhouse", "kafka", "webhook")


def system_of(what: str) -> str:
    """The system an operation talks to, from its `what` ("clickhouse: ...")."""
    system = what.split(":", 1)[0]
    return system if system in _SYSTEMS else "other"


async def with_backoff(
    operation: Callable[[], Awaitable[T]],
    *,
    is_transient: Callable[[BaseException], bool],
    what: str,
    first_delay: float = 0.2,
    max_delay: float = 30.0,
    describe_error: Callable[[BaseException], str] = describe,
) -> T:
    """Run `operation` until it succeeds, waiting longer after each transient
    failure (jittered, capped at `max_delay`). A non-transient error is raised
    at once. Cancellation (shutdown) interrupts the wait. While it fails, the
    wait is in `WAITING`."""
    delay = first_delay
    attempt = 1
    handle: int | None = None
    try:
        while True:
            try:
                result = await operation()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                error = describe_error(exc)
                RETRIES[system_of(what)] += 1
                if handle is None:
                    handle = WAITING.start(what, error)
                else:
                    WAITING.failed_again(handle, error)
                log.warning(
                    "%s failed (attempt %d), retrying in %.1fs: %s", what, attempt, delay, error
                )
            else:
                if handle is not None:
                    log.info("%s: done at attempt %d", what, attempt)
                return result
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, max_delay)
            attempt += 1
    finally:
        if handle is not None:
            WAITING.end(handle)
