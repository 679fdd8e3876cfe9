"""Rows gathered across batches, inserted as one block per table.

ClickHouse asks for about one insert a second per table, each of many rows:
every insert writes a new part (and runs the metrics view) at a cost of
about the same whatever its size, and many small parts fall behind in
merges (`TOO_MANY_PARTS` on a server; docs/performance.md). A `BatchSink`
therefore holds the blocks of the batches it is handed and inserts them as
one block per table: once they reach `InsertLimits` (the insert is the
batch's write), and at every flush of its batch consumer, whose interval is
the insert interval (`CX_INSERT_INTERVAL_MS`).

The merged block's token names the blocks' tokens, in order: a retry in
this process (`OffLoopStore` retries the same call) stores it once. After a
crash the batches are read again with other boundaries and the tokens
differ: every sink is idempotent by its own means (touchpoints by event id,
journeys by version, identity by log position, dead letters by source
position), never by the token alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from streams.clickhouse.client import OffLoopStore
from streams.clickhouse.sink import Block, ClickHouseSink, Columns, Table, digest
from streams.runtime.batch_consumer import Batch, StatelessHandler, Write

X = TypeVar("X")


@dataclass(frozen=True)
class InsertLimits:
    """How much a sink holds before it inserts without waiting for the
    interval (CX_INSERT_MAX_ROWS, CX_INSERT_MAX_BYTES): a backlog's inserts
    grow to this. Bytes are those of JSON lines; column blocks count rows."""

    rows: int = 100_000
    bytes: int = 16 * 1024 * 1024


DEFAULT_LIMITS = InsertLimits()


class Gathered(Generic[X]):
    """The blocks a sink holds, per table, in the order they came."""

    def __init__(self, limits: InsertLimits) -> None:
        self.limits = limits
        self._tables: dict[Table, list[Block[X]]] = {}
        self.rows = 0
        self.bytes = 0

    def __bool__(self) -> bool:
        return bool(self._tables)

    @property
    def full(self) -> bool:
        return self.rows >= self.limits.rows or self.bytes >= self.limits.bytes

    def add(self, blocks: Sequence[Block[X]]) -> None:
        for block in blocks:
            self._tables.setdefault(block.table, []).append(block)
            self.rows += block.count
            self.bytes += len(block.rows) if isinstance(block.rows, bytes) else 0

    def take(self, merge_extras: Callable[[list[X]], X]) -> list[Block[X]]:
        """One block per table (tables in the order they first came); nothing
        is held any more."""
        merged = [
            merge(blocks, merge_extras([block.extra for block in blocks]))
            for blocks in self._tables.values()
        ]
        self._tables, self.rows, self.bytes = {}, 0, 0
        return merged


def merge(blocks: Sequence[Block[X]], extra: X) -> Block[X]:
    """`blocks` of one table as one block: their rows in order, and a token
    naming their tokens. A single block keeps its token."""
    first = blocks[0]
    if len(blocks) == 1:
        return Block(first.table, first.rows, first.token, extra)
    token = f"{first.table.name}:{len(blocks)}:" + digest("\n".join(b.token for b in blocks))
    return Block(first.table, _joined(blocks), token, extra)


def _joined(blocks: Sequence[Block[X]]) -> bytes | Columns:
    lines: list[bytes] = []
    columns: dict[str, list[Any]] = {}
    for block in blocks:
        if isinstance(block.rows, bytes):
            lines += [block.rows] if block.rows else []
        else:
            for name, values in block.rows.items():
                columns.setdefault(name, []).extend(values)
    if lines and columns:
        raise TypeError(f"{blocks[0].table.name}: JSON lines and columns in one insert")
    return columns if columns else b"\n".join(lines)


class BatchSink(ClickHouseSink[Batch, X], StatelessHandler):
    """A sink fed by a batch consumer that gathers across its batches.

    `handle` adds the batch's blocks; once they reach the limits, their
    insert is the batch's write. `flush` (the consumer runs it before every
    commit) inserts what is held and waits for every insert under way, so no
    offset is committed before the insert that covers its rows."""

    def __init__(self, store: OffLoopStore, stage: str, limits: InsertLimits) -> None:
        super().__init__(store, stage)
        self.held: Gathered[X] = Gathered(limits)
        self._under_way: list[asyncio.Future[None]] = []

    async def handle(self, batch: Batch) -> Write | None:
        self.held.add(await self.write(batch))
        return self._insert_held() if self.held.full else None

    async def flush(self) -> None:
        if self.held:
            self._insert_held()
        under_way, self._under_way = self._under_way, []
        # A failed insert raises here too, so nothing it held is committed.
        await asyncio.gather(*under_way)

    def _insert_held(self) -> asyncio.Future[None]:
        insert = asyncio.ensure_future(self.insert(self.held.take(self.merged)))
        self._under_way.append(insert)
        return insert
