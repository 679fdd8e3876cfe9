"""Mirror of the dead-letter topic into ClickHouse `deadletters`, for BI.

A batch consumer stage of the store role (low volume, but faust's consumer
waits 1.5 s a fetch, which a broker that does not answer early, such as
tansu, always makes it wait). A rejected record is identified by its source
position; a position stored already (the ingest batch that rejected it was
retried), or held for an insert, is not stored again. The letters of many
batches are inserted as one block (`streams.clickhouse.gather`); read again
after a crash, the positions stored are found in ClickHouse.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from streams.clickhouse.client import OffLoopStore
from streams.clickhouse.gather import DEFAULT_LIMITS, BatchSink, InsertLimits
from streams.clickhouse.isolate import Refused
from streams.clickhouse.sink import Block, Table, digest, records
from streams.deadletters.letter import DeadLetter, decode_dead_letter
from streams.deadletters.rows import dead_letter_columns
from streams.runtime.batch_consumer import Batch

log = logging.getLogger(__name__)

DeadLetterRecord = tuple[bytes | None, Sequence[tuple[str, bytes]], int, int]
"""(value, headers, dead-letter partition, dead-letter offset)"""

DEADLETTERS = Table("deadletters")

Position = tuple[str, int, int]
"""A rejected record's source topic, partition and offset."""


class DeadLetterSink(BatchSink[list[Position]]):
    def __init__(self, store: OffLoopStore, limits: InsertLimits = DEFAULT_LIMITS) -> None:
        super().__init__(store, "deadletter-store", limits)
        self.duplicates = 0
        self.foreign = 0
        self._held: set[Position] = set()
        """Positions held or being inserted: ClickHouse does not know them yet."""

    @property
    def stored(self) -> int:
        return self.rows

    async def write(self, batch: Batch) -> list[Block[list[Position]]]:
        return await self.letters(
            (record.value, record.headers, record.partition, record.offset)
            for record in records(batch)
        )

    async def store_batch(self, wire: Iterable[DeadLetterRecord]) -> None:
        """Store these dead letters now."""
        self.held.add(await self.letters(wire))
        await self.flush()

    def merged(self, extras: list[list[Position]]) -> list[Position]:
        return [position for extra in extras for position in extra]

    async def after(self, block: Block[list[Position]], refused: list[Refused]) -> None:
        self._held.difference_update(block.extra)

    async def letters(self, batch: Iterable[DeadLetterRecord]) -> list[Block[list[Position]]]:
        """The block of the dead letters not stored nor held yet."""
        letters: dict[Position, tuple[DeadLetter, int, int]] = {}
        for value, headers, partition, offset in batch:
            items = list(headers)
            if not any(name == "cx.dlq.version" for name, _ in items):
                # Written by someone else: nothing to mirror, but say so.
                self.foreign += 1
                log.warning("dead-letter record %d/%d has no cx.dlq headers", partition, offset)
                continue
            letter = decode_dead_letter(value, items)
            position = (letter.source_topic, letter.source_partition, letter.source_offset)
            if position in letters or position in self._held:
                self.duplicates += 1
                continue
            letters[position] = (letter, partition, offset)
        if not letters:
            return []
        stored = {
            (str(t), int(p), int(o))
            for t, p, o in await self.store.query("stored_dead_letters", positions=list(letters))
        }
        fresh = {position: entry for position, entry in letters.items() if position not in stored}
        self.duplicates += len(letters) - len(fresh)
        if not fresh:
            return []
        self._held.update(fresh)
        entries = list(fresh.values())
        return [Block(DEADLETTERS, dead_letter_columns(entries), _token(entries), list(fresh))]

    def stats(self) -> dict[str, Any]:
        return {"stored": self.stored, "duplicates": self.duplicates, "foreign": self.foreign}


def _token(fresh: Sequence[tuple[DeadLetter, int, int]]) -> str:
    """Names the dead letters by their own positions on the dead-letter topic."""
    return "deadletters:" + digest(";".join(f"{p}:{o}" for _, p, o in fresh))
