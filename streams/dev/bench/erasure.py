"""What erasing one person costs on a store of N touchpoints (default a
million): `cx bench erasure [--touchpoints N]`.

The store is filled by ClickHouse itself (INSERT ... SELECT FROM numbers):
N / 10 people of ten touchpoints each over three months, three identifiers,
three identity-map rows, two links and two journeys each; then merged
(OPTIMIZE FINAL), as a store that has run a while is. Then three people are
erased one after the other, each timed: `erase_rows` (count and lightweight
delete in every table) and `purge` (the parts holding them rewritten)."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from streams.clickhouse.client import OffLoopStore, Store
from streams.clickhouse.migrate import migrate
from streams.erasure.store import ERASED_TABLES, ErasedPerson, erase_rows, purge

_FILL = (
    """INSERT INTO {db}.touchpoints (event_id, channel, event_type, stage, occurred_at,
        received_at, person_key, customer_key, customer_id, anonymous_id, email_hash,
        store_id, session_id, properties)
    SELECT toString(generateUUIDv4()), ['web', 'app', 'pos'][number % 3 + 1], 'page_view',
        'awareness', toDateTime64('2026-09-01', 3, 'UTC') + toIntervalSecond(number * 7),
        toDateTime64('2026-09-01', 3, 'UTC') + toIntervalSecond(number * 7 + 1),
        if(number % 2, concat('customer_id:C', toString(number % {people})),
           concat('anonymous_id:ck-', toString(number % {people}))),
        concat('customer_id:C', toString(number % {people})),
        if(number % 2, concat('C', toString(number % {people})), ''),
        concat('ck-', toString(number % {people})),
        if(number % 2, hex(MD5(toString(number % {people}))), ''),
        'tehran-04', toString(number), '{{}}'
    FROM numbers({start}, {rows})""",
    """INSERT INTO {db}.identity_map
    SELECT arrayJoin([concat('customer_id:C', toString(number)),
                      concat('anonymous_id:ck-', toString(number)),
                      concat('email_hash:', hex(MD5(toString(number))))]),
           concat('customer_id:C', toString(number)), number, now64(3)
    FROM numbers({people})""",
    """INSERT INTO {db}.identity_links (log_offset, seq, event_id, channel, decision, reason,
        identifier, anchor, from_key, to_key)
    SELECT number, seq, toString(number), 'web', 'linked', 'seen_together', identifier,
        concat('customer_id:C', toString(number)), identifier,
        concat('customer_id:C', toString(number))
    FROM numbers({people})
    ARRAY JOIN [0, 1] AS seq, [concat('anonymous_id:ck-', toString(number)),
                                concat('email_hash:', hex(MD5(toString(number))))] AS identifier""",
    """INSERT INTO {db}.journeys (customer_key, journey_id, version, is_deleted, touchpoints)
    SELECT concat('customer_id:C', toString(number)), toString(j), 1, 0, 5
    FROM numbers({people}) ARRAY JOIN [1, 2] AS j""",
)


def _fill(store: Store, touchpoints: int) -> None:
    people = touchpoints // 10
    db = f"`{store.database}`"
    step = 100_000
    for start in range(0, touchpoints, step):
        rows = min(step, touchpoints - start)
        store.client.command(_FILL[0].format(db=db, people=people, start=start, rows=rows))
    for statement in _FILL[1:]:
        store.client.command(statement.format(db=db, people=people))
    for table in ERASED_TABLES:
        store.client.command(f"OPTIMIZE TABLE {db}.`{table}` FINAL")


def _person(store: Store, index: int) -> ErasedPerson:
    (email,) = store.client.query(f"SELECT hex(MD5('{index}'))").result_rows[0]
    return ErasedPerson(
        f"bench-{index}",
        f"customer_id:C{index}",
        (f"anonymous_id:ck-{index}", f"email_hash:{email}"),
    )


async def _erase(store: Store, people: list[int]) -> list[dict[str, Any]]:
    offloop = OffLoopStore(store)
    runs = []
    for index in people:
        started = time.perf_counter()
        removed = await erase_rows(offloop, _person(store, index))
        erased = time.perf_counter()
        await purge(offloop, ERASED_TABLES)
        purged = time.perf_counter()
        runs.append({"removed": removed, "erase_s": erased - started, "purge_s": purged - erased})
    await offloop.close()
    return runs


def measure(touchpoints: int, folder: Path) -> dict[str, Any]:
    store = Store(f"chdb://{folder / 'clickhouse'}", "cx_bench")
    migrate(store)
    started = time.perf_counter()
    _fill(store, touchpoints)
    filled = time.perf_counter() - started
    runs = asyncio.run(_erase(store, [7, touchpoints // 20, touchpoints // 10 - 3]))
    return {
        "touchpoints": touchpoints,
        "fill_s": round(filled, 1),
        "runs": runs,
        "erase_s_median": round(statistics.median(r["erase_s"] for r in runs), 3),
        "purge_s_median": round(statistics.median(r["purge_s"] for r in runs), 3),
    }
