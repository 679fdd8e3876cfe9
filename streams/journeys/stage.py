"""Journey stage glue: person-keyed steps -> per-person state, kept in memory
per partition and backed by its changelog (the compacted journeys topic);
the journeys it makes go to the store as rows (the journey-rows topic).

- Steps are gathered per person as batches arrive and folded at each flush
  (every `CX_JOURNEY_FLUSH_MS`): a person touched by ten events in that time
  is folded and written once. The batch consumer commits the steps' offsets
  only after the flush, so nothing is lost in a crash; steps read again are
  already in the state and change nothing (each event id once per person).
- A flush sends the changelog records of new versions first, then their
  journey rows: the store never holds a journey that the person's state
  does not know, so a journey that later vanishes (a late step moved its
  start) is always retired. A crash in between leaves the store a version
  behind the state; the restored state is `unconfirmed`, and the replayed
  steps write its journeys again even when they bring nothing new. An
  eviction or a move changes no journey id: its rows go first, then the
  record that lets the state go.
- A partition's state is restored from its changelog before its first batch
  is handled (after a restart or when the partition moves to this worker).
- Steps for a key that the identity graph has merged into another are
  forwarded to that key; when the graph merges a person this worker holds,
  their steps move to the new key (`on_identity`), and the old key's journeys
  are retired. Whichever member owns a partition when it restores checks its
  keys too, so a merge seen during a rebalance is not lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.clickhouse.bundle import FORMAT as ROWS_FORMAT
from streams.clickhouse.bundle import Row, bundle_size, encode_bundle, encode_row
from streams.identity.graph import IdentityGraph, Move
from streams.identity.log import Applied
from streams.journeys.fold import journeys_of_ordered
from streams.journeys.rows import version_rows
from streams.journeys.rules import JourneyRules
from streams.journeys.state import (
    NO_STEPS,
    RECORD_FORMAT,
    PersonRecord,
    PersonState,
    add_steps,
    decode_record,
    encode_record,
    restored,
)
from streams.journeys.steps import (
    STEPS_HEADERS,
    KeyedSteps,
    Step,
    decode_keyed_steps,
    join_keyed,
    keyed_chunks,
)
from streams.runtime.batch_consumer import Batch
from streams.runtime.handoff import Handoff
from streams.runtime.kafka import (
    Message,
    group_by_partition,
    is_transient_kafka_error,
    partition_count,
    partition_of,
    produce_all,
    produce_bundles,
)
from streams.runtime.retry import with_backoff
from streams.runtime.topics import Topics

log = logging.getLogger(__name__)

_ROWS_HEADERS = [("cx.format", ROWS_FORMAT)]
_SWEEP_SECONDS = 5.0
_FOLDS_BETWEEN_YIELDS = 50
"""A flush lets the other stages run after this many people (a few ms):
every hop of an event through ingest and the store waits for such a slice."""
MAX_PENDING_STEPS = 100_000
"""Steps gathered before a flush is made anyway (memory stays bounded when
the stage falls behind)."""
_SWEEP_EVENT_TIME_MS = 3_600_000


def _changelog_message(record: PersonRecord) -> Message:
    value, steps = encode_record(record)
    headers = [("cx.format", RECORD_FORMAT), ("cx.steps", steps)]
    return record.customer_key.encode(), value, headers


def _steps_of(record: Any) -> bytes:
    """The encoded steps of a changelog record (its `cx.steps` header)."""
    steps: bytes = next(value for name, value in record.headers if name == "cx.steps")
    return steps


People = dict[str, PersonState]


@dataclass
class Partition:
    """One journey-steps partition's state in memory."""

    people: People = field(default_factory=dict)
    evicted: dict[str, int] = field(default_factory=dict)
    """People evicted from memory: the changelog offset of the record that
    holds their state, reloaded if a late step comes."""
    pending: dict[str, list[Step]] = field(default_factory=dict)
    """Steps handled since the last flush, by person."""
    watermark: int = 0
    """Latest event time seen (ms)."""
    swept: tuple[float, int] = (0.0, 0)
    """Wall clock and watermark of the last eviction sweep."""


