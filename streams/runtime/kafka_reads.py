"""How much aiokafka reads from a broker connection per event-loop turn.

`read_in_chunks_of(n)` lets every connection opened afterwards take up to
`n` bytes per turn, so a large fetch arrives in a few turns while the loop
runs stage work. Why, and the measurements: docs/performance.md, "How much
aiokafka reads per event-loop turn".
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiokafka.conn
from aiokafka.conn import AIOKafkaProtocol

WORKER_READ_BYTES = 8 * 1024 * 1024
"""Bytes a worker's broker connections take per loop turn (at most; the
buffers they fill are freed once a response is decoded)."""

_DEFAULT_READER_LIMIT: int = aiokafka.conn.READER_LIMIT
_read_bytes: int | None = None
_original_connection_made = AIOKafkaProtocol.connection_made


def _connection_made(self: AIOKafkaProtocol, transport: asyncio.BaseTransport) -> None:
    if _read_bytes is not None and hasattr(transport, "max_size"):
        # asyncio's socket transports read up to `max_size` bytes per turn
        # (an instance attribute overrides the class's 256 KiB); TLS ones
        # have no such attribute and keep their own sizes.
        transport.max_size = _read_bytes
    _original_connection_made(self, transport)


def read_in_chunks_of(read_bytes: int | None) -> None:
    """From now on, aiokafka connections read up to `read_bytes` per loop
    turn; None restores aiokafka's and asyncio's own sizes."""
    global _read_bytes
    if read_bytes is not None and read_bytes < _DEFAULT_READER_LIMIT:
        raise ValueError(f"read_bytes below aiokafka's own {_DEFAULT_READER_LIMIT}")
    _read_bytes = read_bytes
    aiokafka.conn.READER_LIMIT = read_bytes if read_bytes is not None else _DEFAULT_READER_LIMIT
    patched: Any = _connection_made if read_bytes is not None else _original_connection_made
    AIOKafkaProtocol.connection_made = patched
