"""Stage 2 glue: row bundles of touchpoints -> ClickHouse `touchpoints`, each
event id stored once, and the journey steps of the events stored now -> the
journey-steps topic. The rows were built at ingest; only their index (event
id, time, person, step) is read here, and the fresh rows go to ClickHouse as
they came.

Every delivery of an event id travels on the same partition (ingest routes by
event id), so one consumer sees them all: per partition, `SeenEvents` answers
from memory, and ClickHouse answers for events older than what memory holds.
The first delivery stored is the event, whoever a later one names: only its
step goes on to the journeys, which therefore count what `touchpoints` holds
(a row ClickHouse then refuses is the exception: its step was sent).

The rows of many batches are inserted as one block (`streams.clickhouse.gather`),
about once per insert interval. The steps of an insert's rows are sent just
before it: a crash in between re-reads the batches, finds the rows not
stored and sends the steps again (the journey stage keeps each event once).
A row ClickHouse refuses on its own is set aside to the dead-letter topic
(`streams.clickhouse.isolate`) after the insert; its step is already on its
way. Offsets are committed (by the batch consumer) only after the insert.
Read again after a crash, with other batch boundaries, rows already stored
are dropped by event id (memory primed from ClickHouse), not by the token.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence, Set
from typing import Any, NamedTuple, Protocol

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from clickhouse_connect.driver.exceptions import DatabaseError

from schemas import Channel, Rejection, RejectionError, RejectReason
from streams.clickhouse.bundle import decode_bundle, split_rows
from streams.clickhouse.client import OffLoopStore, error_name
from streams.clickhouse.gather import DEFAULT_LIMITS, BatchSink, InsertLimits
from streams.clickhouse.isolate import Refused
from streams.clickhouse.sink import Block, Table, digest, offset_ranges
from streams.deadletters.letter import DeadLetter, encode_dead_letter
from streams.journeys.steps import STEPS_HEADERS, KeyedSteps, Step, join_keyed, keyed_chunks
from streams.runtime.batch_consumer import Batch
from streams.runtime.kafka import (
    is_transient_kafka_error,
    partition_count,
    produce_all,
    produce_bundles,
)
from streams.runtime.partitioning import group_by_partition
from streams.runtime.retry import with_backoff
from streams.runtime.topics import Topics
from streams.store.dedup import NO_FLOOR, SeenEvents, priming_floor
from streams.store.rows import TOUCHPOINT_COLUMNS

_COLUMN = {name: at for at, name in enumerate(TOUCHPOINT_COLUMNS)}


class Downstream(Protocol):
    """Where the store stage sends on what it decided."""

    async def partitions(self) -> int:
        """Partitions of the touchpoints topic."""

    async def send_steps(self, steps: Sequence[KeyedSteps]) -> None:
        """The steps of the events stored now, to the journey stage."""

    async def set_aside(self, letters: Sequence[DeadLetter]) -> None:
        """Rows ClickHouse refused, to the dead-letter topic."""


class KafkaDownstream:
    """`Downstream` on the worker's topics."""

    def __init__(self, producer: AIOKafkaProducer, topics: Topics) -> None:
        self.producer = producer
        self.topics = topics

    async def partitions(self) -> int:
        return await partition_count(self.producer, self.topics.touchpoints)

    async def send_steps(self, steps: Sequence[KeyedSteps]) -> None:
        producer, topic = self.producer, self.topics.journey_steps

        async def send() -> None:
            grouped = group_by_partition(
                ((key.encode(), pair) for key, pair in keyed_chunks(steps)),
                await partition_count(producer, topic),
            )
            await produce_bundles(producer, topic, grouped, join_keyed, STEPS_HEADERS, size_of=len)

        await with_backoff(
            send, is_transient=is_transient_kafka_error, what="kafka: produce journey steps"
        )

    async def set_aside(self, letters: Sequence[DeadLetter]) -> None:
        messages = [encode_dead_letter(letter) for letter in letters]
        await with_backoff(
            lambda: produce_all(self.producer, self.topics.deadletter, messages),
            is_transient=is_transient_kafka_error,
            what="kafka: produce dead letters",
        )


