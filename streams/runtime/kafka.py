"""Kafka plumbing shared by the pipelines: clients from settings, topic
creation, and batched produce."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

# Re-exported: the stages import them from here with the rest.
from streams.runtime.partitioning import partition_of
from streams.runtime.security import kafka_auth
from streams.runtime.settings import Settings

log = logging.getLogger(__name__)

Message = tuple[bytes | None, bytes, Sequence[tuple[str, bytes]]]
"""(key, value, headers) of a record to produce."""

T = TypeVar("T")

BUNDLE_ITEMS = 1000
"""Most items in one record of an internal topic (`produce_bundles`)."""
BUNDLE_BYTES = 900 * 1024
"""Most bytes in one record of an internal topic, when the items' sizes are
known (`produce_bundles`): under Kafka's default record limit (1,048,588
bytes), so that bundles fit internal topics created without the processor's
larger `max.message.bytes`. An item larger than this travels alone."""
INTERNAL_TOPIC_MAX_BYTES = 8 * 1024 * 1024
"""`max.message.bytes` of the internal topics the processor creates: a
person's whole history can travel in one record (a move, the changelog)."""


CLIENT_STOP_S = 3.0
"""How long stopping a Kafka client (leaving its group, flushing what it
holds) may take at shutdown: a broker that does not answer must not hold the
worker past its grace period. What it had not committed is read again."""


async def stop_within(
    client: AIOKafkaConsumer | AIOKafkaProducer, seconds: float = CLIENT_STOP_S
) -> None:
    """Stop a consumer or producer, giving up after `seconds`."""
    try:
        await asyncio.wait_for(client.stop(), seconds)
    except TimeoutError:
        log.warning(
            "a Kafka client did not stop within %.0fs (the broker does not answer)", seconds
        )


def is_transient_kafka_error(exc: BaseException) -> bool:
    return (isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))) or isinstance(
        exc, (ConnectionError, asyncio.TimeoutError)
    )


def producer_for(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    """A producer with this project's options; its batches compressed with
    `settings.kafka_compression` (aiokafka's name for none is None)."""
    codec = settings.kafka_compression
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "compression_type": None if codec == "none" else codec,
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": 1024 * 1024,
        "max_request_size": 8 * 1024 * 1024,
        "request_timeout_ms": 30_000,
        **kafka_auth(settings),
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def consumer_for(settings: Settings, group_id: str | None, **overrides: Any) -> AIOKafkaConsumer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka_heartbeat_interval_ms,
        "rebalance_timeout_ms": settings.kafka_rebalance_timeout_ms,
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
        "max_poll_interval_ms": 600_000,
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
        "fetch_max_bytes": 32 * 1024 * 1024,
        **kafka_auth(settings),
    }
    options.update(overrides)
    return AIOKafkaConsumer(**options)


async def produce_all(
    producer: AIOKafkaProducer, topic: str, messages: Iterable[Message]
) -> list[tuple[int, int]]:
    """Send keyed messages in record batches per partition, routed by
    `partition_of`, and wait until the broker acknowledged all of them.
    Returns the (partition, offset) of each message, in order. `messages`
    is read once, lazily: each value can be built just before it is copied
    into its record batch, and freed right after."""
    partitions = len(await producer.partitions_for(topic))
    routed = (
        (partition_of(key, partitions) if key is not None else count % partitions, key, value, h)
        for count, (key, value, h) in enumerate(messages)
    )
    return await _send_routed(producer, topic, routed)


async def produce_to(
    producer: AIOKafkaProducer,
    topic: str,
    placed: Iterable[tuple[int, bytes | None, bytes | None, Sequence[tuple[str, bytes]]]],
) -> list[tuple[int, int]]:
    """Send (partition, key, value, headers) to the partitions given (a
    value None: a tombstone), in record batches per partition; the
    (partition, offset) of each once acknowledged."""
    return await _send_routed(producer, topic, placed)


async def partition_count(producer: AIOKafkaProducer, topic: str) -> int:
    """Partitions of `topic` (from the producer's metadata, cached)."""
    return len(await producer.partitions_for(topic))


