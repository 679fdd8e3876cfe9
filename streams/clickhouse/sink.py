"""One shape for the sinks that write to ClickHouse, after quix-streams'
`BatchingSink`: a sink's `write` decides what a batch adds (its `Block`s:
table, rows, deduplication token), and `ClickHouseSink.insert` inserts them,
in order, and counts. The decisions stay the sink's own (dedup, lookups); the
insert, the isolation of refused rows and the counters are written once.

A block is data: the sinks fed by a batch consumer hold the blocks of many
batches and insert them as one, on size or time, before the offsets are
committed (`streams.clickhouse.gather.BatchSink`).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiokafka.structs import ConsumerRecord

from streams.clickhouse.client import OffLoopStore
from streams.clickhouse.isolate import Refused, insert_isolating
from streams.runtime.batch_consumer import Batch
from streams.runtime.failures import FailureBudget

In = TypeVar("In")
"""What a sink's `write` takes: a Kafka batch, or the items a stage hands over."""
X = TypeVar("X")
"""What a block carries for the sink's own steps around its insert."""

Columns = Mapping[str, Sequence[Any]]
"""Column-oriented rows: column name -> values."""


@dataclass(frozen=True)
class Table:
    """Where a sink's blocks go. `columns` name the values of a
    JSONCompactEachRow line, in order (column-oriented rows name their own).
    With `isolate`, a row ClickHouse refuses on its own is handed back to the
    sink (`streams.clickhouse.isolate`) and counted; else any refusal raises."""

    name: str
    columns: tuple[str, ...] = ()
    isolate: bool = False


@dataclass(frozen=True)
class Block(Generic[X]):
    """Rows for one insert into `table`: JSONCompactEachRow lines, or columns.
    The same `token` on a retried insert makes ClickHouse store it once: it
    must name the same rows after a restart (it is kept in ClickHouse's
    deduplication window, so its text must not change across upgrades)."""

    table: Table
    rows: bytes | Columns = field(repr=False)
    token: str
    extra: X

    @property
    def count(self) -> int:
        if isinstance(self.rows, bytes):
            return self.rows.count(b"\n") + 1 if self.rows else 0
        return len(next(iter(self.rows.values()), ()))


class ClickHouseSink(ABC, Generic[In, X]):
    """Base of the ClickHouse sinks: `write` (the sink's) turns what it is
    given into blocks; `insert` inserts them in order, around the sink's
    `before` and `after` steps, and counts `rows` and `refused`."""

    def __init__(self, store: OffLoopStore, stage: str) -> None:
        self.store = store
        self.budget = FailureBudget(stage)
        self.rows = 0
        """Rows of the blocks stored or being stored, refused ones included."""
        self.refused = 0

    @abstractmethod
    async def write(self, batch: In) -> Sequence[Block[X]]:
        """The blocks `batch` adds (none: nothing to store)."""

    async def before(self, block: Block[X]) -> None:
        """The sink's step before the block is inserted."""

    async def after(self, block: Block[X], refused: list[Refused]) -> None:
        """The sink's step after it, with the rows refused on their own."""

    def merged(self, extras: list[X]) -> X:
        """What the blocks inserted as one carry, from what each carried (a
        sink whose blocks carry something says how they combine)."""
        if len(extras) > 1 and any(extra is not None for extra in extras):
            raise NotImplementedError(f"{type(self).__name__} does not merge its blocks")
        return extras[0]

    async def insert(self, blocks: Sequence[Block[X]]) -> None:
        """Store the blocks, one after the other. Raises `TooManyFailures`
        past the budget of refused rows (nothing after is inserted)."""
        for block in blocks:
            self.rows += block.count
            await self.before(block)
            refused = await self._insert_one(block)
            self.refused += len(refused)
            await self.after(block, refused)

    async def _insert_one(self, block: Block[X]) -> list[Refused]:
        table, rows, token = block.table, block.rows, block.token
        if not isinstance(rows, bytes):
            await self.store.insert(table.name, rows, dedup_token=token)
        elif table.isolate:
            return await insert_isolating(
                self.store, table.name, table.columns, rows, token=token, budget=self.budget
            )
        else:
            await self.store.insert_rows(table.name, table.columns, rows, dedup_token=token)
        return []

    def stats(self) -> dict[str, Any]:
        return {"rows": self.rows, "refused": self.refused}


def records(batch: Batch) -> Iterator[ConsumerRecord[bytes, bytes]]:
    """The batch's records, partition by partition."""
    for partition in batch.values():
        yield from partition


def offset_ranges(batch: Batch, *, topic: bool = False) -> list[str]:
    """`partition:first-last` of each partition of the batch (`topic:` before
    it with `topic`), sorted: the records a block was made of."""
    return sorted(
        (f"{tp.topic}:" if topic else "") + f"{tp.partition}:{rs[0].offset}-{rs[-1].offset}"
        for tp, rs in batch.items()
    )


def digest(text: str) -> str:
    """A fixed-size token part for text that may be long."""
    return hashlib.sha256(text.encode()).hexdigest()
