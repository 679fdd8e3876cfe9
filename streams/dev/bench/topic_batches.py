"""What a broker holds on a topic, as the producers sent it: its record
batches by codec, with their records and bytes.

A consumer decompresses what it reads, so this fetches the raw batches and
reads only their headers (the codec is in each batch's attributes). The
benchmark reports with it what the internal topics take on the broker; the
tests check with it which codec each producer's batches arrived in.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaClient, TopicPartition
from aiokafka.protocol.fetch import FetchRequest

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
"""Kafka's codecs, by the number in a batch's attributes."""

FETCH_BYTES = 16 * 1024 * 1024
_HEADER = struct.Struct(">qiibIHiqqqhii")
"""A v2 record batch header: base offset, length, leader epoch, magic, CRC,
attributes, last offset delta, timestamps, producer id and epoch, base
sequence, record count."""


@dataclass
class Held:
    batches: int = 0
    records: int = 0
    bytes: int = 0
    """Of the batches as stored (compressed, headers included)."""


def read_batches(data: bytes) -> list[tuple[int, str, int, int]]:
    """(next offset, codec, records, bytes) of every whole batch in a
    fetched record set (a fetch may end with part of a batch)."""
    batches = []
    at = 0
    while at + _HEADER.size <= len(data):
        base, length, _, magic, _, attributes, delta, *_, count = _HEADER.unpack_from(data, at)
        size = 12 + length  # the length counts from after itself
        if at + size > len(data):
            break
        if magic != 2:
            raise ValueError(f"record batch of magic {magic}: only v2 batches are read")
        batches.append((base + delta + 1, CODECS[attributes & 0x07], count, size))
        at += size
    return batches


async def held_by_codec(
    bootstrap_servers: str,
    topic: str,
    since: Mapping[int, int] | None = None,
    until: Mapping[int, int] | None = None,
) -> dict[str, Held]:
    """Every batch of every partition of `topic`, from its first offset to
    its high watermark, counted by codec; or the batches from offset
    `since[partition]` that end by `until[partition]` (offsets at which
    the producers had finished a batch)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers)
    await client.bootstrap()
    held: dict[str, Held] = {}
    try:
        cluster = await client.fetch_all_metadata()
        for partition in sorted(cluster.partitions_for_topic(topic) or ()):
            node = cluster.leader_for_partition(TopicPartition(topic, partition))
            offset = (since or {}).get(partition, 0)
            # Known after the first fetch (the high watermark), unless `until` says.
            end = offset + 1 if until is None else until.get(partition, 0)
            while offset < end:
                request = FetchRequest(
                    10, 1, FETCH_BYTES, 0, [(topic, [(partition, offset, FETCH_BYTES)])]
                )
                response = await client.send(node, request)
                (_, partitions), *_ = response.topics
                (_, error, high, *_, records), *_ = partitions
                end = high if until is None else min(high, end)
                if error:
                    raise RuntimeError(f"fetch of {topic}[{partition}] failed: error {error}")
                batches = read_batches(records or b"")
                if not batches:
                    break  # nothing more below the high watermark
                for next_offset, codec, count, size in batches:
                    if next_offset > end:
                        offset = end  # a batch across `until`: not counted
                        break
                    counted = held.setdefault(codec, Held())
                    counted.batches += 1
                    counted.records += count
                    counted.bytes += size
                    offset = next_offset
    finally:
        await client.close()
    return held
