"""The ClickHouse side of erasing one person (GDPR art. 17).

`erase_rows` removes every row that holds any of the person's identifiers or
keys, from every table that holds them:

- touchpoints: person_key, customer_key, or an identifier column
  (customer_id, loyalty_id, phone_hash, email_hash, anonymous_id);
- journeys: customer_key (every version);
- identity_map: identifier or customer_key;
- identity_links: identifier, anchor, from_key, to_key, or named in detail;
- deadletters: they hold no identifier (the original record stays on the
  dead-letter topic); those whose event is also one of the person's stored
  touchpoints are matched by event id.

Nothing else holds a person. alerts keep rule, slice (channel, store,
stage, dimension) and a context of pain-point counts by channel, store and
event type (alert_context.sql); metrics_minute, the materialized view's
target, counts events by minute, channel, store, event type, stage, survey,
dimension and currency: anonymous aggregates, which stay. people_daily,
customer_touchpoints, current_journeys, churn_risk and the other views read
the tables above and follow the deletes. schema_migrations, sink_positions
and erasures hold no person.

Deletes are lightweight (`DELETE FROM`, which ClickHouse 26 runs as a
mutation of the hidden `_row_exists` column, waited for): the rows are
invisible to every query as soon as `erase_rows` returns, and still in the
parts on disk until those are merged or rewritten; `purge` rewrites them now.
The identifiers are put in a memory table named in the statements, not
written into them: ClickHouse keeps the text of every mutation (beside the
parts, and in system.mutations), which would keep the identifiers on disk.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streams.clickhouse import sql
from streams.clickhouse.client import OffLoopStore, Store
from streams.identity.rules import KINDS

ERASED_TABLES: tuple[str, ...] = (
    "deadletters",
    "journeys",
    "touchpoints",
    "identity_links",
    "identity_map",
)
"""The tables `erase_rows` deletes from, in its order: dead letters are
matched through the touchpoints, which go after them; the identity tables
go last, so that a request carried out again after a crash still finds
every identifier of the person through them."""
IDENTITY_TABLES: tuple[str, ...] = ("identity_links", "identity_map")
"""What the identity recorder erases when the log it records says so."""


@dataclass(frozen=True, slots=True)
class ErasedPerson:
    """The person to erase: `key` their key (strongest identifier), and
    `identifiers` every identifier linked to them (person_identifiers.sql),
    each as stored, `kind:value` (email and phone as their keyed hashes)."""

    request_id: str
    key: str
    identifiers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ErasureAudit:
    """One recorded state of an erasure request: when, whether the person's
    new events are suppressed, rows removed per table, and how it stands.
    Never who: `reason` is an error name or a note, not data."""

    request_id: str
    requested_at_ms: int
    completed_at_ms: int | None
    suppressed: bool
    removed: dict[str, int]
    status: str
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        """As `GET /erasures` and `cx erase --json` show it."""
        return {
            "request_id": self.request_id,
            "requested_at_ms": self.requested_at_ms,
            "completed_at_ms": self.completed_at_ms,
            "suppressed": self.suppressed,
            "removed": dict(self.removed),
            "status": self.status,
            "reason": self.reason,
        }


def erasure_terms(person: ErasedPerson) -> dict[str, list[str]]:
    """The columns of the terms table (erasure_terms_create.sql): the key and
    every identifier, once each, by kind, value (as the touchpoints' columns
    hold it) and term (`kind:value`, as keys and the identity tables do).
    Refuses an identifier of unknown kind or without a value, and a request
    id that holds one (the audit would keep it)."""
    terms = sorted({person.key, *person.identifiers})
    columns: dict[str, list[str]] = {"kind": [], "value": [], "term": []}
    for term in terms:
        kind, _, value = term.partition(":")
        if kind not in KINDS or not value:
            raise ValueError(
                f"erasure {person.request_id!r}: an identifier is not kind:value "
                f"with a kind of {', '.join(KINDS)}"
            )
        if value in person.request_id:
            raise ValueError(
                f"erasure {person.request_id!r}: the request id holds one of the person's "
                "identifiers; name the request otherwise"
            )
        columns["kind"].append(kind)
        columns["value"].append(value)
        columns["term"].append(term)
    return columns


def condition(table: str) -> str:
    """The WHERE condition of the person's rows in `table`
    (queries/erase_TABLE.sql, comments dropped)."""
    return sql.statements(sql.query(f"erase_{table}"))[0]


def counting(table: str) -> str:
    """The count of the person's rows in `table` (touchpoints by month)."""
    where = condition(table)
    if table == "touchpoints":
        return (
            "SELECT toYYYYMM(occurred_at) AS month, count() FROM {database:Identifier}.touchpoints "
            f"WHERE {where} GROUP BY month"
        )
    return f"SELECT count() FROM {{database:Identifier}}.{table} WHERE {where}"


