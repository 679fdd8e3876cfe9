"""Which partition a key goes to, on the topics this processor writes and
reads itself (pure).

CRC-32, not Kafka's murmur2: aiokafka's murmur2 is pure Python and costs
about 6 us a key, more than validating the event. Only this processor writes
these topics, so only it needs to agree with itself, and with the SQL that
finds a touchpoints-topic partition's stored events:
`CRC32(event_id) % partitions` in streams/clickhouse/sql/queries/
(partition_event_ids.sql, partition_minutes.sql). ClickHouse's CRC32 is the
same CRC-32 (IEEE) as zlib's over the string's UTF-8 bytes:
tests/integration/test_store.py checks that the two agree, tests/unit/
test_rules.py that the SQL still says so.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def partition_of(key: bytes, partitions: int) -> int:
    """Partition of a key among `partitions`."""
    return zlib.crc32(key) % partitions


def group_by_partition(items: Iterable[tuple[bytes, T]], partitions: int) -> dict[int, list[T]]:
    """(key, item) pairs grouped by the partition of their key
    (`partition_of`), each group in the items' order."""
    grouped: dict[int, list[T]] = {}
    crc32 = zlib.crc32  # partition_of, inlined: called for every item
    for key, item in items:
        partition = crc32(key) % partitions
        group = grouped.get(partition)
        if group is None:
            grouped[partition] = [item]
        else:
            group.append(item)
    return grouped
