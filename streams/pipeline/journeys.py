"""Journey stage glue: person-keyed steps -> per-person state, kept in memory
per partition and backed by its changelog (the compacted journeys topic),
which the store turns into `journeys` rows.

- A partition's state is restored from its changelog before its first batch
  is handled (after a restart or when the partition moves to this worker).
- Steps for a key that the identity graph has merged into another are
  forwarded to that key; when the graph merges a person this worker holds,
  their steps move to the new key (`on_identity`), and the old key's journeys
  are retired. Whichever member owns a partition when it restores checks its
  keys too, so a merge seen during a rebalance is not lost.
- Offsets are committed after the changelog records were acknowledged. The
  changelog may run ahead of the commit after a crash; replayed steps are
  already in the state and change nothing (each event id once per person).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.batch_consumer import Batch
from streams.identity.graph import IdentityGraph, Move
from streams.journeys.fold import person_journeys
from streams.journeys.rules import JourneyRules
from streams.journeys.state import (
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
    encode_keyed_steps,
)
from streams.kafka import Message, is_transient, partition_of, produce_all, produce_bundles
from streams.pipeline.drain import Drain
from streams.retry import with_backoff
from streams.store.clickhouse import OffLoopStore
from streams.store.identity_rows import Applied
from streams.store.journey_rows import journey_columns
from streams.topics import Topics

log = logging.getLogger(__name__)


def _changelog_message(key: str, record: PersonRecord) -> Message:
    value, steps = encode_record(record)
    return key.encode(), value, [("cx.format", RECORD_FORMAT), ("cx.steps", steps)]


def _steps_of(record: Any) -> bytes:
    """The encoded steps of a changelog record (its `cx.steps` header)."""
    steps: bytes = next(value for name, value in record.headers if name == "cx.steps")
    return steps


_SWEEP_SECONDS = 5.0
_SWEEP_EVENT_TIME_MS = 3_600_000

People = dict[str, PersonState]


class JourneyHandler:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        restorer: AIOKafkaConsumer,
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
        self.topics = topics
        self.graph = graph
        self.rules = rules
        self.lateness_ms = lateness_ms
        self.evict_idle_s = evict_idle_s
        self.mover: Drain[Move] = Drain("journey-mover", self._apply_moves, crash)
        self.people: dict[int, People] = {}
        self.spilled: dict[int, dict[str, int]] = {}
        """Per partition, people evicted from memory: the changelog offset of
        the record that holds their state, reloaded if a late step comes."""
        self.watermark: dict[int, int] = {}
        self.swept: dict[int, tuple[float, int]] = {}
        self.lock = asyncio.Lock()
        self.counts: Counter[str] = Counter()

    # -- partitions ---------------------------------------------------------
    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        pass  # restored lazily by the first batch (see the store handler)

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        async with self.lock:
            for tp in partitions:
                self.people.pop(tp.partition, None)
                self.spilled.pop(tp.partition, None)
                self.watermark.pop(tp.partition, None)

    async def _restore(self, partitions: list[int]) -> None:
        """The partitions' state from their changelog, read to its end."""
        tps = [TopicPartition(self.topics.journeys, p) for p in partitions]
        self.restorer.assign(tps)
        await self.restorer.seek_to_beginning(*tps)
        people: dict[int, People] = {p: {} for p in partitions}
        spilled: dict[int, dict[str, int]] = {p: {} for p in partitions}
        watermark = dict.fromkeys(partitions, 0)
        pending = set(tps)
        while pending:
            fetched = await self.restorer.getmany(*pending, timeout_ms=200, max_records=10_000)
            for tp, records in fetched.items():
                for record in records:
                    self._replay(record, people[tp.partition], spilled[tp.partition], watermark)
            for tp in list(pending):
                high = self.restorer.highwater(tp)
                if high is not None and await self.restorer.position(tp) >= high:
                    pending.discard(tp)
        for p in partitions:
            self.people[p], self.spilled[p], self.watermark[p] = people[p], spilled[p], watermark[p]
            self.counts["restored_people"] += len(people[p])
            log.info(
                "journeys: restored partition %d: %d people in memory, %d evicted",
                p,
                len(people[p]),
                len(spilled[p]),
            )

    @staticmethod
    def _replay(
        record: Any, people: People, spilled: dict[str, int], watermark: dict[int, int]
    ) -> None:
        key = record.key.decode() if record.key else ""
        people.pop(key, None)
        spilled.pop(key, None)
        if record.value is None:
            return
        data = decode_record(record.value)
        watermark[record.partition] = max(watermark[record.partition], data["as_of_ms"])
        state = restored(data, _steps_of(record))
        if state is not None and data["evicted"]:
            spilled[key] = record.offset
        elif state is not None:
            people[key] = state

    async def _reload(self, partition: int, keys: list[str]) -> None:
        """Bring evicted people back from their changelog records."""
        tp = TopicPartition(self.topics.journeys, partition)
        self.restorer.assign([tp])
        people, spilled = self.people[partition], self.spilled[partition]
        for key in keys:
            offset = spilled.pop(key)
            self.restorer.seek(tp, offset)
            record = None
            while record is None:
                fetched = await self.restorer.getmany(tp, timeout_ms=1000, max_records=1)
                record = next((r for r in fetched.get(tp, []) if r.offset >= offset), None)
            assert record.offset == offset and record.value is not None, "changelog gap"
            state = restored(decode_record(record.value), _steps_of(record))
            assert state is not None
            people[key] = state
            self.counts["people_reloaded"] += 1

    async def _restore_new(
        self, partitions: list[int], changelog: list[Message], out: list[KeyedSteps]
    ) -> None:
        """Restore the partitions not in memory yet, and move the people in
        them that were merged into others meanwhile."""
        new = [p for p in partitions if p not in self.people]
        if not new:
            return
        await self._restore(new)
        for partition in new:
            people = self.people[partition]
            known = [*people, *self.spilled[partition]]
            stale = [key for key in known if self.graph.key_of(key) != key]
            await self._reload(partition, [key for key in stale if key not in people])
            for key in stale:
                self._move(key, people, changelog, out)

    # -- steps ----------------------------------------------------------------
    async def handle(self, batch: Batch) -> None:
        async with self.lock:
            changelog: list[Message] = []
            steps_out: list[KeyedSteps] = []
            evictions: list[tuple[int, str, int]] = []
            await self._restore_new([tp.partition for tp in batch], changelog, steps_out)
            for tp, records in batch.items():
                people = self.people[tp.partition]
                spilled = self.spilled[tp.partition]
                items = [item for r in records for item in decode_keyed_steps(r.value)]
                back = {key for key, _ in items} & spilled.keys()
                await self._reload(tp.partition, [k for k in back if self.graph.key_of(k) == k])
                self._fold(tp.partition, people, items, changelog, steps_out)
                evictions += self._sweep(tp.partition, people, changelog)
            positions = await self._send(changelog, steps_out)
            for partition, key, index in evictions:
                self.spilled[partition][key] = positions[index][1]

    def _fold(
        self,
        partition: int,
        people: People,
        items: list[tuple[str, list[Step]]],
        changelog: list[Message],
        steps_out: list[KeyedSteps],
    ) -> None:
        watermark = self.watermark.get(partition, 0)
        touched: set[str] = set()
        now = time.monotonic()
        for key, steps in items:
            current = self.graph.key_of(key)
            if current != key:  # merged into another person since it was keyed
                steps_out.append((current, steps))
                self.counts["steps_forwarded"] += len(steps)
                continue
            state = people.get(key)
            if state is None:
                state = people[key] = PersonState()
            if add_steps(state, steps):
                touched.add(key)
            state.touched_at = now
            self.counts["steps"] += len(steps)
            latest = (
                steps[0].occurred_at_ms if len(steps) == 1 else max(s.occurred_at_ms for s in steps)
            )
            watermark = max(watermark, latest)
        self.watermark[partition] = watermark
        for key in touched:
            changelog.append(self._record(key, people[key], watermark))

    def _record(
        self, key: str, state: PersonState, as_of_ms: int, *, evicted: bool = False
    ) -> Message:
        journeys = person_journeys(key, state.steps, self.rules, as_of_ms=as_of_ms)
        ids = tuple(journey.journey_id for journey in journeys)
        retired = [journey_id for journey_id in state.journey_ids if journey_id not in ids]
        state.version += 1
        state.journey_ids = ids
        record = PersonRecord(
            key,
            state.version,
            as_of_ms,
            state.steps,
            journeys,
            retired,
            evicted=evicted,
        )
        return _changelog_message(key, record)

    def _sweep(
        self, partition: int, people: People, changelog: list[Message]
    ) -> list[tuple[int, str, int]]:
        """Every few seconds, or when event time moved on by an hour: write
        the final state of people idle for the gap plus the lateness (event
        time) and untouched for `evict_idle_s` (wall clock), and evict them
        from memory. Returns (partition, key, changelog index) of
        each eviction."""
        now, watermark = time.monotonic(), self.watermark.get(partition, 0)
        last_time, last_mark = self.swept.get(partition, (0.0, 0))
        if now - last_time < _SWEEP_SECONDS and watermark - last_mark < _SWEEP_EVENT_TIME_MS:
            return []
        self.swept[partition] = (now, watermark)
        horizon = watermark - self.rules.inactivity_gap_ms - self.lateness_ms
        untouched = now - self.evict_idle_s
        idle = [
            key
            for key, state in people.items()
            if state.last_at_ms < horizon and state.touched_at <= untouched
        ]
        evicted = []
        for key in idle:
            evicted.append((partition, key, len(changelog)))
            changelog.append(self._record(key, people.pop(key), watermark, evicted=True))
            self.counts["people_evicted"] += 1
        return evicted

    # -- identity -------------------------------------------------------------
    async def on_identity(self, applied: list[Applied]) -> None:
        """Identity listener: queue the moves of people merged into others
        (the replica, and ingest behind it, must not wait for them). Moves
        lost in a crash are made when the partition is restored."""
        self.mover.put(move for _, _, change in applied for move in change.moves)

    async def _apply_moves(self, moves: list[Move]) -> None:
        async with self.lock:
            partitions = len(await self.producer.partitions_for(self.topics.journey_steps))
            changelog: list[Message] = []
            steps_out: list[KeyedSteps] = []
            for move in moves:
                partition = partition_of(move.from_key.encode(), partitions)
                people = self.people.get(partition)
                if people is None:
                    continue  # not ours, or not restored yet (checked on restore)
                if move.from_key in self.spilled[partition]:
                    await self._reload(partition, [move.from_key])
                if move.from_key in people:
                    self._move(move.from_key, people, changelog, steps_out)
            await self._send(changelog, steps_out)

    def _move(
        self, key: str, people: People, changelog: list[Message], steps_out: list[KeyedSteps]
    ) -> None:
        state = people.pop(key)
        target = self.graph.key_of(key)
        steps_out.append((target, state.steps))
        state.version += 1
        record = PersonRecord(
            key, state.version, 0, [], [], list(state.journey_ids),
            moved_to=target,
        )  # fmt: skip
        changelog.append(_changelog_message(key, record))
        self.counts["people_moved"] += 1

    async def _send(
        self, changelog: list[Message], steps_out: list[KeyedSteps]
    ) -> list[tuple[int, int]]:
        """Produce both; the changelog records' (partition, offset)."""
        if not changelog and not steps_out:
            return []
        forwarded = [(key.encode(), (key, steps)) for key, steps in steps_out]

        async def send() -> list[tuple[int, int]]:
            positions, _ = await asyncio.gather(
                produce_all(self.producer, self.topics.journeys, changelog),
                produce_bundles(
                    self.producer,
                    self.topics.journey_steps,
                    forwarded,
                    encode_keyed_steps,
                    STEPS_HEADERS,
                ),
            )
            return positions

        return await with_backoff(send, is_transient=is_transient, what="produce journey changes")

    def stats(self) -> dict[str, Any]:
        return {
            **self.counts,
            "people_in_memory": sum(len(people) for people in self.people.values()),
            "people_evicted_now": sum(len(keys) for keys in self.spilled.values()),
            "steps_in_memory": sum(
                len(state.steps) for people in self.people.values() for state in people.values()
            ),
            "watermarks": dict(sorted(self.watermark.items())),
        }


class JourneyStoreHandler:
    """Store stage for journeys: changelog records -> `journeys` rows
    (replacing on version; idempotent), committed after the insert."""

    def __init__(self, store: OffLoopStore) -> None:
        self.store = store
        self.records = 0

    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        pass

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        pass

    async def handle(self, batch: Batch) -> None:
        records = [
            decode_record(record.value)
            for records in batch.values()
            for record in records
            if record.value is not None
        ]
        columns = journey_columns([row for record in records for row in record["rows"]])
        if columns["journey_id"]:
            ranges = sorted(
                f"{tp.partition}:{rs[0].offset}-{rs[-1].offset}" for tp, rs in batch.items()
            )
            await self.store.insert("journeys", columns, dedup_token="journeys:" + ";".join(ranges))
        self.records += len(records)

    def stats(self) -> dict[str, Any]:
        return {"records": self.records}
