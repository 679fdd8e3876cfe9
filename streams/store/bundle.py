"""Row bundles: many ClickHouse rows in one Kafka record, ready to insert.

The stage that knows a row builds it once, as a tuple of the row's values in
column order; a bundle holds such rows as `JSONCompactEachRow` lines. The
store inserts those lines as they are, so ClickHouse parses them (outside the
interpreter lock) and the store does no per-row Python work at all.

A bundle's value is one JSON line of index entries, one per row (what the
store must know of a row without parsing it, such as its event id), then the
rows, one per line. orjson escapes control characters, so a row never holds a
raw newline.

Rows are one per line, each encoded by a call of its own, because the store
often keeps only some rows of a bundle (with redelivered events, most
bundles hold one): a split and a join of bytes, 0.3-0.4 us a row. Each
row's `orjson.dumps` result is copied to its own size before the join: the
result owns a write buffer of about 4 KiB however short it is
(`streams.right_size`), and a thousand of them alive at once cost fresh
pages. Measured here on 1,000 touchpoint rows (orjson 3.13): 3.3-3.7 us a
row joined as they come, 0.9-1.0 us right-sized. One `orjson.dumps` of the
whole bundle (arrays separated by commas, which ClickHouse also reads)
takes 0.26 us a row, but a partly kept bundle must then be decoded and
encoded again, 2.2-2.6 us a row: measured here, it does not pay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from streams.right_size import right_sized

FORMAT = b"rows/1"
"""Value of the `cx.format` header of a row bundle."""

Row = tuple[Any, ...]
"""A row's values in column order, as orjson writes them: str, int, float,
None, lists, dicts (a dict or list for a String column is stored as its JSON
text), str enums."""


def encode_rows(rows: Iterable[Row]) -> bytes:
    """Rows as JSONCompactEachRow lines."""
    return b"\n".join([right_sized(orjson.dumps(row)) for row in rows])


def encode_bundle(entries: Sequence[tuple[Any, Row]]) -> bytes:
    """A bundle of (index entry, row) pairs."""
    index = [entry for entry, _ in entries]
    return orjson.dumps(index) + b"\n" + encode_rows(row for _, row in entries)


def decode_bundle(raw: bytes) -> tuple[list[Any], bytes]:
    """The index entries and the rows (still one per line) of a bundle."""
    head, _, body = raw.partition(b"\n")
    index: list[Any] = orjson.loads(head)
    return index, body


def split_rows(body: bytes) -> list[bytes]:
    """The rows of a bundle's body, one per entry of its index."""
    return body.split(b"\n") if body else []