async def produce_bundles(
    producer: AIOKafkaProducer,
    topic: str,
    grouped: Mapping[int, Sequence[T]],
    encode: Callable[[Sequence[T]], bytes],
    headers: Sequence[tuple[str, bytes]],
    *,
    per_record: int = BUNDLE_ITEMS,
    size_of: Callable[[T], int] | None = None,
    max_bytes: int = BUNDLE_BYTES,
) -> list[tuple[int, int]]:
    """Send items as few records: the items of each partition are encoded
    together, in order, up to `per_record` in one record (and, with
    `size_of`, up to `max_bytes`). Kafka's per-record cost, paid by the
    producer and by every consumer, is then paid per bundle. Waits until the
    broker acknowledged all of them; returns the (partition, offset) of each
    record."""
    routed = [
        (partition, None, encode(chunk), headers)
        for partition, group in grouped.items()
        for chunk in _chunks(group, per_record, size_of, max_bytes)
    ]
    return await _send_routed(producer, topic, routed)


def _chunks(
    items: Sequence[T], per_record: int, size_of: Callable[[T], int] | None, max_bytes: int
) -> Iterable[Sequence[T]]:
    if size_of is None:
        for start in range(0, len(items), per_record):
            yield items[start : start + per_record]
        return
    start, size = 0, 0
    for at, item in enumerate(items):
        grown = size + size_of(item)
        if at > start and (at - start == per_record or grown > max_bytes):
            yield items[start:at]
            start, grown = at, size_of(item)
        size = grown
    if start < len(items):
        yield items[start:]


async def _send_routed(
    producer: AIOKafkaProducer,
    topic: str,
    routed: Iterable[tuple[int, bytes | None, bytes | None, Sequence[tuple[str, bytes]]]],
) -> list[tuple[int, int]]:
    """Send (partition, key, value, headers) in record batches per
    partition; the (partition, offset) of each once acknowledged."""
    batches: list[tuple[int, Any]] = []  # (partition, builder), in creation order
    open_batch: dict[int, int] = {}  # partition -> index of its batch being filled
    sizes: list[int] = []
    placed: list[tuple[int, int]] = []  # per message: (batch index, index in batch)
    for partition, key, value, headers in routed:
        index = open_batch.get(partition)
        if (
            index is None
            or batches[index][1].append(key=key, value=value, timestamp=None, headers=headers)
            is None
        ):
            builder = producer.create_batch()
            builder.append(key=key, value=value, timestamp=None, headers=headers)
            index = open_batch[partition] = len(batches)
            batches.append((partition, builder))
            sizes.append(0)
        placed.append((index, sizes[index]))
        sizes[index] += 1
    sent = [await producer.send_batch(b, topic, partition=p) for p, b in batches]
    done = await asyncio.gather(*sent)  # the offset of a batch is its first record's
    return [(done[batch].partition, done[batch].offset + at) for batch, at in placed]


async def append_all(
    producer: AIOKafkaProducer,
    topic: str,
    values: Sequence[bytes],
    headers: Sequence[tuple[str, bytes]],
) -> int:
    """Append values, in order, to partition 0 of `topic` (a log with one
    partition); returns the offset of the last one once acknowledged."""
    batches: list[tuple[Any, int]] = []
    builder = producer.create_batch()
    count = 0
    for value in values:
        if builder.append(key=None, value=value, timestamp=None, headers=headers) is None:
            batches.append((await producer.send_batch(builder, topic, partition=0), count))
            builder, count = producer.create_batch(), 0
            builder.append(key=None, value=value, timestamp=None, headers=headers)
        count += 1
    batches.append((await producer.send_batch(builder, topic, partition=0), count))
    last = -1
    for sent, records in batches:
        metadata = await sent  # the offset of a batch is its first record's
        last = metadata.offset + records - 1
    return last


async def ensure_topics(
    settings: Settings, topics: dict[str, int], configs: dict[str, dict[str, str]] | None = None
) -> None:
    """Create missing topics (name -> partitions), with `configs` (name ->
    topic settings). Existing ones are left as they are, with a warning when
    their partition count differs from the plan."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, **kafka_auth(settings)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        present = [name for name in topics if name in existing]
        if present:
            for described in await admin.describe_topics(present):
                name, found = described["topic"], len(described["partitions"])
                if found != topics[name]:
                    log.warning(
                        "topic %s has %d partitions, settings say %d: keeping %d",
                        name,
                        found,
                        topics[name],
                        found,
                    )
        missing = [
            NewTopic(
                name,
                partitions,
                settings.replication_factor,
                topic_configs=(configs or {}).get(name),
            )
            for name, partitions in topics.items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
            log.info("created topics %s", ", ".join(t.name for t in missing))
    finally:
        await admin.close()
