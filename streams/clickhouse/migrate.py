"""Apply the schema migrations (sql/migrations/NNN_name.sql) idempotently.

Every statement is safe to run again (IF NOT EXISTS). The ledger
`schema_migrations` records each applied file with its checksum, so a file
edited after it was applied is refused instead of silently skipped.
Migration 001 creates the database and the ledger and runs every time.
"""

from __future__ import annotations

import hashlib
import logging
import re

from streams.clickhouse import sql
from streams.clickhouse.client import Store

log = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    pass


_DATABASE = "{database:Identifier}"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _rendered(statement: str, database: str) -> str:
    """The statement with the database name written in. A view keeps the
    text of its query, and a query parameter left in it would make it a
    parameterised view, so DDL names the database literally."""
    if not _IDENTIFIER.match(database):
        raise MigrationError(f"not a plain database name: {database!r}")
    return statement.replace(_DATABASE, f"`{database}`")


def migrate(store: Store) -> list[str]:
    """Apply pending migrations; returns the names of those applied now."""
    found = sql.migrations()
    for statement in sql.statements(found[0][2]):
        store.command(_rendered(statement, store.database))
    ledger = {int(version): checksum for version, checksum in store.query("applied_migrations")}
    applied_now: list[str] = []
    for index, (version, name, text) in enumerate(found):
        checksum = hashlib.sha256(text.encode()).hexdigest()
        if version in ledger:
            if ledger[version] != checksum:
                raise MigrationError(
                    f"{name} changed after it was applied; add a new migration instead"
                )
            continue
        if index > 0:
            for statement in sql.statements(text):
                store.command(_rendered(statement, store.database))
        store.insert(
            "schema_migrations",
            {"version": [version], "name": [name], "checksum": [checksum]},
        )
        applied_now.append(name)
        log.info("applied migration %s", name)
    return applied_now
