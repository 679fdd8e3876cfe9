"""How much aiokafka reads from a broker connection per event-loop turn.

aiokafka reads every connection through an asyncio `StreamReader` whose
limit is 64 KiB: reading pauses whenever 128 KiB are buffered and resumes a
loop turn later. asyncio's socket transport, besides, takes at most 256 KiB
per turn. A fetch response of 10 MB (thousands of channel events) then needs
40 to 80 turns of the event loop to arrive. In a worker every turn may run a
slice of a stage's work (a thousand events validated, two hundred journeys
folded, 10-20 ms), so a fetch took about a second while the stage waiting for
it had nothing to do (measured on 200,000 events, one worker: channel fetches
of 0.7-1.5 s; with this tuning 0.1-0.2 s; a bare consumer beside a loop busy
in 20 ms slices: 0.92 s a 5 MB fetch, 0.15-0.24 s tuned).

`read_in_chunks_of(n)` lets a connection take up to `n` bytes per turn: what
the kernel holds is read at once, so a response arrives in a few turns
whatever else the loop does. It applies to connections opened afterwards, in
the whole process, so the worker sets it once at start-up.
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
