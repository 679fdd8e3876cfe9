"""Integration-test helpers: settings isolated per test on the shared broker,
a migrated store copied from a template, and reading a topic back from its
start."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from streams.clickhouse.client import Store
from streams.clickhouse.migrate import migrate
from streams.dev.broker import LocalBroker, free_port
from streams.runtime.kafka import consumer_for, ensure_topics
from streams.runtime.settings import Settings
from streams.runtime.topics import topic_configs, topic_plan

TEST_SECRET = "test-secret-for-pseudonyms"
TEST_WEB_TOKEN = "test-token-for-person-lookups"
DATABASE = "cx_test"
"""The database of the tests' own stores (`store`, `migrated`)."""


def isolated_settings(broker: LocalBroker, folder: Path, **overrides: object) -> Settings:
    """Settings for one test: nothing shared with other tests on the broker.
    Short group timeouts so a worker joins in seconds, not tens of seconds."""
    run = uuid.uuid4().hex[:8]
    options: dict[str, object] = {
        "broker_url": broker.url,
        "clickhouse_url": f"chdb://{folder / 'clickhouse'}",
        "data_dir": folder,
        "topic_prefix": f"t{run}.",
        "app_id": f"cx-test-{run}",
        "pii_secret": TEST_SECRET,
        "web_token": TEST_WEB_TOKEN,
        "web_port": free_port(),
        "channel_partitions": 3,
        "internal_partitions": 4,
        "batch_max_records": 1000,
        "batch_max_wait_ms": 100,
        # Dead letters and identity rows queryable within a second, not five:
        # tests wait for them (test_inserts checks the default).
        "lookup_insert_interval_ms": 1000,
        # A worker killed with -9 leaves its members in the groups until
        # their session ends: the next worker's join waits that long (3 s,
        # three heartbeats, rather than 6).
        "kafka_session_timeout_ms": 3000,
        "kafka_heartbeat_interval_ms": 1000,
        "kafka_rebalance_timeout_ms": 6000,
        **overrides,
    }
    settings = Settings(**options)  # type: ignore[arg-type]
    asyncio.run(ensure_topics(settings, topic_plan(settings), topic_configs(settings)))
    return settings


def migrated_copy(template: Path, folder: Path) -> Store:
    """A store in `folder` (not opened yet) holding a copy of `template` (a
    migrated data directory), migrated: `migrate` checks the ledger and
    finds nothing to apply."""
    shutil.copytree(template, folder, symlinks=True)
    copy = Store(f"chdb://{folder}", DATABASE)
    migrate(copy)
    return copy


async def read_from_start(
    settings: Settings, partitions: list[TopicPartition]
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `partitions`, from the start, until half a second
    brings nothing more."""
    consumer = consumer_for(settings, None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while fetched := await consumer.getmany(*partitions, timeout_ms=500):
            for got in fetched.values():
                records += got
        return records
    finally:
        await consumer.stop()
