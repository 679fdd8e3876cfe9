"""Where an erased person lives on in the journey stage's compacted topics,
as the records that delete them (pure).

The changelog (`cx.journeys`) holds one record per key: the person's, and
those of keys merged into them (a record saying where they went). The
closed journeys (`cx.journeys-closed`) hold one record per closure, keyed
`key|version` on the person's partition. A tombstone for every version up
to the person's last one reaches all of them without reading the chain
back; compaction then removes the records and, after
`delete.retention.ms`, the tombstones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from streams.runtime.partitioning import partition_of

Tombstone = tuple[int, bytes, None, list[tuple[str, bytes]]]
"""(partition, key, no value, no headers), for `produce_to`."""


def changelog_tombstones(keys: Iterable[str], partitions: int) -> list[Tombstone]:
    return [(partition_of(k.encode(), partitions), k.encode(), None, []) for k in sorted(keys)]


def closure_tombstones(versions: Mapping[str, int], partitions: int) -> list[Tombstone]:
    """`versions`: each key's last version (a closure's version is never
    past it); `partitions`: the journey-steps topic's (a closure is on its
    person's partition)."""
    return [
        (partition_of(key.encode(), partitions), f"{key}|{version}".encode(), None, [])
        for key, last in sorted(versions.items())
        for version in range(1, last + 1)
    ]
