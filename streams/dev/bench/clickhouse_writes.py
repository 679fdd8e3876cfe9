"""What a worker asks of ClickHouse and what ClickHouse makes of it: inserts
per table (the worker's own count, `cx_clickhouse_insert_seconds` on
/metrics) and the parts they write, with their rows.

Every insert writes at least one new part per table and partition, which
merges later fold together: at a steady rate, their fixed cost is paid per
insert, not per row. The embedded engine keeps no `system.part_log`, and
one process at a time may open its directory, so the parts are read from
the directory itself while the worker runs: MergeTree names a part
`partition_minblock_maxblock_level`, numbers the parts inserts write in a
table one after the other (a merge keeps the range of the parts it folds,
so only an insert's part spans one block; parts merged away stay on disk
for minutes), and writes each part's rows in its `count.txt`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from streams.runtime.settings import Settings

INSERT_COUNT = "cx_clickhouse_insert_seconds_count"


def insert_counts(metrics_text: str) -> dict[str, int]:
    """Inserts so far by table, from the text of a worker's /metrics."""
    counts: dict[str, int] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == INSERT_COUNT:
                counts[sample.labels["table"]] = int(sample.value)
    return counts


@dataclass(frozen=True)
class Part:
    partition: str
    min_block: int
    max_block: int
    level: int
    """Merges raise it. An insert writes level 0, or 1 into the tables
    that merge rows (Replacing-, AggregatingMergeTree: optimized on insert)."""
    rows: int


def parse_part(name: str, rows: int) -> Part | None:
    """The part a directory name stands for (None: not a part)."""
    fields = name.split("_")
    if len(fields) not in (4, 5) or not all(f.isdigit() for f in fields[1:]):
        return None
    return Part(fields[0], int(fields[1]), int(fields[2]), int(fields[3]), rows)


def clickhouse_dir(settings: Settings) -> Path:
    url = settings.clickhouse_url
    if not url.startswith("chdb://"):
        raise ValueError("parts are read from an embedded ClickHouse (chdb://) only")
    return Path(url.removeprefix("chdb://"))


Parts = dict[str, list[Part]]
"""Every part on disk (active or merged away), by table."""


def parts_on_disk(settings: Settings) -> Parts:
    """The parts of every table of the worker's database, as on disk now."""
    tables = clickhouse_dir(settings) / "data" / settings.database
    found: Parts = {}
    for table in sorted(tables.iterdir()) if tables.is_dir() else ():
        parts = []
        for entry in table.iterdir():
            count = entry / "count.txt"
            try:
                rows = int(count.read_text())
            except (FileNotFoundError, NotADirectoryError, ValueError):
                continue  # not a part, or one going away
            part = parse_part(entry.name, rows)
            if part is not None:
                parts.append(part)
        if parts:
            found[table.name] = parts
    return found


def last_block(parts: list[Part]) -> int:
    return max((p.max_block for p in parts), default=0)


@dataclass(frozen=True)
class Written:
    parts: int
    """Parts inserts wrote in the window (block numbers handed out)."""
    rows: int
    """Rows of those of them still on disk (all of them, within minutes)."""


def written_between(before: Parts, after: Parts) -> dict[str, Written]:
    """Per table, the parts inserts wrote between two looks at the disk."""
    written = {}
    for table, parts in after.items():
        since = last_block(before.get(table, []))
        inserted: dict[tuple[str, int], Part] = {}
        for part in sorted(parts, key=lambda p: p.level):
            if part.min_block == part.max_block > since:  # the lowest level: as inserted
                inserted.setdefault((part.partition, part.min_block), part)
        rows = sum(p.rows for p in inserted.values())
        written[table] = Written(last_block(parts) - since, rows)
    return written


def per_table(
    inserts: Mapping[str, int], written: Mapping[str, Written], seconds: float
) -> dict[str, dict[str, Any]]:
    """Inserts and parts a minute over `seconds`, rows per insert and per
    part, by table (tables filled by a materialized view have parts, not
    inserts of their own)."""
    minutes = seconds / 60
    figures: dict[str, dict[str, Any]] = {}
    for table in sorted(set(inserts) | set(written)):
        count = inserts.get(table, 0)
        parts = written.get(table, Written(0, 0))
        if not count and not parts.parts:
            continue
        figures[table] = {
            "inserts_per_min": round(count / minutes, 1) if count else None,
            "parts_per_min": round(parts.parts / minutes, 1),
            "rows_per_insert": round(parts.rows / count, 1) if count else None,
            "rows_per_part": round(parts.rows / parts.parts, 1) if parts.parts else None,
        }
    return figures
