"""The worker's read size (streams/runtime/kafka_reads.py) refuses a size
below aiokafka's own; its effect on a real broker is an integration test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.runtime.kafka_reads import read_in_chunks_of


@pytest.fixture
def restored() -> Iterator[None]:
    yield
    read_in_chunks_of(None)


def test_read_size_below_aiokafka_own_is_refused(restored: None) -> None:
    with pytest.raises(ValueError, match="below"):
        read_in_chunks_of(1024)
