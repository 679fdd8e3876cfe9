"""What ClickHouse holds after a worker ran, read once from the test process.

chdb opens one data directory per process, so the client is closed before
anything else runs; tests then compare these rows with the oracle."""

from __future__ import annotations

from collections import Counter
from typing import Any

from streams.clickhouse.client import Store
from streams.runtime.settings import Settings


class Snapshot:
    def __init__(self, store: Store, db: str) -> None:
        (self.count, self.unique_ids), *_ = store.client.query(
            f"SELECT count(), uniqExact(event_id) FROM {db}.touchpoints"
        ).result_rows
        self.touchpoints: list[dict[str, Any]] = list(
            store.client.query(
                f"SELECT *, toUnixTimestamp64Milli(occurred_at) AS occurred_ms FROM {db}.touchpoints"
            ).named_results()
        )
        self.dead_letters: list[dict[str, Any]] = list(
            store.client.query(f"SELECT * FROM {db}.deadletters").named_results()
        )

    def touchpoints_by_type(self) -> Counter[tuple[str, str]]:
        return Counter((row["channel"], row["event_type"]) for row in self.touchpoints)

    def dead_letters_by_reason(self) -> Counter[tuple[str, str]]:
        return Counter((row["channel"], row["reason"]) for row in self.dead_letters)


def snapshot(settings: Settings) -> Snapshot:
    store = Store(settings.clickhouse_url, settings.database)
    try:
        return Snapshot(store, settings.database)
    finally:
        store.close()
