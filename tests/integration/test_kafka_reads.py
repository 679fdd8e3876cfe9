"""A large fetch response reaches a busy event loop in a few turns once the
worker's read size is set (streams/runtime/kafka_reads.py), against a real broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.dev.broker import LocalBroker
from streams.runtime.kafka import producer_for
from streams.runtime.kafka_reads import WORKER_READ_BYTES, read_in_chunks_of
from tests.integration.harness import isolated_settings

RECORDS = 12_000
VALUE = b"x" * 1000  # 12 MB in all, one fetch response
BUSY_TURN_S = 0.005


@pytest.fixture
def restored() -> Iterator[None]:
    yield
    read_in_chunks_of(None)


async def turns_to_fetch_everything(settings_url: str, topic: str) -> int:
    """Loop turns a busy neighbour task gets while one consumer fetches the
    whole topic (every turn burns BUSY_TURN_S, as a stage's slice would)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings_url,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    turns = 0
    stop = False

    async def neighbour() -> None:
        nonlocal turns
        while not stop:
            end = time.perf_counter() + BUSY_TURN_S
            while time.perf_counter() < end:
                pass
            turns += 1
            await asyncio.sleep(0)

    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        busy = asyncio.ensure_future(neighbour())
        got = 0
        while got < RECORDS:
            fetched = await consumer.getmany(tp, timeout_ms=10_000, max_records=RECORDS)
            assert fetched, "the broker sent nothing for 10 s"
            got += len(fetched[tp])
        stop = True
        await busy
        return turns
    finally:
        await consumer.stop()


def test_a_large_fetch_takes_far_fewer_loop_turns_with_the_worker_read_size(
    broker: LocalBroker, tmp_path: Path, restored: None
) -> None:
    # Uncompressed: the fetch must carry its 12 MB (zstd makes these values nothing).
    settings = isolated_settings(broker, tmp_path, kafka_compression="none")
    topic = f"{settings.topic_prefix}reads"

    async def fill() -> None:
        producer = producer_for(settings)
        await producer.start()
        try:
            sends = [await producer.send(topic, VALUE, partition=0) for _ in range(RECORDS)]
            await asyncio.gather(*sends)
        finally:
            await producer.stop()

    asyncio.run(fill())
    read_in_chunks_of(None)  # aiokafka's and asyncio's own sizes
    default_turns = asyncio.run(turns_to_fetch_everything(settings.bootstrap_servers, topic))
    read_in_chunks_of(WORKER_READ_BYTES)
    tuned_turns = asyncio.run(turns_to_fetch_everything(settings.bootstrap_servers, topic))
    # 12 MB through 128 KiB of reader buffer: about a hundred pauses and
    # resumes by default; tuned, what the kernel holds is taken in one read
    # (the turns left are mostly the broker's own time to answer).
    assert default_turns >= 80
    assert tuned_turns * 2 <= default_turns, (default_turns, tuned_turns)