class _Fresh(NamedTuple):
    """What a touchpoints block carries for the steps around its insert."""

    steps: list[KeyedSteps]
    """Of its events, sent before the rows are inserted."""
    old: set[str]
    """Its events below every partition's memory, in flight until inserted."""


TOUCHPOINTS = Table("touchpoints", TOUCHPOINT_COLUMNS, isolate=True)


class StoreStage(BatchSink[_Fresh]):
    def __init__(
        self,
        store: OffLoopStore,
        downstream: Downstream,
        *,
        capacity: int,
        limits: InsertLimits = DEFAULT_LIMITS,
        suppressed_ids: Set[str] = frozenset(),
    ) -> None:
        super().__init__(store, "store", limits)
        self.suppressed_ids = suppressed_ids
        """Identifiers of people erased with suppression (the identity
        graph's, live): their touchpoints already on their way are dropped."""
        self.suppressed = 0
        self.downstream = downstream
        self.capacity = capacity
        self.seen: dict[int, SeenEvents] = {}
        self.duplicates = 0
        self.rejections: Counter[tuple[str, str]] = Counter()
        """Rows ClickHouse refused, set aside: by channel and reason."""
        self.looked_up = 0
        self._old_in_flight: set[str] = set()
        """Event ids below a partition's memory held or whose insert has not
        returned: the next batch's ClickHouse lookup could miss them."""

    @property
    def stored(self) -> int:
        return self.rows - self.refused

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            self.seen.pop(tp.partition, None)

    async def _prime(self, partition: int) -> SeenEvents:
        """The stored ids of a partition, from ClickHouse. Lazily, at its first
        batch: aiokafka may hand out records before on_assigned has finished."""
        partitions = await self.downstream.partitions()
        buckets = await self.store.query(
            "partition_minutes", partition=partition, partitions=partitions
        )
        floor = priming_floor([(int(h), int(n)) for h, n in buckets], self.capacity)
        seen = SeenEvents(self.capacity, floor)
        if buckets:
            since = floor if floor != NO_FLOOR else 0
            rows = await self.store.query(
                "partition_event_ids", partition=partition, partitions=partitions, since_ms=since
            )
            seen.add_all((event_id, int(ms)) for event_id, ms in rows)
        return seen

    async def write(self, batch: Batch) -> list[Block[_Fresh]]:
        """The rows of events not stored yet, with their steps. They count as
        seen at once: the next batches come before the insert (a failed
        insert crashes the worker, memory and all)."""
        chunks: list[bytes] = []  # fresh rows, a bundle's body or a part of it
        steps: list[KeyedSteps] = []
        kept: list[str] = []  # their event ids
        old: set[str] = set()  # kept events below memory
        for tp, records in batch.items():
            bundles = [decode_bundle(record.value) for record in records]
            entries = [entry for index, _ in bundles for entry in index]
            keep = await self._unseen(tp.partition, entries, old)
            if self.suppressed_ids:
                self._suppress(entries, keep)
            fresh = [entry for entry, kept in zip(entries, keep, strict=True) if kept]
            self.seen[tp.partition].add_all((entry[0], entry[1]) for entry in fresh)
            kept += [entry[0] for entry in fresh]
            # Records of format rows/1 carry no step: ingest sent it itself.
            steps += [(entry[2], [Step._make(entry[3])]) for entry in fresh if len(entry) > 2]
            at = 0
            for index, body in bundles:
                wanted = keep[at : at + len(index)]
                at += len(index)
                if all(wanted):
                    chunks.append(body)
                elif any(wanted):
                    rows = split_rows(body)
                    chunks.append(
                        b"\n".join(r for r, kept in zip(rows, wanted, strict=True) if kept)
                    )
        if not chunks:
            return []
        return [Block(TOUCHPOINTS, b"\n".join(chunks), _token(batch, kept), _Fresh(steps, old))]

    def _suppress(self, entries: list[list[Any]], keep: list[bool]) -> None:
        """Unkeep (and count) the entries keyed to a suppressed person."""
        suppressed = self.suppressed_ids
        for at, entry in enumerate(entries):
            if keep[at] and len(entry) > 2 and entry[2] in suppressed:
                keep[at] = False
                self.suppressed += 1

    def forget(self, event_ids: Iterable[str]) -> None:
        """Erased events out of the deduplication memory (`streams.erasure`)."""
        ids = set(event_ids)
        for seen in self.seen.values():
            seen.forget(ids)

    def merged(self, extras: list[_Fresh]) -> _Fresh:
        return _Fresh(
            [steps for extra in extras for steps in extra.steps],
            set().union(*(extra.old for extra in extras)),
        )

    async def before(self, block: Block[_Fresh]) -> None:
        """Steps, then rows (see the module doc)."""
        if block.extra.steps:
            await self.downstream.send_steps(block.extra.steps)

    async def after(self, block: Block[_Fresh], refused: list[Refused]) -> None:
        """Refused rows set aside; then the old events among the stored,
        below every partition's memory, are ClickHouse's to answer for."""
        if refused:
            letters = [_dead_letter(row, exc) for row, exc in refused]
            await self.downstream.set_aside(letters)
            self.rejections.update(
                (letter.channel.value, letter.rejection.reason.value) for letter in letters
            )
        self._old_in_flight.difference_update(block.extra.old)

    async def _unseen(
        self, partition: int, entries: list[list[Any]], kept_old: set[str]
    ) -> list[bool]:
        """Per index entry (event_id, occurred_at_ms, ...), whether it is new:
        neither stored before nor earlier in this batch. The new ones below
        memory are added to `kept_old` (and held in flight until their
        insert)."""
        seen = self.seen.get(partition)
        if seen is None:
            seen = self.seen[partition] = await self._prime(partition)
        in_batch, in_flight = set(), self._old_in_flight
        keep: list[bool] = []
        old: list[int] = []  # entries older than memory: ClickHouse knows
        covers = seen.covers
        for entry in entries:
            event_id, occurred_at_ms = entry[0], entry[1]
            if event_id in in_batch or (
                event_id in seen if covers(occurred_at_ms) else event_id in in_flight
            ):
                self.duplicates += 1
                keep.append(False)
                continue
            in_batch.add(event_id)
            if not covers(occurred_at_ms):
                old.append(len(keep))
            keep.append(True)
        if old:
            self.looked_up += len(old)
            stored = {
                row[0]
                for row in await self.store.query(
                    "stored_event_ids",
                    event_ids=[entries[i][0] for i in old],
                    min_ms=min(entries[i][1] for i in old),
                    max_ms=max(entries[i][1] for i in old),
                )
            }
            for i in old:
                if entries[i][0] in stored:
                    keep[i] = False
                    self.duplicates += 1
                else:  # kept: until its insert returns, ClickHouse does not know it
                    in_flight.add(entries[i][0])
                    kept_old.add(entries[i][0])
        return keep

    def stats(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "suppressed": self.suppressed,
            "refused": self.refused,
            "looked_up_in_clickhouse": self.looked_up,
            "ids_in_memory": {p: len(s) for p, s in sorted(self.seen.items())},
        }


