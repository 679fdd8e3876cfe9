"""kill -9 the worker many times, at random points of its work, and restart
it each time: every view still equals the oracle (touchpoints, dead letters,
people, identity, journeys, metrics).

The size is CI's by default; a larger run is the same test with
CX_CRASH_PEOPLE, CX_CRASH_KILLS and CX_CRASH_SEED set (README, "Crash test").
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

from streams.clickhouse.client import Store
from streams.dev.broker import LocalBroker
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import TrafficSpec, generate_traffic
from streams.dev.produce import produce_records
from streams.runtime.settings import Settings
from tests import journey_oracle, oracle
from tests.integration.harness import TEST_SECRET, isolated_settings
from tests.integration.test_metrics import (
    day_of,
    expected_contacts,
    expected_funnel,
    expected_scores,
    read_views,
    stored_contacts,
    stored_funnel,
    stored_scores,
)
from tests.integration.test_stitching import (
    MINUTE,
    check_against_oracle,
    end_every_journey,
    read_store,
)
from tests.stored import snapshot

PEOPLE = int(os.environ.get("CX_CRASH_PEOPLE", "900"))
KILLS = int(os.environ.get("CX_CRASH_KILLS", "10"))
SEED = int(os.environ.get("CX_CRASH_SEED", "61"))
LONGEST_LIFE_S = float(os.environ.get("CX_CRASH_LONGEST_LIFE_S", "6"))
"""A worker is killed at a random moment up to this long after it became
healthy, while it works through the traffic sent to it..."""
WHILE_STARTING = 0.3
"""...or, this often, at a random moment of its start (restoring state,
joining groups), before it is healthy."""


def identity_map(settings: Settings) -> dict[str, str]:
    """identifier -> the key of its person, as the identity tables say now."""
    store = Store(settings.clickhouse_url, settings.database)
    try:
        rows = store.client.query(
            f"SELECT identifier, argMax(customer_key, log_offset) "
            f"FROM {settings.database}.identity_map GROUP BY identifier"
        ).result_rows
        return {str(identifier): str(key) for identifier, key in rows}
    finally:
        store.close()


def test_many_kills_at_random_points_keep_every_view_exact(
    broker: LocalBroker, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    traffic = generate_traffic(TrafficSpec(people=PEOPLE, seed=SEED))
    end = max(r.truth.occurred_at_ms for r in traffic)
    valid = len(oracle.valid(traffic))
    settings = isolated_settings(
        broker,
        tmp_path,
        batch_max_records=200,
        batch_max_wait_ms=50,
        journey_flush_ms=300,
        journey_evict_idle_seconds=0,
    )
    # A slice of the traffic before the first worker, then one slice sent
    # right after each launch: every worker has work in flight when killed.
    slices = [traffic[i :: KILLS + 1] for i in range(KILLS + 1)]
    asyncio.run(produce_records(settings, slices[0]))
    lives: list[float] = []
    for kill in range(KILLS):
        worker = ChildWorker(settings, tmp_path / f"worker-{kill}.log").start(healthy_within=None)
        launched = time.monotonic()
        asyncio.run(produce_records(settings, slices[kill + 1]))
        if rng.random() < WHILE_STARTING:
            time.sleep(max(0.0, rng.uniform(0.5, 4.0) - (time.monotonic() - launched)))
        else:
            worker.wait_healthy()
            time.sleep(rng.uniform(0.2, LONGEST_LIFE_S))
        assert worker.exit_code(within=0) is None, f"worker {kill} died by itself"
        worker.kill()
        lives.append(time.monotonic() - launched)

    worker = ChildWorker(settings, tmp_path / "worker-last.log").start()
    try:
        worker.wait_stored(valid, len(oracle.invalid(traffic)))
        stats = end_every_journey(worker, settings, valid, end)
    finally:
        assert worker.stop() == 0
    assert len(lives) == KILLS
    # The last worker had something to restore: state the killed ones wrote.
    assert stats["journeys"]["restored_people"] > 0

    # Touchpoints and dead letters: each valid event once, each invalid one once.
    stored = snapshot(settings)
    valid_ids = {r.truth.event_id for r in oracle.valid(traffic)}
    assert (stored.count, stored.unique_ids) == (valid + 200, valid + 200)
    assert valid_ids <= {row["event_id"] for row in stored.touchpoints}
    assert stored.dead_letters_by_reason() == oracle.dead_letters_by_reason(traffic)
    assert len(stored.dead_letters) == len(oracle.invalid(traffic))

    # People and journeys (every journey ended, none twice, none missing).
    # (any seed: its traffic need not hold every kind of pain point)
    check_against_oracle(read_store(settings), traffic, every_pain=False)

    # Identity: every identifier the log linked is under its person's key.
    events = journey_oracle.read(traffic, TEST_SECRET)
    keys = journey_oracle.people(events)
    linked = identity_map(settings)
    assert linked == {identifier: keys[identifier] for identifier in linked}
    assert {i for e in events if len(e.identifiers) > 1 for i in e.identifiers} <= set(linked)

    # Metrics views.
    views = read_views(settings)
    last_day = day_of(end + 30 * 24 * 60 * MINUTE)
    assert stored_scores(views) == expected_scores(events)
    assert stored_funnel(views, last_day) == expected_funnel(events)
    assert stored_contacts(views) == expected_contacts(events)
