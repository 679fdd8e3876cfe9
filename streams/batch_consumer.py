"""The hot-path loop: consume in batches, process, store, then commit.

A faust agent handles one event at a time and tops out near 10-14k events/s
per process; this loop moves whole batches (aiokafka `getmany`) through pure
batch functions instead. Its guarantees:

- offsets are committed only after the handler returned, i.e. after the
  sink accepted the batch (at-least-once; sinks are idempotent);
- a rebalance waits for the batch in flight, so a partition is never processed
  by two members at once;
- a batch gathered across a rebalance is dropped and its partitions rewound
  to the last commit: its records are read again, by whichever member owns
  their partition now, neither skipped nor handled twice;
- a handler error is a bug: the service crashes and takes the worker down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import mode
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError
from aiokafka.structs import ConsumerRecord

log = logging.getLogger(__name__)

Batch = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


class BatchHandler(Protocol):
    async def on_assigned(self, partitions: set[TopicPartition]) -> None: ...
    async def on_revoked(self, partitions: set[TopicPartition]) -> None: ...
    async def handle(self, batch: Batch) -> None: ...


@dataclass
class ConsumerStats:
    records: int = 0
    batches: int = 0
    commits_failed: int = 0
    batches_dropped: int = 0
    last_batch_at: float | None = None
    assigned: list[str] = field(default_factory=list)
    committed: dict[TopicPartition, int] = field(default_factory=dict)

    def as_dict(self, consumer: AIOKafkaConsumer) -> dict[str, Any]:
        # Records behind the fetch high watermark, from the group's commit;
        # None until this member has fetched a partition and read its commit.
        lag: dict[str, int | None] = {}
        for tp in sorted(consumer.assignment()):
            high, done = consumer.highwater(tp), self.committed.get(tp)
            lag[f"{tp.topic}/{tp.partition}"] = (
                None if high is None or done is None else max(0, high - done)
            )
        return {
            "lag": lag,
            "records": self.records,
            "batches": self.batches,
            "commits_failed": self.commits_failed,
            "batches_dropped_by_rebalance": self.batches_dropped,
            "seconds_since_last_batch": (
                round(time.monotonic() - self.last_batch_at, 3) if self.last_batch_at else None
            ),
            "assigned": self.assigned,
        }


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: BatchConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        async with self.owner.in_flight:  # let the current batch finish and commit
            await self.owner.handler.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self.owner.generation += 1
        # No broker calls here (such as committed()): this runs inside the
        # group coordinator's rebalance and must not wait on it.
        self.owner.stats.assigned = sorted(f"{tp.topic}/{tp.partition}" for tp in assigned)
        await self.owner.handler.on_assigned(set(assigned))


class BatchConsumer(mode.Service):
    def __init__(
        self,
        name: str,
        consumer: AIOKafkaConsumer,
        topics: Sequence[str],
        handler: BatchHandler,
        *,
        max_records: int,
        max_wait_ms: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.consumer = consumer
        self.topics = list(topics)
        self.handler = handler
        self.max_records = max_records
        self.max_wait = max_wait_ms / 1000
        self.in_flight = asyncio.Lock()
        self.stats = ConsumerStats()
        self._stopping = False
        self.generation = 0
        """Counts assignments: a batch gathered across one is dropped."""
        self._commits_read = -1  # the generation whose commits stats hold
        self._loop_task: asyncio.Task[None] | None = None

    @property
    def label(self) -> str:
        return f"{type(self).__name__}[{self.name}]"

    async def on_start(self) -> None:
        self.consumer.subscribe(self.topics, listener=_Rebalance(self))
        await self.consumer.start()
        self._loop_task = asyncio.create_task(
            self._run_or_crash(), name=f"batch-consumer-{self.name}"
        )

    async def _run_or_crash(self) -> None:
        """A failure here is a bug (infrastructure errors are retried inside):
        crash the service, which stops the worker with an error."""
        try:
            await self._run()
        except Exception as exc:
            log.critical("%s crashed", self.label, exc_info=exc)
            await self.crash(exc)  # stops the worker; the exception is reported there

    async def on_stop(self) -> None:
        self._stopping = True
        if self._loop_task is not None:
            # Let the batch in flight finish and commit; a crash was already
            # reported by _run_or_crash.
            _, pending = await asyncio.wait({self._loop_task}, timeout=60)
            for task in pending:
                task.cancel()
        await self.consumer.stop()

    async def _read_commits(self) -> None:
        """The group's commits of newly assigned partitions, for the lag in
        stats (outside the rebalance callbacks, which must not wait on the
        coordinator)."""
        generation = self.generation
        if generation == self._commits_read:
            return
        assigned = self.consumer.assignment()
        self.stats.committed = {
            tp: (await self.consumer.committed(tp)) or 0 for tp in sorted(assigned)
        }
        self._commits_read = generation

    async def _run(self) -> None:
        while not self._stopping:
            await self._read_commits()
            generation = self.generation
            batch = await self._gather()
            if not batch:
                continue
            if generation != self.generation:
                await self._rewind(batch)
                continue
            async with self.in_flight:
                if generation != self.generation:
                    await self._rewind(batch)
                    continue
                await self.handler.handle(batch)
                await self._commit(batch)
                self.stats.records += sum(len(records) for records in batch.values())
                self.stats.batches += 1
                self.stats.last_batch_at = time.monotonic()

    async def _rewind(self, batch: Batch) -> None:
        """Drop a batch gathered across a rebalance and read its partitions
        again from the group's last commit (or, with none yet, from the
        batch's first record), so nothing is skipped or handled twice. A
        partition now owned by another member is left to it."""
        for tp, records in batch.items():
            committed = await self.consumer.committed(tp)
            if tp in self.consumer.assignment():  # no await between check and seek
                self.consumer.seek(tp, committed if committed is not None else records[0].offset)
        self.stats.batches_dropped += 1

    async def _gather(self) -> Batch:
        """Up to max_records, waiting at most max_wait after the first record."""
        batch: Batch = {}
        count = 0
        deadline: float | None = None
        while count < self.max_records and not self._stopping:
            remaining = self.max_wait if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                break
            fetched = await self.consumer.getmany(
                timeout_ms=int(remaining * 1000), max_records=self.max_records - count
            )
            for tp, records in fetched.items():
                batch.setdefault(tp, []).extend(records)
                count += len(records)
            if deadline is None:
                if not count:
                    break
                deadline = time.monotonic() + self.max_wait
        return batch

    async def _commit(self, batch: Batch) -> None:
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        try:
            await self.consumer.commit(offsets)
            self.stats.committed.update(offsets)
        except (CommitFailedError, IllegalStateError, RebalanceInProgressError) as exc:
            # The group moved on: the new owner re-reads from the last commit
            # and the idempotent sinks drop what was already stored.
            self.stats.commits_failed += 1
            log.warning("%s: commit after rebalance refused (%r)", self.label, exc)
