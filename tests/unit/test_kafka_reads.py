"""A large fetch response reaches a busy event loop in a few turns once the
worker's read size is set (streams/runtime/kafka_reads.py), against a real broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.runtime.kafka_reads import read_in_chunks_of

RECORDS = 12_000
VALUE = b"x" * 1000  # 12 MB in all, one fetch response
BUSY_TURN_S = 0.005


@pytest.fixture
def restored() -> Iterator[None]:
    yield
    read_in_chunks_of(None)


def test_read_size_below_aiokafka_own_is_refused(restored: None) -> None:
    with pytest.raises(ValueError, match="below"):
        read_in_chunks_of(1024)
