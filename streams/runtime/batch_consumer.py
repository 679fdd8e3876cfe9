"""The hot-path loop: consume in batches, process, store, then commit.

A faust agent handles one event at a time and tops out near 10-14k events/s
per process; this loop moves whole batches (aiokafka `getmany`) through pure
batch functions instead. Its guarantees:

- offsets are committed only after the sink accepted what the batches made
  (at-least-once; sinks are idempotent). A stateless handler starts the
  write of each batch and hands back its completion: up to `max_pending`
  writes run while the next batches are read and processed, and offsets are
  committed in order once written, every `flush_interval_s` (a commit is a
  round trip to the broker: once per batch, it held up the loop). A
  stateful handler (the journey stage) may keep what many batches changed
  in memory and `flush` it at that interval, so a person touched by ten
  events in that time is written once, not ten times;
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
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import mode
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError
from aiokafka.structs import ConsumerRecord

from streams.runtime.kafka import stop_within
from streams.runtime.logs import STAGE

log = logging.getLogger(__name__)

Batch = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


FLUSH_DUTY = 4
"""Behind (a backlog) a flush waits this many times the last one's length,
up to this many flush intervals."""

Write = Awaitable[None]
"""The completion of a batch's write: done once the sink acknowledged it."""


class BatchHandler(Protocol):
    async def on_assigned(self, partitions: set[TopicPartition]) -> None: ...
    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        """Called after every write completed and a final flush and commit."""

    async def handle(self, batch: Batch) -> Write | None:
        """Process the batch; return the completion of its write, if it is
        still under way (the consumer goes on meanwhile)."""

    async def flush(self) -> None:
        """Make durable what every batch handled so far changed; their
        offsets are committed when it returns."""


class StatelessHandler:
    """Base of handlers that write each batch (`handle` returns the write):
    no partition state, nothing to flush."""

    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        pass

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        pass

    async def flush(self) -> None:
        pass


