"""Ingest is stateless and scales out: two ingest-only workers feed one
store worker (the embedded ClickHouse allows one owning process), and the
store still holds each event exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from streams.dev.broker import LocalBroker, free_port
from streams.dev.child_worker import ChildWorker, start_together, stop_together
from streams.dev.generator import TrafficSpec, generate_traffic
from streams.dev.produce import produce_records
from tests import oracle
from tests.integration.harness import isolated_settings
from tests.stored import snapshot


def test_two_ingest_workers_feed_one_store_worker(broker: LocalBroker, tmp_path: Path) -> None:
    records = generate_traffic(TrafficSpec(people=500, seed=41))
    settings = isolated_settings(broker, tmp_path, batch_max_records=200)

    def worker(name: str, roles: str) -> ChildWorker:
        own = settings.model_copy(
            update={"roles": roles, "web_port": free_port(), "data_dir": tmp_path / name}
        )
        return ChildWorker(own, tmp_path / f"{name}.log")

    store, *ingesters = start_together(
        [worker("store", "store"), worker("ingest-1", "ingest"), worker("ingest-2", "ingest")]
    )
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
        codes = stop_together([*ingesters, store])
    assert codes == [0, 0, 0]
    assert all(n > 0 for n in received)  # both took part
    assert sum(received) >= len(records)  # (more if a batch was re-read after a rebalance)

    stored = snapshot(settings)
    assert stored.count == stored.unique_ids == len(oracle.valid(records))
    assert stored.touchpoints_by_type() == oracle.touchpoints_by_type(records)
    assert stored.dead_letters_by_reason() == oracle.dead_letters_by_reason(records)
