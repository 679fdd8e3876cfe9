"""Send generated traffic to the channel topics (what `cx produce` and the
demo do; the tests use it too)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from streams.dev.generator import GeneratedRecord
from streams.runtime.kafka import producer_for
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics

CHUNK = 2000


async def produce_records(
    settings: Settings,
    records: Sequence[GeneratedRecord],
    *,
    rate: float | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Send `records` in order, keyed as generated; `rate` caps records/s."""
    topics = Topics(settings.topic_prefix)
    producer = producer_for(settings, linger_ms=10)
    await producer.start()
    started = time.monotonic()
    try:
        for first in range(0, len(records), CHUNK):
            chunk = records[first : first + CHUNK]
            sends = [
                await producer.send(topics.channel(r.channel), r.value, key=r.key) for r in chunk
            ]
            await asyncio.gather(*sends)
            sent = first + len(chunk)
            if on_progress is not None:
                on_progress(sent)
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    finally:
        await producer.stop()
    return len(records)