def deleting(table: str) -> str:
    """The lightweight delete of the person's rows in `table`, waited for."""
    return (
        f"DELETE FROM {{database:Identifier}}.{table} WHERE {condition(table)} "
        "SETTINGS lightweight_deletes_sync = 2"
    )


def _counts(store: Store, table: str, terms: str) -> list[tuple[Any, ...]]:
    """The count's rows: (count), or (month, count) for touchpoints."""
    params = {"database": store.database, "terms": terms}
    return [
        tuple(row) for row in store.client.query(counting(table), parameters=params).result_rows
    ]


def _remove(store: Store, table: str, terms: str, request_id: str) -> int:
    """Count the person's rows in `table`, then delete them (no mutation
    when there are none). Touchpoints are counted by month, and those counts
    kept (`erased_touchpoints`)."""
    counted = _counts(store, table, terms)
    found = sum(int(row[-1]) for row in counted)
    if found and table == "touchpoints":
        months = {"month": [int(m) for m, _ in counted], "rows": [int(n) for _, n in counted]}
        # A retry after a failed delete counts them again: the token drops it.
        store.insert("erased_touchpoints", months, dedup_token=f"erased:{request_id}")
    if found:
        store.command(deleting(table), terms=terms)
    return found


def _per_table(
    store: Store,
    person: ErasedPerson,
    tables: Sequence[str],
    each: Callable[[str, str], int],
) -> dict[str, int]:
    """`each(table, terms)` for every table, with the person's terms in a
    memory table named `terms` meanwhile (never derived from the person)."""
    terms = f"erasing_{uuid.uuid4().hex}"
    store.command(sql.query("erasure_terms_create"), terms=terms)
    try:
        store.insert(terms, erasure_terms(person))
        return {table: each(table, terms) for table in tables}
    finally:
        store.command(sql.query("erasure_terms_drop"), terms=terms)


def _erase(store: Store, person: ErasedPerson, tables: Sequence[str]) -> dict[str, int]:
    return _per_table(
        store, person, tables, lambda table, terms: _remove(store, table, terms, person.request_id)
    )


async def erase_rows(
    store: OffLoopStore, person: ErasedPerson, *, tables: Sequence[str] = ERASED_TABLES
) -> dict[str, int]:
    """Delete every row holding any of the person's identifiers or key from
    every table that holds them (`ERASED_TABLES`); returns the rows removed
    per table, counted just before each delete with its condition. The rows
    are invisible once it returns; `purge` removes them from disk. Safe to
    run again (a retry counts what was still left); rows inserted for the
    person while it runs are not erased, so suppress new events first."""
    return await store.run("erase a person", lambda s: _erase(s, person, tables))


async def purge(store: OffLoopStore, tables: Iterable[str]) -> None:
    """Rewrite the parts of `tables` that hold deleted rows without them
    (APPLY DELETED MASK, waited for), so the rows leave the active parts
    now instead of at the next merge. The parts replaced are removed from
    disk by ClickHouse old_parts_lifetime later (0 s embedded, 480 s on a
    server by default), within a cleanup period (30 s)."""
    statement = sql.query("erasure_purge")

    def rewrite(table: str) -> Callable[[Store], None]:
        return lambda s: s.command(statement, table=table)

    for table in tables:
        await store.run(f"purge {table}", rewrite(table))


def _at(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


async def record_erasure(store: OffLoopStore, audit: ErasureAudit) -> None:
    """Record a state of the request in `erasures`; the latest recorded wins."""
    columns: dict[str, list[Any]] = {
        "request_id": [audit.request_id],
        "requested_at": [_at(audit.requested_at_ms)],
        "completed_at": [_at(audit.completed_at_ms)],
        "suppressed": [audit.suppressed],
        "removed": [dict(audit.removed)],
        "status": [audit.status],
        "reason": [audit.reason],
    }
    await store.insert("erasures", columns, dedup_token=None)


async def erasure_status(store: OffLoopStore, request_id: str) -> ErasureAudit | None:
    """The latest recorded state of the request, or None if none was."""
    rows = await store.query("erasure_status", request_id=request_id)
    if not rows:
        return None
    request, requested, completed, suppressed, removed, status, reason = rows[0]
    return ErasureAudit(
        request_id=request,
        requested_at_ms=int(requested),
        completed_at_ms=None if completed is None else int(completed),
        suppressed=bool(suppressed),
        removed={str(table): int(n) for table, n in removed.items()},
        status=str(status),
        reason=str(reason),
    )
