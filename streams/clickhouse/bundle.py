"""Row bundles: many ClickHouse rows in one Kafka record, ready to insert.

A bundle is one JSON line of index entries (what the store must know of each
row, such as its event id), then the rows as `JSONCompactEachRow` lines,
each encoded once by the stage that knows it; the store inserts them as they
are. Why: docs/performance.md, "Row bundles".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from streams.runtime.headers import format_headers
from streams.runtime.right_size import right_sized

FORMAT = b"rows/1"
"""Value of the `cx.format` header of a row bundle."""
HEADERS = format_headers(FORMAT)
"""Headers of every row-bundle record."""

Row = tuple[Any, ...]
"""A row's values in column order, as orjson writes them: str, int, float,
None, lists, dicts (a dict or list for a String column is stored as its JSON
text), str enums."""


def encode_row(row: Row | str) -> bytes:
    """One row (or index entry) as a JSON line."""
    return right_sized(orjson.dumps(row))


def encode_rows(rows: Iterable[Row]) -> bytes:
    """Rows as JSONCompactEachRow lines."""
    return b"\n".join([encode_row(row) for row in rows])


def encode_bundle(entries: Sequence[tuple[bytes, bytes]]) -> bytes:
    """A bundle of (encoded index entry, encoded row) pairs."""
    index = b"[" + b",".join([entry for entry, _ in entries]) + b"]"
    return index + b"\n" + b"\n".join([row for _, row in entries])


def bundle_size(entry: tuple[bytes, bytes]) -> int:
    """What an (entry, row) pair adds to a bundle, in bytes."""
    return len(entry[0]) + len(entry[1]) + 2


def decode_bundle(raw: bytes) -> tuple[list[Any], bytes]:
    """The index entries and the rows (still one per line) of a bundle."""
    head, _, body = raw.partition(b"\n")
    index: list[Any] = orjson.loads(head)
    return index, body


def split_rows(body: bytes) -> list[bytes]:
    """The rows of a bundle's body, one per entry of its index."""
    return body.split(b"\n") if body else []