def _dead_letter(row: bytes, exc: DatabaseError) -> DeadLetter:
    """The dead letter of a touchpoint row ClickHouse refused: the row as the
    value (pseudonymised), the original record's position and channel. The
    error's code only: its message may quote the row."""
    values = orjson.loads(row)
    reason = RejectReason.STORE_REJECTED
    message = f"ClickHouse refused the row ({error_name(exc)}); it was set aside"
    rejection = Rejection(
        reason=reason,
        errors=(RejectionError(reason=reason, field="", message=message),),
        event_id=values[_COLUMN["event_id"]],
        event_type=values[_COLUMN["event_type"]],
    )
    return DeadLetter(
        rejection,
        Channel(values[_COLUMN["channel"]]),
        values[_COLUMN["source_topic"]],
        values[_COLUMN["source_partition"]],
        values[_COLUMN["source_offset"]],
        None,
        None,
        row,
        time.time_ns() // 1_000_000,
        rejected_by="store",
    )


def _token(batch: Batch, kept: list[str]) -> str:
    """Same records and the same rows kept, same token: a retried insert of
    this block is stored once. The kept ids count: read again after a
    crash, the same records may keep fewer rows (some were stored), and a
    block with other rows under the same token could be dropped as a repeat
    (for a block spanning months, part by part)."""
    return "touchpoints:" + digest(
        ";".join(offset_ranges(batch, topic=True)) + "|" + "\n".join(kept)
    )
