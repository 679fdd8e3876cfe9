"""The read-only BI profile on the real engine: it cannot write, and the
views still answer (the grants are checked statically in the unit tests)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from streams.clickhouse.client import Store
from tests.unit.test_bi_access import BI_FILE, created_views


def test_with_the_bi_profile_nothing_can_be_written(migrated: Store) -> None:
    """On the real engine, the profile's readonly setting refuses inserts
    and DDL, and the views still answer."""
    store = migrated
    readonly = {
        "readonly": int(ET.parse(BI_FILE).getroot().findtext("profiles/cx_bi/readonly") or 0)
    }
    db = store.database
    for view in created_views():
        assert "SQL SECURITY DEFINER" in str(store.client.command(f"SHOW CREATE TABLE {db}.{view}"))
    store.client.query(f"SELECT * FROM {db}.scores_daily", settings=readonly)
    for statement in (
        f"INSERT INTO {db}.deadletters (channel, reason) VALUES ('web', 'x')",
        f"CREATE TABLE {db}.sneaky (a Int8) ENGINE = Memory",
        f"DROP TABLE {db}.touchpoints",
    ):
        with pytest.raises(DatabaseError, match=r"(?i)readonly"):
            store.client.command(statement, settings=readonly)
    assert store.client.command(f"SELECT count() FROM {db}.deadletters") == 0
