"""`JourneyStage`: the journey stage's Kafka side, around `JourneyLogic`.

It reads person-keyed steps (the batch consumer calls it), restores each
partition's state from its changelog (the compacted journeys topic) before
the partition's first batch, reloads evicted people and reopens closed
journeys by offset (the closed-journeys topic), and sends what the logic
folds: closures, changelog records and journey rows (the journey-rows topic).
Steps are gathered per person and folded at each flush (`CX_JOURNEY_FLUSH_MS`),
so a person touched by ten events in that time is written once; the batch
consumer commits the steps' offsets only after the flush. What is sent, and
in which order, is the `Outbox` (`streams.journeys.logic`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from itertools import chain
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from streams.clickhouse.bundle import HEADERS as ROWS_HEADERS
from streams.clickhouse.bundle import bundle_size, encode_bundle, encode_row
from streams.identity.graph import Erased, Move
from streams.identity.log import Applied
from streams.journeys.closed import decode_closure, encode_closure
from streams.journeys.logic import JourneyLogic
from streams.journeys.outbox import Outbox, Partition
from streams.journeys.state import RECORD_FORMAT, PersonRecord, encode_record
from streams.journeys.steps import (
    STEPS_HEADERS,
    decode_keyed_steps,
    join_keyed,
    keyed_chunks,
    steps_in,
    with_steps,
)
from streams.runtime.batch_consumer import Batch
from streams.runtime.handoff import Handoff
from streams.runtime.kafka import (
    Message,
    is_transient_kafka_error,
    partition_count,
    produce_all,
    produce_bundles,
    produce_to,
    stop_within,
)
from streams.runtime.partitioning import group_by_partition, partition_of
from streams.runtime.read_at import BEYOND, read_at
from streams.runtime.retry import with_backoff
from streams.runtime.topics import Topics

__all__ = ["MAX_PENDING_STEPS", "JourneyStage", "Outbox"]

log = logging.getLogger(__name__)

_FOLDS_BETWEEN_YIELDS = 50
"""A flush lets the other stages run after this many people: every hop of
an event through ingest and the store waits for such a slice."""
MAX_PENDING_STEPS = 100_000
"""Steps gathered before a flush is made anyway (memory stays bounded when
the stage falls behind)."""

Record: TypeAlias = ConsumerRecord[bytes, bytes]


def _changelog_message(record: PersonRecord) -> Message:
    value, steps = encode_record(record)
    return record.customer_key.encode(), value, with_steps(RECORD_FORMAT, steps)


def _steps_of(record: Record) -> bytes:
    """The encoded steps of a changelog or closure record."""
    return steps_in(record.headers)


class JourneyStage:
    def __init__(
        self,
        logic: JourneyLogic,
        producer: AIOKafkaProducer,
        restorer: AIOKafkaConsumer,
        reloader: AIOKafkaConsumer,
        topics: Topics,
        *,
        crash: Callable[[BaseException], Awaitable[None]],
    ) -> None:
        self.logic = logic
        self.producer = producer
        """Shared with the worker, which starts and stops it."""
        self.restorer = restorer
        """Reads whole changelog partitions (restore)."""
        self.reloader = reloader
        """Reads a few records of a partition (evicted people, closures), with
        small fetches."""
        self.topics = topics
        self.mover: Handoff[Move | Erased] = Handoff("journey-mover", self._apply_identity, crash)
        self.rows_end: dict[int, int] = {}
        """Per journey-rows partition, the offset after the last rows sent."""
        self.lock = asyncio.Lock()

    async def start(self) -> None:
        await self.restorer.start()
        await self.reloader.start()

    async def stop(self) -> None:
        """The mover first (no move is sent after this is called, nor while
        the producer stops), then the consumers, each within CLIENT_STOP_S."""
        await self.mover.stop()
        await asyncio.gather(stop_within(self.restorer), stop_within(self.reloader))

    # -- partitions -------------------------------------------------------------
    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        pass  # restored lazily by the first batch (see the store handler)

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        async with self.lock:  # flushed already: nothing pending is lost
            self.logic.drop(tp.partition for tp in partitions)

    async def _restore(self, numbers: list[int]) -> None:
        """The partitions' state from their changelog, read to its end."""
        tps = [TopicPartition(self.topics.journeys, p) for p in numbers]
        self.restorer.assign(tps)
        await self.restorer.seek_to_beginning(*tps)
        restoring = {p: Partition() for p in numbers}
        replay = self.logic.replay
        pending = set(tps)
        while pending:
            fetched = await self.restorer.getmany(*pending, timeout_ms=200, max_records=10_000)
            for tp, records in fetched.items():
                for record in records:
                    key = record.key.decode() if record.key else ""
                    steps = _steps_of(record) if record.value is not None else b""
                    replay(restoring[tp.partition], key, record.offset, record.value, steps)
            for tp in list(pending):
                high = self.restorer.highwater(tp)
                if high is not None and await self.restorer.position(tp) >= high:
                    pending.discard(tp)
        self.restorer.unsubscribe()  # an assigned consumer goes on fetching
        for number, partition in restoring.items():
            self.logic.adopt(number, partition)
            log.info(
                "journeys: restored partition %d: %d people in memory, %d evicted",
                number,
                len(partition.people),
                len(partition.evicted),
            )

    async def _reload(self, number: int, keys: Sequence[str]) -> None:
        """Bring evicted people back from their changelog records, in offset
        order: one fetch brings the records of several of them."""
        wanted = self.logic.to_reload(number, keys)
        if not wanted:
            return
        tp = TopicPartition(self.topics.journeys, number)
        found = await self._read_at(tp, [offset for offset, _ in wanted])
        for offset, key in wanted:
            record = found.get(offset)
            assert record is not None and record.value is not None, "changelog gap"
            self.logic.reloaded(number, key, record.value, _steps_of(record))

    async def _reopen(self, number: int, keys: Sequence[str] = ()) -> None:
        """Read back the closures `to_reopen` names (with `keys`, all of
        theirs), newest first, until each person's are reopened as far as
        needed."""
        wanted = self.logic.to_reopen(number, keys)
        tp = TopicPartition(self.topics.closed_journeys, number)
        while wanted:
            found = await self._read_at(tp, [offset for offset, _ in wanted])
            after = []
            for offset, key in wanted:
                record = found.get(offset)
                if record is None or record.value is None:
                    log.warning(
                        "journeys: closure %d/%d is gone; older journeys kept", number, offset
                    )
                    closure = None
                else:
                    closure = decode_closure(record.value, _steps_of(record))
                    assert closure.customer_key == key, "a closure read at another's offset"
                more = self.logic.reopened(number, key, closure)
                if more is not None:
                    after.append((more, key))
            wanted = sorted(after)

    async def _read_at(self, tp: TopicPartition, offsets: list[int]) -> dict[int, Record]:
        """The records of `tp` at `offsets` (ascending) there are; one no
        longer there (compacted away) is left out."""
        self.reloader.assign([tp])
        try:
            read = await read_at(self.reloader, tp, offsets)
        finally:
            self.reloader.unsubscribe()  # an assigned consumer goes on fetching
        return {offset: record for offset, record in read.items() if record not in (None, BEYOND)}

    async def _restore_new(self, numbers: list[int]) -> None:
        """Restore the partitions not in memory yet, and move the people in
        them that were merged into others meanwhile: whichever member owns a
        partition when it restores checks its keys, so a merge seen during a
        rebalance is not lost."""
        new = [n for n in numbers if n not in self.logic.partitions]
        if not new:
            return
        await self._restore(new)
        out = Outbox()
        for number in new:
            await self._reopen(number)  # versions that may have lost their rows
            stale = self.logic.stale(number)
            await self._reload(number, stale)
            await self._reopen(number, stale)
            for key in stale:
                self.logic.move(number, key, out)
        await self._send(out)

    # -- steps ------------------------------------------------------------------
    async def handle(self, batch: Batch) -> None:
        """Gather the batch's steps per person; `flush` folds them."""
        async with self.lock:
            await self._restore_new([tp.partition for tp in batch])
            for tp, records in batch.items():
                items = list(chain.from_iterable(decode_keyed_steps(r.value) for r in records))
                await self._reload(tp.partition, self.logic.returning(tp.partition, items))
                self.logic.gather(tp.partition, items)
                await self._reopen(tp.partition)
            if self.logic.pending_steps >= MAX_PENDING_STEPS:
                # Early is safe: a flush only makes the state durable sooner
                # (offsets are committed at the consumer's next flush).
                await self._flush()

    async def flush(self) -> None:
        """Fold every person with new steps, evict the idle, and send their
        rows and changelog records (and forwarded steps)."""
        async with self.lock:
            await self._flush()

    async def _flush(self) -> None:
        """`flush`, with the lock held."""
        out = Outbox()
        for done, _ in enumerate(self.logic.flush(out), start=1):
            if done % _FOLDS_BETWEEN_YIELDS == 0:
                await asyncio.sleep(0)  # the other stages go on meanwhile
        await self._send(out)

    # -- identity ---------------------------------------------------------------
    async def on_identity(self, applied: list[Applied]) -> None:
        """Identity listener: queue the moves of people merged into others,
        and the people erased (the replica, and ingest behind it, must not
        wait for them). Moves lost in a crash are made when the partition is
        restored; an erased person's records are tombstoned by the eraser."""
        items: list[Move | Erased] = []
        for _, _, change in applied:
            items += change.moves
            items += change.erased
        self.mover.put(items)

    async def _apply_identity(self, items: list[Move | Erased]) -> None:
        async with self.lock:
            partitions = await partition_count(self.producer, self.topics.journey_steps)
            out = Outbox()
            for item in items:
                if isinstance(item, Erased):
                    for key in item.members:
                        number = partition_of(key.encode(), partitions)
                        if number in self.logic.partitions:
                            self.logic.forget(number, key)
                    continue
                number = partition_of(item.from_key.encode(), partitions)
                if number not in self.logic.partitions:
                    continue  # not ours, or not restored yet (checked on restore)
                await self._reload(number, [item.from_key])
                await self._reopen(number, [item.from_key])
                self.logic.move(number, item.from_key, out)
            await self._send(out)

    async def _send(self, out: Outbox) -> None:
        """In the Outbox's order: closures, new versions' changelog records,
        then every row and forwarded step, then the records of people evicted
        or moved, then the tombstones of closures superseded; then the logic
        notes where evicted people's records are."""
        if out.empty():
            return
        producer, topics = self.producer, self.topics

        async def send() -> list[tuple[int, int]]:
            if out.closures:
                closures = [(number, *encode_closure(c)) for number, c in out.closures]
                placed = await produce_to(producer, topics.closed_journeys, closures)
                self.logic.closed(out, [offset for _, offset in placed])
            await produce_all(producer, topics.journeys, map(_changelog_message, out.versions))
            row_partitions = await partition_count(producer, topics.journey_rows)
            step_partitions = await partition_count(producer, topics.journey_steps)
            forwarded = group_by_partition(
                ((key.encode(), pair) for key, pair in keyed_chunks(out.forwarded)),
                step_partitions,
            )
            rows = group_by_partition(
                ((k.encode(), (encode_row(k), encode_row(r))) for k, r in out.rows), row_partitions
            )
            sent_rows, _ = await asyncio.gather(
                produce_bundles(
                    producer,
                    topics.journey_rows,
                    rows,
                    encode_bundle,
                    ROWS_HEADERS,
                    size_of=bundle_size,
                ),
                produce_bundles(
                    producer,
                    topics.journey_steps,
                    forwarded,
                    join_keyed,
                    STEPS_HEADERS,
                    size_of=len,
                ),
            )
            for partition, offset in sent_rows:
                if offset >= self.rows_end.get(partition, 0):
                    self.rows_end[partition] = offset + 1
            released = await produce_all(
                producer, topics.journeys, map(_changelog_message, out.releases)
            )
            if out.tombstones:
                none: list[tuple[str, bytes]] = []
                gone = [(number, key, None, none) for number, key in out.tombstones]
                await produce_to(producer, topics.closed_journeys, gone)
            return released

        positions = await with_backoff(
            send, is_transient=is_transient_kafka_error, what="kafka: produce journey changes"
        )
        self.logic.sent(out, [offset for _, offset in positions])

    def stats(self) -> dict[str, Any]:
        return self.logic.stats()
