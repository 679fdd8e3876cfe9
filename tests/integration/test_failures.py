"""Outages and bugs: an unreachable ClickHouse is waited for, a real bug
stops the worker, and neither loses or double-counts an event."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from streams.clickhouse.client import Store
from streams.clickhouse.migrate import migrate
from streams.dev.broker import LocalBroker, free_port
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import TrafficSpec, generate_traffic
from streams.dev.produce import produce_records
from tests import oracle
from tests.integration.harness import isolated_settings
from tests.stored import snapshot


def test_an_unreachable_clickhouse_is_retried_not_fatal(
    broker: LocalBroker, tmp_path: Path
) -> None:
    nowhere = f"http://cx:pw@127.0.0.1:{free_port()}"  # nothing listens there
    settings = isolated_settings(broker, tmp_path, clickhouse_url=nowhere)
    worker = ChildWorker(settings, tmp_path / "worker.log").start(healthy_within=None)
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            health = worker.health()
            if health is not None:
                break
            assert worker.exit_code(within=0.3) is None
        assert health == (503, {"status": "starting", "phase": "migrating the ClickHouse schema"})
        assert worker.exit_code(within=5) is None  # still waiting, still alive
        assert "migrate failed (attempt" in (tmp_path / "worker.log").read_text()
    finally:
        assert worker.stop() == 0


def test_a_schema_bug_stops_the_worker_and_the_fixed_worker_loses_nothing(
    broker: LocalBroker, tmp_path: Path
) -> None:
    records = generate_traffic(TrafficSpec(people=300, seed=31))
    settings = isolated_settings(broker, tmp_path)
    store = Store(settings.clickhouse_url, settings.database)
    try:  # someone changed the table by hand: inserts now fail, not transiently
        migrate(store)
        store.command("ALTER TABLE {database:Identifier}.touchpoints DROP COLUMN product_id")
    finally:
        store.close()
    asyncio.run(produce_records(settings, records))

    broken = ChildWorker(settings, tmp_path / "worker-1.log").start(healthy_within=None)
    code = broken.exit_code(within=60)
    assert code is not None and code != 0
    assert "No such column product_id" in (tmp_path / "worker-1.log").read_text()

    store = Store(settings.clickhouse_url, settings.database)
    try:  # the fix: restore the table (the worker migrates on start)
        store.command(
            "ALTER TABLE {database:Identifier}.touchpoints ADD COLUMN product_id String AFTER message_kind"
        )
    finally:
        store.close()
    fixed = ChildWorker(settings, tmp_path / "worker-2.log").start()
    try:
        fixed.wait_stored(len(oracle.valid(records)), len(oracle.invalid(records)))
    finally:
        assert fixed.stop() == 0

    stored = snapshot(settings)
    valid = len(oracle.valid(records))
    assert (stored.count, stored.unique_ids) == (valid, valid)
    assert stored.touchpoints_by_type() == oracle.touchpoints_by_type(records)
