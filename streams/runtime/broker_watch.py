"""`BrokerWatch`: asks the broker for its metadata every few seconds, so a
broker that is gone (down, paused, unreachable) shows in `/health` and the
log even while nothing is produced. The worker's consumers and producers
wait it out by themselves; this only says so."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer

from streams.runtime.retry import WAITING, describe

log = logging.getLogger(__name__)

WHAT = "kafka: reach the broker"


class BrokerWatch:
    def __init__(
        self, producer: AIOKafkaProducer, *, every_s: float = 2.0, timeout_s: float = 5.0
    ) -> None:
        self.producer = producer
        self.every_s = every_s
        self.timeout_s = timeout_s
        self._lost: int | None = None
        """The wait in `WAITING` while the broker does not answer."""

    async def run(self) -> None:
        """Until cancelled."""
        try:
            while True:
                await self.check()
                await asyncio.sleep(self.every_s)
        finally:
            if self._lost is not None:
                WAITING.end(self._lost)

    async def check(self) -> None:
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), self.timeout_s)
        except Exception as exc:  # any way of not answering
            error = describe(exc)
            if self._lost is None:
                self._lost = WAITING.start(WHAT, error)
                log.warning("kafka: the broker does not answer (%s); waiting for it", error)
            else:
                WAITING.failed_again(self._lost, error)
            return
        if self._lost is not None:
            WAITING.end(self._lost)
            self._lost = None
            log.info("kafka: the broker answers again")
