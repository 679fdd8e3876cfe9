"""Journey rows (the journey-rows topic) into ClickHouse `journeys`."""

from __future__ import annotations

from streams.clickhouse.bundle import decode_bundle
from streams.clickhouse.client import OffLoopStore
from streams.clickhouse.gather import DEFAULT_LIMITS, BatchSink, InsertLimits
from streams.clickhouse.sink import Block, Table, offset_ranges, records
from streams.journeys.rows import JOURNEY_COLUMNS
from streams.runtime.batch_consumer import Batch

JOURNEYS = Table("journeys", JOURNEY_COLUMNS, isolate=True)


class JourneySink(BatchSink[None]):
    """Store stage for journeys: row bundles -> `journeys` rows, the rows of
    many batches in one insert, committed after it. Idempotent by version
    (ReplacingMergeTree): rows inserted again after a crash, in blocks of
    other boundaries, replace themselves. A row ClickHouse refuses on its
    own is counted and logged (never its content) and left out: the
    person's next version writes the journey again."""

    def __init__(self, store: OffLoopStore, limits: InsertLimits = DEFAULT_LIMITS) -> None:
        super().__init__(store, "journey-store", limits)

    async def write(self, batch: Batch) -> list[Block[None]]:
        bundles = (decode_bundle(record.value) for record in records(batch))
        bodies = [body for index, body in bundles if index]
        if not bodies:
            return []
        token = "journeys:" + ";".join(offset_ranges(batch))
        return [Block(JOURNEYS, b"\n".join(bodies), token, None)]
