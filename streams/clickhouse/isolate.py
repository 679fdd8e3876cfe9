"""Insert a block of rows so that one row ClickHouse refuses cannot stop the
sink: the rows are split in halves until the refused ones stand alone, and
those are handed back to be set aside; the rest are stored.

Only an error that says "this data is wrong" splits a block. Infrastructure
errors (unreachable, disk full, read-only) are retried by `OffLoopStore`
until they heal; each half keeps a deduplication token derived from the
block's, so a half retried after a crash is stored once. Splitting stops
when the `FailureBudget` says the refusals are no longer rare: a schema
that fails every row crashes the worker after a few inserts, not after one
per row.
"""

from __future__ import annotations

from collections.abc import Sequence

from clickhouse_connect.driver.exceptions import DatabaseError

from streams.clickhouse.client import OffLoopStore, error_summary
from streams.runtime.failures import FailureBudget

Refused = tuple[bytes, DatabaseError]
"""A row ClickHouse refused on its own, and its error."""


async def insert_isolating(
    store: OffLoopStore,
    table: str,
    columns: Sequence[str],
    rows: bytes,
    *,
    token: str,
    budget: FailureBudget,
) -> list[Refused]:
    """Insert JSONCompactEachRow `rows`; returns the rows refused on their
    own (none, nearly always). Raises `TooManyFailures` past the budget."""
    try:
        await store.insert_rows(table, columns, rows, dedup_token=token)
    except DatabaseError as exc:  # not transient: those are retried inside
        refused: list[Refused] = []
        await _halves(store, table, columns, rows.split(b"\n"), token, exc, budget, refused)
        return refused
    budget.passed(rows.count(b"\n") + 1)
    return []


async def _halves(
    store: OffLoopStore,
    table: str,
    columns: Sequence[str],
    lines: list[bytes],
    token: str,
    error: DatabaseError,
    budget: FailureBudget,
    refused: list[Refused],
) -> None:
    """`lines` were refused together with `error`: insert them half by
    half, in order, down to the rows refused alone."""
    if len(lines) == 1:
        refused.append((lines[0], error))
        budget.fail(f"a row of {table}", error, error_summary(error))
        return
    middle = len(lines) // 2
    for part, suffix in ((lines[:middle], "a"), (lines[middle:], "b")):
        half = f"{token}/{suffix}"
        try:
            await store.insert_rows(table, columns, b"\n".join(part), dedup_token=half)
        except DatabaseError as exc:
            await _halves(store, table, columns, part, half, exc, budget, refused)
            continue
        budget.passed(len(part))