@dataclass
class Outbox:
    """What a flush or a move sends: journey rows, changelog records and
    steps forwarded to their person's new key."""

    versions: list[PersonRecord] = field(default_factory=list)
    """Changelog records of new versions: sent before their rows."""
    rows: list[tuple[str, Row]] = field(default_factory=list)
    forwarded: list[KeyedSteps] = field(default_factory=list)
    releases: list[PersonRecord] = field(default_factory=list)
    """Changelog records of people evicted or moved: sent after their rows."""
    evictions: list[tuple[int, str, int]] = field(default_factory=list)
    """(partition, key, index in releases) of each person evicted."""


class JourneyHandler:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        restorer: AIOKafkaConsumer,
        reloader: AIOKafkaConsumer,
        topics: Topics,
        graph: IdentityGraph,
        rules: JourneyRules,
        *,
        lateness_ms: int,
        evict_idle_s: float,
        crash: Callable[[BaseException], Awaitable[None]],
    ) -> None:
        self.producer = producer
        self.restorer = restorer
        """Reads whole changelog partitions (restore)."""
        self.reloader = reloader
        """Reads a few records of a partition (evicted people), with small fetches."""
        self.topics = topics
        self.graph = graph
        self.rules = rules
        self.lateness_ms = lateness_ms
        self.evict_idle_s = evict_idle_s
        self.mover: Handoff[Move] = Handoff("journey-mover", self._apply_moves, crash)
        self.partitions: dict[int, Partition] = {}
        self.forwarded: list[KeyedSteps] = []
        """Steps of merged keys, sent to their new key at the next flush."""
        self.pending_steps = 0
        """Steps gathered since the last flush."""
        self.rows_end: dict[int, int] = {}
        """Per journey-rows partition, the offset after the last rows sent."""
        self.lock = asyncio.Lock()
        self.counts: Counter[str] = Counter()

    # -- partitions ---------------------------------------------------------
    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        pass  # restored lazily by the first batch (see the store handler)

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        async with self.lock:  # flushed already: nothing pending is lost
            for tp in partitions:
                self.partitions.pop(tp.partition, None)

    async def _restore(self, numbers: list[int]) -> None:
        """The partitions' state from their changelog, read to its end."""
        tps = [TopicPartition(self.topics.journeys, p) for p in numbers]
        self.restorer.assign(tps)
        await self.restorer.seek_to_beginning(*tps)
        restoring = {p: Partition() for p in numbers}
        pending = set(tps)
        while pending:
            fetched = await self.restorer.getmany(*pending, timeout_ms=200, max_records=10_000)
            for tp, records in fetched.items():
                for record in records:
                    self._replay(record, restoring[tp.partition])
            for tp in list(pending):
                high = self.restorer.highwater(tp)
                if high is not None and await self.restorer.position(tp) >= high:
                    pending.discard(tp)
        for number, partition in restoring.items():
            self.partitions[number] = partition
            self.counts["restored_people"] += len(partition.people)
            log.info(
                "journeys: restored partition %d: %d people in memory, %d evicted",
                number,
                len(partition.people),
                len(partition.evicted),
            )

    @staticmethod
    def _replay(record: Any, partition: Partition) -> None:
        key = record.key.decode() if record.key else ""
        partition.people.pop(key, None)
        partition.evicted.pop(key, None)
        if record.value is None:
            return
        data = decode_record(record.value)
        partition.watermark = max(partition.watermark, data["as_of_ms"])
        state = restored(data, _steps_of(record))
        if state is not None and data["evicted"]:
            partition.evicted[key] = record.offset
        elif state is not None:
            partition.people[key] = state

    async def _reload(self, number: int, keys: Sequence[str]) -> None:
        """Bring evicted people back from their changelog records, in offset
        order: one fetch brings the records of several of them."""
        if not keys:
            return
        tp = TopicPartition(self.topics.journeys, number)
        self.reloader.assign([tp])
        partition = self.partitions[number]
        wanted = sorted((partition.evicted.pop(key), key) for key in keys)
        at = 0
        while at < len(wanted):
            sought = wanted[at][0]
            self.reloader.seek(tp, sought)
            fetched = await self.reloader.getmany(tp, timeout_ms=1000, max_records=1000)
            for record in fetched.get(tp, []):
                if record.offset < sought:
                    continue  # fetched before the seek
                if at == len(wanted):
                    break
                offset, key = wanted[at]
                if record.offset < offset:
                    continue  # between two wanted ones
                assert record.offset == offset and record.value is not None, "changelog gap"
                state = restored(decode_record(record.value), _steps_of(record))
                assert state is not None
                partition.people[key] = state
                self.counts["people_reloaded"] += 1
                at += 1

    async def _restore_new(self, numbers: list[int]) -> None:
        """Restore the partitions not in memory yet, and move the people in
        them that were merged into others meanwhile."""
        new = [n for n in numbers if n not in self.partitions]
        if not new:
            return
        await self._restore(new)
        out = Outbox()
        for number in new:
            partition = self.partitions[number]
            known = [*partition.people, *partition.evicted]
            stale = [key for key in known if self.graph.key_of(key) != key]
            await self._reload(number, [key for key in stale if key in partition.evicted])
            for key in stale:
                self._move(key, partition, out)
        await self._send(out)

    # -- steps ----------------------------------------------------------------
    async def handle(self, batch: Batch) -> None:
        """Gather the batch's steps per person; `flush` folds them."""
        async with self.lock:
            await self._restore_new([tp.partition for tp in batch])
            now = time.monotonic()
            key_of = self.graph.key_of
            for tp, records in batch.items():
                partition = self.partitions[tp.partition]
                items = list(chain.from_iterable(decode_keyed_steps(r.value) for r in records))
                back = {key for key, _ in items} & partition.evicted.keys()
                await self._reload(tp.partition, [k for k in back if key_of(k) == k])
                pending, people = partition.pending, partition.people
                watermark = partition.watermark
                for key, steps in items:
                    current = key_of(key)
                    if current != key:  # merged into another person since it was keyed
                        self.forwarded.append((current, steps))
                        self.counts["steps_forwarded"] += len(steps)
                        continue
                    gathered = pending.get(key)
                    if gathered is None:
                        pending[key] = list(steps)
                    else:
                        gathered.extend(steps)
                    state = people.get(key)
                    if state is not None:
                        state.touched_at = now
                    self.counts["steps"] += len(steps)
                    for step in steps:
                        if step.occurred_at_ms > watermark:
                            watermark = step.occurred_at_ms
                partition.watermark = watermark
                self.pending_steps += sum(len(steps) for _, steps in items)
            if self.pending_steps >= MAX_PENDING_STEPS:
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
        self.pending_steps = 0
        out = Outbox(forwarded=self.forwarded)
        self.forwarded = []
        for number, partition in self.partitions.items():
            await self._fold(partition, out)
            self._sweep(number, partition, out)
        await self._send(out)

    async def _fold(self, partition: Partition, out: Outbox) -> None:
        now = time.monotonic()
        people, watermark = partition.people, partition.watermark
        for done, (key, new) in enumerate(partition.pending.items(), start=1):
            if done % _FOLDS_BETWEEN_YIELDS == 0:
                await asyncio.sleep(0)  # the other stages go on meanwhile
            state = people.get(key)
            if state is None:
                state = people[key] = PersonState()
            state.touched_at = now
            steps = add_steps(state, new)
            if steps is None and state.unconfirmed:
                steps = state.decoded()  # their journeys may be missing in the store
                self.counts["unconfirmed_rewritten"] += 1
            if steps is not None:
                self._write(key, state, steps, watermark, out)
        partition.pending = {}

    def _write(
        self,
        key: str,
        state: PersonState,
        steps: list[Step],
        as_of_ms: int,
        out: Outbox,
        *,
        evicted: bool = False,
    ) -> None:
        """A new version of the person: their journeys' rows (and deletions
        of the ones that no longer exist), and their changelog record."""
        journeys = journeys_of_ordered(key, steps, self.rules, as_of_ms=as_of_ms)
        state.version += 1
        previous = state.maybe_stored()
        rows = version_rows(key, state.version, as_of_ms, journeys, previous)
        out.rows += [(key, row) for row in rows]
        state.journey_ids = tuple(journey.journey_id for journey in journeys)
        state.unconfirmed, state.retired = False, ()
        record = PersonRecord(
            key,
            state.version,
            as_of_ms,
            state.steps,
            state.last_at_ms,
            state.journey_ids,
            retired=tuple(dict.fromkeys(i for i in previous if i not in state.journey_ids)),
            evicted=evicted,
        )
        (out.releases if evicted else out.versions).append(record)
        self.counts["versions_written"] += 1

    def _sweep(self, number: int, partition: Partition, out: Outbox) -> None:
        """Every few seconds, or when event time moved on by an hour: write
        the final state of people idle for the gap plus the lateness (event
        time) and untouched for `evict_idle_s` (wall clock), and evict them
        from memory."""
        now, watermark = time.monotonic(), partition.watermark
        last_time, last_mark = partition.swept
        if now - last_time < _SWEEP_SECONDS and watermark - last_mark < _SWEEP_EVENT_TIME_MS:
            return
        partition.swept = (now, watermark)
        horizon = watermark - self.rules.inactivity_gap_ms - self.lateness_ms
        untouched = now - self.evict_idle_s
        people = partition.people
        idle = [
            key
            for key, state in people.items()
            if state.last_at_ms < horizon and state.touched_at <= untouched
        ]
        for key in idle:
            state = people.pop(key)
            out.evictions.append((number, key, len(out.releases)))
            self._write(key, state, state.decoded(), watermark, out, evicted=True)
            self.counts["people_evicted"] += 1

    # -- identity -------------------------------------------------------------
    async def on_identity(self, applied: list[Applied]) -> None:
        """Identity listener: queue the moves of people merged into others
        (the replica, and ingest behind it, must not wait for them). Moves
        lost in a crash are made when the partition is restored."""
        self.mover.put(move for _, _, change in applied for move in change.moves)

    async def _apply_moves(self, moves: list[Move]) -> None:
        async with self.lock:
            partitions = await partition_count(self.producer, self.topics.journey_steps)
            out = Outbox()
            for move in moves:
                number = partition_of(move.from_key.encode(), partitions)
                partition = self.partitions.get(number)
                if partition is None:
                    continue  # not ours, or not restored yet (checked on restore)
                if move.from_key in partition.evicted:
                    await self._reload(number, [move.from_key])
                self._move(move.from_key, partition, out)
            await self._send(out)

    def _move(self, key: str, partition: Partition, out: Outbox) -> None:
        """Send the person's steps (kept and pending) to the key they were
        merged into, retire their journeys, and forget them."""
        state = partition.people.pop(key, None)
        pending = partition.pending.pop(key, [])
        if state is None and not pending:
            return
        target = self.graph.key_of(key)
        steps = [*(state.decoded() if state else []), *pending]
        out.forwarded.append((target, steps))
        if state is None:
            return  # never written: nothing to retire
        state.version += 1
        as_of = partition.watermark
        retired = version_rows(key, state.version, as_of, (), state.maybe_stored())
        out.rows += [(key, row) for row in retired]
        record = PersonRecord(key, state.version, as_of, NO_STEPS, 0, (), moved_to=target)
        out.releases.append(record)
        self.counts["people_moved"] += 1

    async def _send(self, out: Outbox) -> None:
        """New versions' changelog records, then every row and forwarded
        step, then the records of people evicted or moved (see the module
        doc); then note where evicted people's records are."""
        if not (out.versions or out.rows or out.forwarded or out.releases):
            return
        producer, topics = self.producer, self.topics

        async def send() -> list[tuple[int, int]]:
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
                    _ROWS_HEADERS,
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
            return await produce_all(
                producer, topics.journeys, map(_changelog_message, out.releases)
            )

        positions = await with_backoff(
            send, is_transient=is_transient_kafka_error, what="kafka: produce journey changes"
        )
        for number, key, index in out.evictions:
            if number in self.partitions:
                self.partitions[number].evicted[key] = positions[index][1]

    def stats(self) -> dict[str, Any]:
        partitions = self.partitions.values()
        return {
            **self.counts,
            "people_in_memory": sum(len(p.people) for p in partitions),
            "people_evicted_now": sum(len(p.evicted) for p in partitions),
            "people_pending": sum(len(p.pending) for p in partitions),
            "watermarks": {n: p.watermark for n, p in sorted(self.partitions.items())},
        }
