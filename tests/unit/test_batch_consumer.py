"""When the batch consumer stretches its flushes: only behind a backlog (the
broker holds more than the batch just read), never at a steady rate, where
what waits for the flush is the delay users see."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from streams.runtime.batch_consumer import FLUSH_DUTY, Batch, BatchConsumer, StatelessHandler

TP = TopicPartition("t", 0)


class Highwater:
    def __init__(self, high: int | None) -> None:
        self.high = high

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.high


def batch(first: int, count: int) -> Batch:
    return {
        TP: [
            ConsumerRecord("t", 0, o, 0, 0, None, b"", None, 0, 0, [])  # type: ignore[arg-type]
            for o in range(first, first + count)
        ]
    }


def consumer(high: int | None, **options: Any) -> BatchConsumer:
    return BatchConsumer(
        "test",
        Highwater(high),  # type: ignore[arg-type]
        ["t"],
        StatelessHandler(),
        max_records=1000,
        max_wait_ms=10,
        **options,
    )


def test_behind_is_more_waiting_on_the_broker_than_the_batch_holds() -> None:
    assert consumer(10_000)._is_behind(batch(0, 100))  # 9,900 more wait
    assert not consumer(150)._is_behind(batch(0, 100))  # 50 came meanwhile
    assert not consumer(100)._is_behind(batch(0, 100))
    assert not consumer(None)._is_behind(batch(0, 100))  # no fetch answered yet
    assert not consumer(10_000)._is_behind({})


def test_a_long_flush_stretches_the_next_one_only_behind_a_backlog() -> None:
    for behind, due_after in ((True, FLUSH_DUTY * 0.1), (False, 0.1)):
        c = consumer(None, flush_interval_s=0.1)
        c._behind, c._flush_took = behind, 1.0  # a flush of 1 s, 10 intervals
        c._flushed_at = time.monotonic() - due_after + 0.02
        assert not c._flush_due(), behind
        c._flushed_at = time.monotonic() - due_after - 0.01
        assert c._flush_due(), behind
        assert c._flush_due(idle=True)  # nothing to read: the interval alone


class Trickle:
    """A consumer a record every 10 ms comes from; it notes each wait asked."""

    def __init__(self) -> None:
        self.offset = 0
        self.waits: list[int] = []

    def highwater(self, tp: TopicPartition) -> int | None:
        return None

    async def getmany(self, *, timeout_ms: int, max_records: int) -> Batch:
        self.waits.append(timeout_ms)
        await asyncio.sleep(min(timeout_ms, 10) / 1000)
        self.offset += 1
        return batch(self.offset - 1, 1)


def trickling(**options: Any) -> tuple[BatchConsumer, Trickle]:
    source = Trickle()
    c = BatchConsumer(
        "test",
        source,  # type: ignore[arg-type]
        ["t"],
        StatelessHandler(),
        max_records=100_000,
        max_wait_ms=5_000,
        **options,
    )
    return c, source


async def test_a_batch_ends_when_the_flush_falls_due_not_at_its_longest_wait() -> None:
    c, source = trickling(flush_interval_s=0.2)
    c._flushed_at = time.monotonic()
    gathered = await c._gather()
    due = c._flushed_at + 0.2
    assert time.monotonic() < due + 0.5  # not the batch's 5 s
    # The first wait is for any record; once one came, none past the flush.
    assert source.waits[0] == 5_000 and max(source.waits[1:]) <= 200
    assert 5 <= len(gathered[TP]) <= 40  # a record every 10 ms until then


async def test_without_a_flush_interval_a_batch_fills_for_its_longest_wait() -> None:
    c, source = trickling(flush_interval_s=0.0)
    c.max_wait = 0.3
    started = time.monotonic()
    gathered = await c._gather()
    assert time.monotonic() - started >= 0.3
    assert source.waits[0] == 300 and len(gathered[TP]) >= 10
