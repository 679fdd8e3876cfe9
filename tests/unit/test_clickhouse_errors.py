"""The store on the real ClickHouse engine (chdb): migrations, idempotent
inserts, and deduplication across batches and restarts."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from streams.clickhouse.client import (
    error_summary,
    is_transient_clickhouse_error,
)


@pytest.mark.parametrize(
    ("code", "message", "transient"),
    [
        (243, "Cannot reserve 1.17 MiB, not enough space. (NOT_ENOUGH_SPACE)", True),
        (252, "Too many parts (300) in partition 202611. Merges are processing...", True),
        (252, "Too many partitions for single INSERT block (more than 100).", False),
        (76, "Cannot open file /d/x.bin, errno: 30, strerror: Read-only file system", True),
        (74, "Cannot write to file: No space left on device", True),
        (69, "Decimal value is too big: '1'e20. (ARGUMENT_OUT_OF_BOUND)", False),
        (27, "Cannot parse input: expected ',' before: 'No space left on device'", False),
        (16, "No such column product_id in table cx.touchpoints. (NO_SUCH_COLUMN_IN_TABLE)", False),
    ],
)
def test_what_clickhouse_says_is_waited_out_or_not(
    code: int, message: str, transient: bool
) -> None:
    error = DatabaseError(f"Code: {code}. DB::Exception: {message} (version 26.9)")
    error.code = code  # type: ignore[attr-defined]
    assert is_transient_clickhouse_error(error) is transient
    assert "'1'" not in error_summary(error)  # quoted data blanked
