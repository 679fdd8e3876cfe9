"""Throughput of the whole pipeline against its ceiling, on the same events
in the same run.

- **ceiling**: a plain aiokafka consumer that reads the four channel topics
  with `getmany` and validates every event with the same pydantic models,
  and does nothing else;
- **processor**: one worker with every stage (ingest, identity, journeys,
  store into the embedded ClickHouse), timed from the first touchpoint
  stored to the last.

Both read the same pre-produced events on a local tansu broker. The faust
peer, the two-worker scale-up and the latency run at half the maximum rate
are still to come (issue 6)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from schemas import validate_event
from streams.child_worker import ChildWorker
from streams.devbroker import LocalBroker, local_settings
from streams.generator import TrafficSpec, generate_traffic
from streams.kafka import ensure_topics
from streams.processor import topic_configs, topic_plan
from streams.produce import produce_records
from streams.settings import Settings
from streams.topics import Topics


async def ceiling(settings: Settings, expected: int) -> float:
    """Seconds for a getmany + validate consumer to read `expected` records."""
    topics = Topics(settings.topic_prefix)
    consumer = AIOKafkaConsumer(
        *topics.channels,
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    channels = topics.channels
    await consumer.start()
    try:
        seen = 0
        started: float | None = None
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if started is None and batch:
                started = time.perf_counter()
            for tp, records in batch.items():
                channel = channels[tp.topic]
                for record in records:
                    if record.value:
                        validate_event(record.value, channel)
                seen += len(records)
        assert started is not None
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def processor(settings: Settings, folder: Path, valid: int, invalid: int) -> dict[str, Any]:
    """Seconds from the first touchpoint stored to the last, one worker."""
    worker = ChildWorker(settings, folder / "worker.log").start()
    try:
        first: float | None = None
        while True:
            stored, dead = worker.stored()
            now = time.perf_counter()
            if first is None and stored > 0:
                first = now
            if stored >= valid and dead >= invalid:
                break
            time.sleep(0.1)
        assert first is not None
        assert worker.process is not None
        return {"seconds": now - first, "peak_rss_mb": _peak_rss_mb(worker.process.pid)}
    finally:
        worker.stop()


def _peak_rss_mb(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def measure(people: int = 20_000, seed: int = 1) -> dict[str, Any]:
    records = generate_traffic(TrafficSpec(people=people, seed=seed))
    valid = sum(r.truth.kind == "valid" for r in records)
    invalid = sum(r.truth.kind == "invalid" for r in records)
    folder = Path(tempfile.mkdtemp(prefix="cx-bench-throughput-"))
    with LocalBroker(log_path=folder / "tansu.log") as broker:
        settings = local_settings(broker.url, folder, log_level="WARNING")
        asyncio.run(ensure_topics(settings, topic_plan(settings), topic_configs(settings)))
        asyncio.run(produce_records(settings, records))
        ceiling_s = asyncio.run(ceiling(settings, len(records)))
        ours = processor(settings, folder, valid, invalid)
    return {
        "records": len(records),
        "ceiling_records_per_s": round(len(records) / ceiling_s),
        "processor_records_per_s": round(len(records) / ours["seconds"]),
        "processor_share_of_ceiling": round(ceiling_s / ours["seconds"], 3),
        "worker_peak_rss_mb": ours["peak_rss_mb"],
    }
