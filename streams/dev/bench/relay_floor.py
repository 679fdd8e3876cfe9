"""The Kafka client's floor for `cx bench steady`: what the worker's first two
hops cost with no stage work, on the same client, settings and traffic.

A relay process reads the four channel topics in batches (up to 100 ms
after the first record, as `BatchConsumer`), parses each value, sends the
batch on to a relay topic in one record per partition (bundles, routed by
CRC-32 of the key, compressed as the worker's topics), and a second
consumer reads them back and counts the records; each commits every
500 ms. It drains the same backlog and is offered the same records at the
same rates as the worker, on a broker of its own. The worker's figures
against these say how much of a record's cost at a steady rate is the
client's per-fetch and per-produce work, which no stage can shed.

Run as `python -m streams.dev.bench.relay_floor BROKER_URL COUNT_FILE`: it
writes 0 to COUNT_FILE once it has joined its groups, then the records
counted so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from streams.dev.bench.busy import Window, idle_cores, mark
from streams.dev.bench.latency import send_paced
from streams.dev.bench.workers import uncompressed
from streams.dev.broker import LocalBroker, local_settings
from streams.dev.generator import GeneratedRecord
from streams.dev.produce import produce_records
from streams.runtime.kafka import consumer_for, ensure_topics, producer_for
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics

RELAY_TOPIC = "bench.relay"
PARTITIONS = 8
"""The relay topic's partitions: the worker's internal topics' default."""
BATCH_WAIT_S = 0.1
COMMIT_EVERY_S = 0.5

Batch = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


async def _gather(consumer: AIOKafkaConsumer) -> Batch:
    """A batch: what arrives within BATCH_WAIT_S of its first record."""
    batch: Batch = {}
    deadline: float | None = None
    while True:
        remaining = BATCH_WAIT_S if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            return batch
        fetched = await consumer.getmany(timeout_ms=max(1, int(remaining * 1000)))
        for tp, records in fetched.items():
            batch.setdefault(tp, []).extend(records)
        if deadline is None:
            if not batch:
                return batch
            deadline = time.monotonic() + BATCH_WAIT_S


class _Committer:
    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.last = 0.0

    async def maybe(self) -> None:
        if time.monotonic() - self.last >= COMMIT_EVERY_S:
            self.last = time.monotonic()
            await self.consumer.commit()


async def relay(settings: Settings, count_file: Path) -> None:
    """Relay the channel topics to RELAY_TOPIC and count what comes back,
    until cancelled."""
    channels = consumer_for(settings, "bench-relay-in")
    channels.subscribe(list(Topics(settings.topic_prefix).channels))
    relayed = consumer_for(settings, "bench-relay-out")
    relayed.subscribe([RELAY_TOPIC])
    producer = producer_for(settings)
    for client in (channels, relayed, producer):
        await client.start()
    while not (channels.assignment() and relayed.assignment()):  # joined: ready
        await asyncio.gather(channels.getmany(timeout_ms=100), relayed.getmany(timeout_ms=100))
    count_file.write_text("0")
    counted = 0

    async def send_on() -> None:
        committer = _Committer(channels)
        while True:
            batch = await _gather(channels)
            bundles: dict[int, list[bytes]] = {}
            for records in batch.values():
                for record in records:
                    value = record.value or b""
                    with contextlib.suppress(orjson.JSONDecodeError):  # sent on all the same
                        orjson.loads(value)
                    key = record.key or b""
                    bundles.setdefault(zlib.crc32(key) % PARTITIONS, []).append(value)
            sent = [
                await producer.send(RELAY_TOPIC, b"\n".join(values), partition=partition)
                for partition, values in bundles.items()
            ]
            await asyncio.gather(*sent)
            await committer.maybe()

    async def count() -> None:
        nonlocal counted
        committer = _Committer(relayed)
        while True:
            batch = await _gather(relayed)
            for records in batch.values():
                counted += sum((record.value or b"").count(b"\n") + 1 for record in records)
            if batch:
                await committer.maybe()
                count_file.write_text(str(counted))

    await asyncio.gather(send_on(), count())


def _counted(count_file: Path) -> int:
    text = count_file.read_text() if count_file.exists() else ""
    return int(text) if text.isdigit() else 0


def _wait_counted(count_file: Path, expected: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 600
    while not count_file.exists() or _counted(count_file) < expected:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the relay stopped at {_counted(count_file)} of {expected}")
        time.sleep(0.02)


def measure_floor(
    backlog: Sequence[GeneratedRecord],
    windows: Sequence[tuple[float, Sequence[GeneratedRecord]]],
    idle_seconds: float,
    folder: Path,
) -> dict[str, Any]:
    """The relay's CPU a record draining `backlog`, then at each (rate,
    records) of `windows`, its idle cost taken out as for the worker."""
    folder.mkdir(parents=True, exist_ok=True)
    count_file = folder / "counted"
    with LocalBroker(log_path=folder / "tansu.log") as broker:
        settings = local_settings(broker.url, folder / "data")
        channels = dict.fromkeys(
            Topics(settings.topic_prefix).channels, settings.channel_partitions
        )
        asyncio.run(ensure_topics(settings, {**channels, RELAY_TOPIC: PARTITIONS}))
        command = [sys.executable, "-m", __name__, broker.url, str(count_file)]
        with open(folder / "relay.log", "ab") as log:
            process = subprocess.Popen(command, stdout=log, stderr=log)
        try:
            _wait_counted(count_file, 0, process)  # started and joined
            time.sleep(1)  # its start's last work done: not counted in the backlog's
            start = mark(process.pid)
            asyncio.run(produce_records(uncompressed(settings), backlog))
            _wait_counted(count_file, len(backlog), process)
            drained = Window.between(start, mark(process.pid))
            idle = idle_cores(process.pid, idle_seconds)
            expected, figures = len(backlog), []
            for rate, records in windows:
                start = mark(process.pid)
                asyncio.run(send_paced(uncompressed(settings), records, rate))
                expected += len(records)
                _wait_counted(count_file, expected, process)
                window = Window.between(start, mark(process.pid))
                figures.append(
                    {
                        "offered_records_per_s": rate,
                        "records": len(records),
                        "cpu_s": round(window.cpu_s, 3),
                        "window_s": round(window.seconds, 3),
                    }
                )
        finally:
            process.terminate()
            process.wait(timeout=10)
    return {
        "records": len(backlog),
        "cpu_s": round(drained.cpu_s, 3),
        "window_s": round(drained.seconds, 3),
        "cpu_us_per_record": drained.us_per_event(idle, len(backlog)),
        "idle_cores": idle,
        "windows": figures,
    }


def main(argv: Sequence[str]) -> None:
    url, count_file = argv
    settings = local_settings(url, Path(count_file).parent / "data")
    asyncio.run(relay(settings, Path(count_file)))


if __name__ == "__main__":
    main(sys.argv[1:])
