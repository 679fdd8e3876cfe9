"""Journey rows (the journey-rows topic) into ClickHouse `journeys`."""

from __future__ import annotations

from typing import Any

from streams.clickhouse.bundle import decode_bundle
from streams.clickhouse.client import OffLoopStore
from streams.clickhouse.isolate import insert_isolating
from streams.journeys.rows import JOURNEY_COLUMNS
from streams.runtime.batch_consumer import Batch, StatelessHandler, Write
from streams.runtime.failures import FailureBudget


class JourneyStoreHandler(StatelessHandler):
    """Store stage for journeys: row bundles -> `journeys` rows (replacing on
    version; idempotent), committed after the insert. A row ClickHouse
    refuses on its own is counted and logged (never its content) and left
    out: the person's next version writes the journey again."""

    def __init__(self, store: OffLoopStore) -> None:
        self.store = store
        self.rows = 0
        self.refused = 0
        self.budget = FailureBudget("journey-store")

    async def handle(self, batch: Batch) -> Write | None:
        bodies = []
        for records in batch.values():
            for record in records:
                index, body = decode_bundle(record.value)
                if index:
                    bodies.append(body)
                    self.rows += len(index)
        if not bodies:
            return None
        ranges = sorted(
            f"{tp.partition}:{rs[0].offset}-{rs[-1].offset}" for tp, rs in batch.items()
        )
        return self._insert(b"\n".join(bodies), "journeys:" + ";".join(ranges))

    async def _insert(self, rows: bytes, token: str) -> None:
        refused = await insert_isolating(
            self.store, "journeys", JOURNEY_COLUMNS, rows, token=token, budget=self.budget
        )
        self.refused += len(refused)

    def stats(self) -> dict[str, Any]:
        return {"rows": self.rows, "refused": self.refused}
