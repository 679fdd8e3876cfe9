"""What a worker asks of ClickHouse and what ClickHouse makes of it: inserts
per table (the worker's own count, `cx_clickhouse_insert_seconds` on
/metrics) and the parts they write, with their rows.

Every insert writes at least one new part per table and partition, which
merges later fold together: at a steady rate, their fixed cost is paid per
insert, not per row. The embedded engine keeps no `system.part_log`, and
one process at a time may open its directory, so the parts are read from
the directory itself while the worker runs. MergeTree names a part
`partition_minblock_maxblock_level` and numbers the parts inserts write in
a table one after the other (a merge keeps the range of the parts it
folds, so only an insert's part spans one block): the block numbers handed
out in a window are the parts written. Each part's rows are in its
`count.txt`; chdb removes merged parts within a second or so
(`old_parts_lifetime` 0), so a thread looks every 0.1 s (`PartWatch`) and
rows per part are taken over the parts it saw.
"""

from __future__ import annotations

import threading
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


Parts = dict[str, dict[str, Part]]
"""Parts on disk (active or merged away), by table and name."""


def parts_on_disk(settings: Settings, known: Parts | None = None) -> Parts:
    """The parts of every table of the worker's database, as on disk now
    (those in `known` are not read again)."""
    tables = clickhouse_dir(settings) / "data" / settings.database
    found: Parts = {}
    for table in sorted(tables.iterdir()) if tables.is_dir() else ():
        already = (known or {}).get(table.name, {})
        parts = {}
        for entry in table.iterdir():
            if entry.name in already:
                parts[entry.name] = already[entry.name]
                continue
            try:
                rows = int((entry / "count.txt").read_text())
            except (FileNotFoundError, NotADirectoryError, ValueError):
                continue  # not a part, or one going away
            part = parse_part(entry.name, rows)
            if part is not None:
                parts[entry.name] = part
        if parts:
            found[table.name] = parts
    return found


def last_block(parts: Mapping[str, Part]) -> int:
    return max((p.max_block for p in parts.values()), default=0)


@dataclass(frozen=True)
class Written:
    parts: int
    """Parts inserts wrote in the window (block numbers handed out)."""
    seen: int
    """Those of them seen on disk."""
    rows: int
    """Rows of the parts seen."""

    @property
    def rows_per_part(self) -> float | None:
        return self.rows / self.seen if self.seen else None


def written_between(before: Parts, seen: Parts) -> dict[str, Written]:
    """Per table, the parts inserts wrote after `before` (a look at the
    disk), from every part `seen` since (the last look included)."""
    written = {}
    for table, parts in seen.items():
        since = last_block(before.get(table, {}))
        inserted: dict[tuple[str, int], Part] = {}
        for part in sorted(parts.values(), key=lambda p: p.level):
            if part.min_block == part.max_block > since:  # the lowest level: as inserted
                inserted.setdefault((part.partition, part.min_block), part)
        rows = sum(p.rows for p in inserted.values())
        written[table] = Written(last_block(parts) - since, len(inserted), rows)
    return written


class PartWatch:
    """Every part on disk, looked at every `interval` seconds from a thread
    between `start` and `stop`: the parts that merges fold away within a
    second are seen too."""

    def __init__(self, settings: Settings, interval: float = 0.1) -> None:
        self.settings = settings
        self.interval = interval
        self.before: Parts = {}
        self.seen: Parts = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="part-watch", daemon=True)

    def start(self) -> PartWatch:
        self.before = parts_on_disk(self.settings)
        self._thread.start()
        return self

    def _look(self) -> None:
        for table, parts in parts_on_disk(self.settings, self.seen).items():
            self.seen.setdefault(table, {}).update(parts)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._look()

    def stop(self) -> dict[str, Written]:
        """Per table, what inserts wrote since `start`."""
        self._stop.set()
        self._thread.join()
        self._look()
        return written_between(self.before, self.seen)


def per_table(
    inserts: Mapping[str, int], written: Mapping[str, Written], seconds: float
) -> dict[str, dict[str, Any]]:
    """Inserts and parts a minute over `seconds`, rows per part (of the parts
    seen) and per insert (rows per part times parts per insert), by table
    (tables filled by a materialized view have parts, no inserts of their
    own)."""
    minutes = seconds / 60
    figures: dict[str, dict[str, Any]] = {}
    for table in sorted(set(inserts) | set(written)):
        count = inserts.get(table, 0)
        parts = written.get(table, Written(0, 0, 0))
        if not count and not parts.parts:
            continue
        per_part = parts.rows_per_part
        figures[table] = {
            "inserts_per_min": round(count / minutes, 1) if count else None,
            "parts_per_min": round(parts.parts / minutes, 1),
            "rows_per_insert": (
                round(per_part * parts.parts / count, 1) if count and per_part is not None else None
            ),
            "rows_per_part": None if per_part is None else round(per_part, 1),
        }
    return figures
