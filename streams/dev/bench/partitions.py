"""What a backfill's insert costs: a block of touchpoints spanning many months
inserted as one block (the worker's way: ClickHouse's per-block partition
limit lifted) against one insert per month (the other way around the limit),
on the embedded engine, the metrics view included. Each arm runs on its own
fresh database in the same process, alternately, and the best of `rounds`
counts."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from streams.clickhouse.client import Store
from streams.clickhouse.migrate import migrate

_COLUMNS = ["event_id", "channel", "event_type", "occurred_at", "received_at", "properties"]
_MONTH_S = 31 * 86_400
_START_S = 946_684_800  # 2000-01-01


def _rows(count: int, months: int, tag: str) -> list[tuple[int, bytes]]:
    """(month, JSON row) of `count` page views spread over `months` months."""
    return [
        (
            n % months,
            orjson.dumps(
                [f"{tag}-{n}", "web", "page_view", _START_S + (n % months) * _MONTH_S + n, 0, {}]
            ),
        )
        for n in range(count)
    ]


def _one_block(store: Store, rows: list[tuple[int, bytes]]) -> None:
    store.insert_rows("touchpoints", _COLUMNS, b"\n".join(r for _, r in rows), dedup_token=None)


def _per_month(store: Store, rows: list[tuple[int, bytes]]) -> None:
    months: dict[int, list[bytes]] = {}
    for month, row in rows:
        months.setdefault(month, []).append(row)
    for lines in months.values():
        store.insert_rows("touchpoints", _COLUMNS, b"\n".join(lines), dedup_token=None)


def measure(
    rows: int = 10_000, spans: tuple[int, ...] = (1, 12, 120), rounds: int = 3
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="cx-bench-partitions-"))
    store = Store(f"chdb://{folder / 'clickhouse'}", "cx_bench")
    figures: dict[str, Any] = {"rows": rows}
    try:
        migrate(store)
        for months in spans:
            best = {"one_block": float("inf"), "per_month": float("inf")}
            for attempt in range(rounds):
                for arm, insert in (("one_block", _one_block), ("per_month", _per_month)):
                    batch = _rows(rows, months, f"{arm}-{months}-{attempt}")
                    started = time.perf_counter()
                    insert(store, batch)
                    best[arm] = min(best[arm], time.perf_counter() - started)
            figures[f"{months}_months_one_block_ms"] = round(best["one_block"] * 1000, 1)
            figures[f"{months}_months_per_month_ms"] = round(best["per_month"] * 1000, 1)
            figures[f"{months}_months_per_month_over_one_block"] = round(
                best["per_month"] / best["one_block"], 2
            )
        ((stored, parts),) = store.client.query(
            "SELECT count(), uniqExact(toYYYYMM(occurred_at)) FROM cx_bench.touchpoints"
        ).result_rows
        figures["rows_stored"], figures["months_stored"] = int(stored), int(parts)
    finally:
        store.close()
    return figures
