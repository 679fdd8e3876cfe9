"""`Handoff`: work handed over without waiting for it, done in order in the
background, at most once per `interval_s` (what is handed over meanwhile is
done together, next). A failure in it is a bug and crashes the worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Handoff(Generic[T]):
    def __init__(
        self,
        name: str,
        work: Callable[[list[T]], Awaitable[None]],
        crash: Callable[[BaseException], Awaitable[None]],
        *,
        interval_s: float = 0.0,
    ) -> None:
        self.name = name
        self.work = work
        self.crash = crash
        self.interval_s = interval_s
        """Least time from the start of one work to the start of the next:
        the first items after a quiet spell go at once."""
        self.queued: list[T] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def put(self, items: Iterable[T]) -> None:
        """Queue items; `work` gets them, in order, soon."""
        self.queued.extend(items)
        self._ready.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                items, self.queued = self.queued, []
                if items:
                    started = loop.time()
                    await self.work(items)
                    await asyncio.sleep(started + self.interval_s - loop.time())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.critical("%s crashed", self.name, exc_info=exc)
            await self.crash(exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
