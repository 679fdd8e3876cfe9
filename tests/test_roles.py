"""Ingest is stateless and scales out: two ingest-only workers feed one
store worker (the embedded ClickHouse allows one owning process), and the
store still holds each event exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from streams.child_worker import ChildWorker
from streams.devbroker import LocalBroker, free_port
from streams.generator import TrafficSpec, generate_traffic
from streams.produce import produce_records
from streams.store.clickhouse import Store
from tests import oracle
from tests.conftest import isolated_settings

pytestmark = pytest.mark.integration


def test_two_ingest_workers_feed_one_store_worker(broker: LocalBroker, tmp_path: Path) -> None:
    records = generate_traffic(TrafficSpec(people=500, seed=41))
    settings = isolated_settings(broker, tmp_path, batch_max_records=200)

    def worker(name: str, roles: str) -> ChildWorker:
        own = settings.model_copy(
            update={"roles": roles, "web_port": free_port(), "data_dir": tmp_path / name}
        )
        return ChildWorker(own, tmp_path / f"{name}.log")

    store = worker("store", "store").start()
    ingesters = [worker(name, "ingest").start() for name in ("ingest-1", "ingest-2")]
    try:
        for ingester in ingesters:  # the group settled: the 12 channel partitions are shared
            ingester.wait_until(
                lambda s: (
                    0 < len(s.get("consumers", {}).get("ingest", {}).get("assigned", [])) < 12
                ),
                60,
                "sharing the channel partitions",
            )
        asyncio.run(produce_records(settings, records))
        store.wait_stored(len(oracle.valid(records)), len(oracle.invalid(records)))
        received = [w.stats()["ingest"]["received"] for w in ingesters]
        assert store.stats()["ingest"] == {}  # the store worker ingests nothing
    finally:
        codes = [w.stop() for w in [*ingesters, store]]
    assert codes == [0, 0, 0]
    assert all(n > 0 for n in received)  # both took part
    assert sum(received) >= len(records)  # (more if a batch was re-read after a rebalance)

    clickhouse = Store(settings.clickhouse_url, settings.database)
    try:
        db = settings.database
        count, unique = clickhouse.client.query(
            f"SELECT count(), uniqExact(event_id) FROM {db}.touchpoints"
        ).result_rows[0]
        by_type = clickhouse.client.query(
            f"SELECT channel, event_type, count() FROM {db}.touchpoints GROUP BY 1, 2"
        ).result_rows
        by_reason = clickhouse.client.query(
            f"SELECT channel, reason, count() FROM {db}.deadletters GROUP BY 1, 2"
        ).result_rows
    finally:
        clickhouse.close()
    assert count == unique == len(oracle.valid(records))
    assert Counter({(c, t): n for c, t, n in by_type}) == oracle.touchpoints_by_type(records)
    assert Counter({(c, r): n for c, r, n in by_reason}) == oracle.dead_letters_by_reason(records)
