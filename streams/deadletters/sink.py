"""Mirror of the dead-letter topic into ClickHouse `deadletters`, for BI.

A batch consumer stage of the store role (low volume, but faust's consumer
waits 1.5 s a fetch, which a broker that does not answer early, such as
tansu, always makes it wait). A rejected record is identified by its source
position; a position stored already (the ingest batch that rejected it was
retried) is not stored again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from streams.clickhouse.client import OffLoopStore
from streams.clickhouse.sink import Block, ClickHouseSink, Table, digest, records
from streams.deadletters.letter import DeadLetter, decode_dead_letter
from streams.deadletters.rows import dead_letter_columns
from streams.runtime.batch_consumer import Batch, StatelessHandler

log = logging.getLogger(__name__)

DeadLetterRecord = tuple[bytes | None, Sequence[tuple[str, bytes]], int, int]
"""(value, headers, dead-letter partition, dead-letter offset)"""

DEADLETTERS = Table("deadletters")


class DeadLetterSink(ClickHouseSink[Iterable[DeadLetterRecord], None], StatelessHandler):
    def __init__(self, store: OffLoopStore) -> None:
        super().__init__(store, "deadletter-store")
        self.duplicates = 0
        self.foreign = 0

    @property
    def stored(self) -> int:
        return self.rows

    async def handle(self, batch: Batch) -> None:
        """Store the batch's dead letters (before the next batch: a repeat
        must find them stored)."""
        await self.store_batch(
            (record.value, record.headers, record.partition, record.offset)
            for record in records(batch)
        )

    async def store_batch(self, wire: Iterable[DeadLetterRecord]) -> None:
        await self.insert(await self.write(wire))

    async def write(self, batch: Iterable[DeadLetterRecord]) -> list[Block[None]]:
        letters: dict[tuple[str, int, int], tuple[DeadLetter, int, int]] = {}
        for value, headers, partition, offset in batch:
            items = list(headers)
            if not any(name == "cx.dlq.version" for name, _ in items):
                # Written by someone else: nothing to mirror, but say so.
                self.foreign += 1
                log.warning("dead-letter record %d/%d has no cx.dlq headers", partition, offset)
                continue
            letter = decode_dead_letter(value, items)
            position = (letter.source_topic, letter.source_partition, letter.source_offset)
            if position in letters:
                self.duplicates += 1
                continue
            letters[position] = (letter, partition, offset)
        if not letters:
            return []
        stored = {
            (str(t), int(p), int(o))
            for t, p, o in await self.store.query("stored_dead_letters", positions=list(letters))
        }
        fresh = [entry for position, entry in letters.items() if position not in stored]
        self.duplicates += len(letters) - len(fresh)
        if not fresh:
            return []
        return [Block(DEADLETTERS, dead_letter_columns(fresh), _token(fresh), None)]

    def stats(self) -> dict[str, Any]:
        return {"stored": self.stored, "duplicates": self.duplicates, "foreign": self.foreign}


def _token(fresh: Sequence[tuple[DeadLetter, int, int]]) -> str:
    """Names the dead letters by their own positions on the dead-letter topic."""
    return "deadletters:" + digest(";".join(f"{p}:{o}" for _, p, o in fresh))
