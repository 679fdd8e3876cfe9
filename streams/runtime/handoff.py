"""`Handoff`: work handed over without waiting for it, done in order in the
background. A failure in it is a bug and crashes the worker."""

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
    ) -> None:
        self.name = name
        self.work = work
        self.crash = crash
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
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                items, self.queued = self.queued, []
                if items:
                    await self.work(items)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.critical("%s crashed", self.name, exc_info=exc)
            await self.crash(exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