@dataclass
class ConsumerStats:
    records: int = 0
    batches: int = 0
    commits_failed: int = 0
    batches_dropped: int = 0
    last_batch_at: float | None = None
    last_commit_at: float = field(default_factory=time.monotonic)
    """time.monotonic() of the last commit (or of the start, before one)."""
    assigned: list[str] = field(default_factory=list)
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("gather", "handle", "wait", "flush", "commit"), 0.0)
    )
    """Wall-clock time spent in each step of the loop (awaits included)."""

    def lag(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int | None]:
        """Records behind the fetch high watermark, from the group's commit;
        None until this member has fetched a partition and read its commit."""
        lag: dict[TopicPartition, int | None] = {}
        for tp in sorted(consumer.assignment()):
            high, done = consumer.highwater(tp), self.committed.get(tp)
            lag[tp] = None if high is None or done is None else max(0, high - done)
        return lag

    def as_dict(self, consumer: AIOKafkaConsumer) -> dict[str, Any]:
        return {
            "lag": {f"{tp.topic}/{tp.partition}": n for tp, n in self.lag(consumer).items()},
            "records": self.records,
            "batches": self.batches,
            "commits_failed": self.commits_failed,
            "batches_dropped_by_rebalance": self.batches_dropped,
            "seconds_since_last_batch": (
                round(time.monotonic() - self.last_batch_at, 3) if self.last_batch_at else None
            ),
            "assigned": self.assigned,
            "seconds": {step: round(spent, 3) for step, spent in self.seconds.items()},
        }


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: BatchConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        async with self.owner.in_flight:  # let the current batch finish and commit
            await self.owner.drain()
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
        flush_interval_s: float = 0.0,
        max_pending: int = 2,
        stop_within_s: float = 12.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.consumer = consumer
        self.topics = list(topics)
        self.handler = handler
        self.max_records = max_records
        self.max_wait = max_wait_ms / 1000
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self.stop_within_s = stop_within_s
        """At stop, how long the batch in flight may take to finish and commit."""
        self.in_flight = asyncio.Lock()
        self.stats = ConsumerStats()
        self._pending: deque[tuple[dict[TopicPartition, int], asyncio.Future[None] | None]] = (
            deque()
        )
        """Handled batches, oldest first: their next offsets and their write."""
        self._written: dict[TopicPartition, int] = {}
        """Next offset per partition of what was handled and written, not
        committed yet."""
        self._flushed_at = time.monotonic()
        self._flush_took = 0.0
        self._behind = False
        """After the last batch, the broker held more than it (a backlog)."""
        self._stopping = False
        self._abandoned = False
        """Stopped mid-batch: what the handler holds may be half done (a
        flush cut short), so nothing more is flushed or committed."""
        self.generation = 0
        """Counts assignments: a batch gathered across one is dropped."""
        self._commits_read = -1  # the generation whose commits stats hold
        self._loop_task: asyncio.Task[None] | None = None
        self.observe_batch: Callable[[float], None] = _ignore
        """Called with the seconds each batch took to handle (metrics)."""
        self.observe_flush: Callable[[float], None] = _ignore
        """Called with the seconds of each flush and its commit (metrics)."""

    @property
    def label(self) -> str:
        return f"{type(self).__name__}[{self.name}]"

    def lag(self) -> dict[TopicPartition, int | None]:
        return self.stats.lag(self.consumer)

    @property
    def writes_in_flight(self) -> int:
        """Batch writes started and not acknowledged yet."""
        return sum(1 for _, write in self._pending if write is not None and not write.done())

    async def on_start(self) -> None:
        self.consumer.subscribe(self.topics, listener=_Rebalance(self))
        await self.consumer.start()
        self.stats.last_commit_at = time.monotonic()
        self._loop_task = asyncio.create_task(
            self._run_or_crash(), name=f"batch-consumer-{self.name}"
        )

    async def _run_or_crash(self) -> None:
        """A failure here is a bug (infrastructure errors are retried inside):
        crash the service, which stops the worker with an error."""
        STAGE.set(self.name)  # log lines of this task (and the writes it starts) name it
        try:
            await self._run()
        except Exception as exc:
            log.critical("%s crashed", self.label, exc_info=exc)
            await self.crash(exc)  # stops the worker; the exception is reported there

    async def on_stop(self) -> None:
        self._stopping = True
        if self._loop_task is not None:
            # Let the batch in flight finish, flush and commit; a crash was
            # already reported by _run_or_crash. A write still retrying at
            # the deadline (ClickHouse down) is abandoned uncommitted: the
            # next start reads its records again.
            _, pending = await asyncio.wait({self._loop_task}, timeout=self.stop_within_s)
            if pending:
                log.warning(
                    "%s: not done within %.0fs of the stop; what it did not commit is read "
                    "again at the next start",
                    self.label,
                    self.stop_within_s,
                )
            if pending:
                self._abandoned = True
            for task in pending:
                task.cancel()
            for _, write in self._pending:
                if write is not None:
                    write.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await stop_within(self.consumer)

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
            started = time.monotonic()
            batch = await self._gather()
            self.stats.seconds["gather"] += time.monotonic() - started
            self._behind = self._is_behind(batch)
            if not batch:
                if self._pending or self._written:
                    async with self.in_flight:
                        await self._settle(wait_above=self.max_pending)
                        if self._flush_due(idle=True):
                            await self.checkpoint()
                continue
            if generation != self.generation:
                await self._rewind(batch)
                continue
            async with self.in_flight:
                if generation != self.generation:
                    await self._rewind(batch)
                    continue
                started = time.monotonic()
                write = await self.handler.handle(batch)
                took = time.monotonic() - started
                self.stats.seconds["handle"] += took
                self.observe_batch(took)
                offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
                self._pending.append((offsets, asyncio.ensure_future(write) if write else None))
                await self._settle(wait_above=self.max_pending)
                if self._flush_due():
                    await self.checkpoint()
                self.stats.records += sum(len(records) for records in batch.values())
                self.stats.batches += 1
                self.stats.last_batch_at = time.monotonic()
        async with self.in_flight:
            await self.drain()

    def _flush_due(self, *, idle: bool = False) -> bool:
        return time.monotonic() >= self._flush_due_at(idle=idle)

    def _flush_due_at(self, *, idle: bool = False) -> float:
        """When the next flush is due (monotonic clock)."""
        # Behind (a backlog: `_is_behind`), a flush that took
        # long is not repeated sooner than FLUSH_DUTY times its length: a
        # stateful stage then flushes less often, each flush covering more
        # (a person folded once for more events, larger inserts). Keeping up
        # with a steady rate, however high, the interval alone decides: what
        # waits for the flush is the delay users see.
        busy_wait = 0.0 if idle or not self._behind else FLUSH_DUTY * self._flush_took
        return self._flushed_at + max(
            self.flush_interval_s, min(busy_wait, FLUSH_DUTY * self.flush_interval_s)
        )

    def _is_behind(self, batch: Batch) -> bool:
        """Whether more records wait on the broker than `batch` holds (by the
        high watermarks of the last fetches): a backlog, not a steady rate."""
        count = waiting = 0
        for tp, records in batch.items():
            count += len(records)
            high = self.consumer.highwater(tp)
            if high is not None:
                waiting += max(0, high - records[-1].offset - 1)
        return waiting > count

    async def _settle(self, *, wait_above: int) -> None:
        """Take in the writes that completed, oldest first, waiting for the
        oldest while more than `wait_above` are under way. A failed write
        raises here: a bug (transient failures are retried inside it)."""
        started = time.monotonic()
        while self._pending:
            offsets, write = self._pending[0]
            if write is not None and not write.done() and len(self._pending) <= wait_above:
                break
            if write is not None:
                await write
            self._pending.popleft()
            self._written.update(offsets)
        self.stats.seconds["wait"] += time.monotonic() - started

    async def drain(self) -> None:
        """Wait for every write, then flush and commit: before partitions go
        and at stop. Called with `in_flight` held."""
        if self._abandoned:
            return
        await self._settle(wait_above=0)
        await self.checkpoint()

    async def checkpoint(self) -> None:
        """Flush the handler, then commit every batch written. Called with
        `in_flight` held."""
        self._flushed_at = time.monotonic()
        if not self._written or self._abandoned:
            return
        offsets, self._written = self._written, {}
        started = time.monotonic()
        await self.handler.flush()
        flushed = time.monotonic()
        self._flush_took = flushed - started
        await self._commit(offsets)
        done = time.monotonic()
        self.stats.seconds["flush"] += flushed - started
        self.stats.seconds["commit"] += done - flushed
        self.observe_flush(done - started)

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
        """Up to max_records, waiting at most max_wait after the first record,
        and never past the moment a flush of what was written falls due: a
        stage whose writes wait for its flush can fill its batches up to it
        (few batches a second at a steady rate) and still flush on time."""
        batch: Batch = {}
        count = 0
        deadline: float | None = None
        while count < self.max_records and not self._stopping:
            now = time.monotonic()
            end = now + self.max_wait if deadline is None else deadline
            if self.flush_interval_s > 0 and (count or self._pending or self._written):
                end = min(end, self._flush_due_at(idle=not count))
            remaining = end - now
            if remaining <= 0:
                break
            fetched = await self.consumer.getmany(
                timeout_ms=max(1, int(remaining * 1000)), max_records=self.max_records - count
            )
            for tp, records in fetched.items():
                batch.setdefault(tp, []).extend(records)
                count += len(records)
            if deadline is None:
                if not count:
                    break
                deadline = time.monotonic() + self.max_wait
        return batch

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self.consumer.commit(offsets)
            self.stats.committed.update(offsets)
            self.stats.last_commit_at = time.monotonic()
        except (CommitFailedError, IllegalStateError, RebalanceInProgressError) as exc:
            # The group moved on: the new owner re-reads from the last commit
            # and the idempotent sinks drop what was already stored.
            self.stats.commits_failed += 1
            log.warning("%s: commit after rebalance refused (%r)", self.label, exc)


def _ignore(seconds: float) -> None:
    pass
