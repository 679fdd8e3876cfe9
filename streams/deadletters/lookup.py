"""Dead letters read back from the ClickHouse table `deadletters`: what
`cx deadletters` prints and the worker's `GET /deadletters` answers (the
worker holds an embedded store; the CLI asks it then). Blocking."""

from __future__ import annotations

from typing import Any

import orjson

from streams.clickhouse.client import Store
from streams.deadletters.select import Ask, position_of


def answer(store: Store, ask: Ask) -> dict[str, Any]:
    """`count`: {"counts": [{bucket_ms, reason, channel, dead_letters}], "total"};
    `list`: {"letters": [row, ...] newest first, "matching": how many match}.
    JSON-ready either way."""
    params = ask.filters.sql_params()
    counts = store.query_named("deadletters_count", bucket_ms=ask.bucket_ms, **params)
    for row in counts:
        row["bucket_ms"] = int(row["bucket_ms"])
        row["dead_letters"] = int(row["dead_letters"])
    total = sum(row["dead_letters"] for row in counts)
    if ask.view == "count":
        return {"counts": counts, "total": total}
    letters = store.query_named("deadletters_list", limit=ask.limit, **params)
    return {"letters": [_readable(row) for row in letters], "matching": total}


def _readable(row: dict[str, Any]) -> dict[str, Any]:
    """A `deadletters_list` row as JSON, with its id and its errors parsed."""
    for name in _INTEGERS:
        row[name] = int(row[name])
    row["id"] = str(position_of(row))
    row["errors"] = orjson.loads(row["errors"])
    row["reasons"] = list(row["reasons"])
    return row


_INTEGERS = (
    "deadletter_partition",
    "deadletter_offset",
    "source_partition",
    "source_offset",
    "payload_bytes",
)
