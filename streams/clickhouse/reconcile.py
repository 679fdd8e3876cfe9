"""Rebuild the months of `metrics_minute` that do not add up.

The materialized view fills `metrics_minute` in the same INSERT as
`touchpoints`, but not atomically: the engine writes the table's part, then
the view's. When the embedded engine dies between the two (the worker is
killed mid-insert), the touchpoints are stored and their metrics are not,
and the store, which finds the touchpoints stored, never inserts them again.
So at start, before anything is inserted, the worker compares each month's
touchpoints with the events its metrics count, and rebuilds the months that
differ from the touchpoints, with the view's own SELECT.

Only where this worker is the only writer (the embedded engine): on a server,
another worker's inserts could land between the drop and the rebuild.

Never a month a touchpoints TTL may have reached (up to its horizon,
`streams.clickhouse.retention`): there the metrics count more events than
the rows left, as they should, and a rebuild would lose the counts of the
rows that expired.
"""

from __future__ import annotations

import logging
import time

from streams.clickhouse.client import Store
from streams.clickhouse.retention import retention_horizon_ms

log = logging.getLogger(__name__)


def reconcile_metrics(store: Store) -> list[int]:
    """Rebuild every month of metrics_minute that does not count its month's
    touchpoints, after the months a TTL may have reached; returns those
    months (YYYYMM)."""
    horizon_ms = retention_horizon_ms(store, "touchpoints")
    reached = 0
    if horizon_ms:
        at = time.gmtime(horizon_ms / 1000)
        reached = at.tm_year * 100 + at.tm_mon
    months = [int(month) for (month,) in store.query("metrics_off_months") if month > reached]
    if not months:
        return []
    ((select,),) = store.query("metrics_view_select")
    for month in months:
        store.command(
            "ALTER TABLE {database:Identifier}.metrics_minute DROP PARTITION {month:UInt32}",
            month=month,
        )
        # Never taken for a repeat of an earlier block (the table keeps a
        # deduplication window for retried inserts, migration 011).
        store.command(
            "INSERT INTO {database:Identifier}.metrics_minute "
            f"SELECT * FROM ({select}) WHERE toYYYYMM(minute) = {{month:UInt32}} "
            "SETTINGS insert_deduplicate = 0",
            month=month,
        )
        # Rebuilt from the touchpoints there are: the erased ones count no more.
        store.command(
            "DELETE FROM {database:Identifier}.erased_touchpoints WHERE month = {month:UInt32}",
            month=month,
        )
        log.warning(
            "metrics of %d did not add up to its touchpoints (a crash mid-insert): rebuilt", month
        )
    return months
