"""How long ClickHouse keeps raw rows: a TTL per table, from the settings.

The store worker applies it at start, after the migrations: it reads the
TTL each table has and changes only what differs (MODIFY TTL, or REMOVE TTL
for 0, keep forever). Touchpoints expire by event time, journeys by their
last touch, dead letters by when they were read (docs/operations.md#retention
says why). ClickHouse drops expired rows at merges, not at once.

It also records how far back each table may have lost rows (the table
`retention_horizons`), so that the metrics check at start
(`streams.clickhouse.reconcile`) never rebuilds a month of metrics_minute
from touchpoints that expired.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.clickhouse import sql
from streams.clickhouse.client import Store
from streams.runtime.settings import Settings

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
_TTL = re.compile(r" TTL (.+?)(?: SETTINGS |$)")
_OURS = re.compile(r"^toDateTime\((\w+)\) \+ toIntervalDay\((\d+)\)$")


@dataclass(frozen=True, slots=True)
class Retention:
    """One table's TTL: rows expire `days` after `column`; 0 keeps them."""

    table: str
    column: str
    days: int

    @property
    def expression(self) -> str:
        """The TTL as ClickHouse shows it in the table's engine clause."""
        return f"toDateTime({self.column}) + toIntervalDay({self.days})" if self.days else ""


def retention_plan(settings: Settings) -> list[Retention]:
    """The TTL of every table that has one. The rest (metrics, identity,
    alerts, positions) is kept: metrics are anonymous counts, and the
    identity tables are the erasure work's."""
    return [
        Retention("touchpoints", "occurred_at", settings.touchpoint_retention_days),
        Retention("journeys", "last_at", settings.journey_retention_days),
        Retention("deadletters", "received_at", settings.deadletter_store_retention_days),
    ]


def current_ttls(store: Store, tables: list[str]) -> dict[str, str]:
    """Table -> its TTL expression as ClickHouse normalised it ('' for none)."""
    found = {}
    for name, engine in store.query("table_ttls", tables=tables):
        match = _TTL.search(engine)
        found[name] = match.group(1) if match else ""
    return found


def days_of(expression: str) -> int | None:
    """The days of a TTL this module set; 0 for none; None for another one."""
    if not expression:
        return 0
    match = _OURS.match(expression)
    return int(match.group(2)) if match else None


def apply_retention(store: Store, settings: Settings) -> list[str]:
    """Set each table's TTL to the settings' where it differs, and raise its
    horizon; returns the tables changed."""
    plan = retention_plan(settings)
    found = current_ttls(store, [r.table for r in plan])
    now_ms = int(time.time() * 1000)
    changed = []
    for wanted in plan:
        had = found.get(wanted.table, "")
        horizons = [now_ms - days * DAY_MS for days in (days_of(had), wanted.days) if days]
        if days_of(had) is None:  # a TTL set by hand: it may have expired anything
            horizons.append(now_ms)
        if horizons and max(horizons) > retention_horizon_ms(store, wanted.table):
            at = datetime.fromtimestamp(max(horizons) / 1000, tz=UTC)
            store.insert("retention_horizons", {"table": [wanted.table], "horizon": [at]})
        if had == wanted.expression:
            continue
        if wanted.days:
            statement = sql.query("ttl_set").replace("{days:UInt32}", str(int(wanted.days)))
            store.command(statement, table=wanted.table, column=wanted.column)
        else:
            store.command(sql.query("ttl_remove"), table=wanted.table)
        changed.append(wanted.table)
        log.info(
            "clickhouse: %s now keeps rows %s (had %s)",
            wanted.table,
            f"{wanted.days} days after {wanted.column}" if wanted.days else "forever",
            had or "no TTL",
        )
    return changed


def retention_horizon_ms(store: Store, table: str) -> int:
    """Epoch ms up to which a TTL may have expired rows of `table`; 0: none ever."""
    ((horizon,),) = store.query("retention_horizon", table=table)
    return int(horizon)
