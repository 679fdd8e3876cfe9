"""The straightforward faust peer of the throughput benchmark: one agent, one
event at a time, the same outputs (touchpoints, journeys, dead letters).

A point of comparison, not a second processor: no identity log, no eviction,
no delivery care. What it does and does not do, and how it is launched:
docs/performance.md, "The faust peer".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NamedTuple

import faust
import mode

from streams.clickhouse.bundle import Row, encode_rows
from streams.clickhouse.client import OffLoopStore, Store
from streams.clickhouse.migrate import migrate
from streams.deadletters.letter import DeadLetter
from streams.deadletters.rows import dead_letter_columns
from streams.dev.bench.peer_journeys import PeerJourneys
from streams.dev.bench.procfs import status_kb
from streams.identity.graph import Evidence, IdentityGraph, Move
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.route import ingest_record
from streams.ingest.touchpoint import Touchpoint, identifiers_of
from streams.journeys.rows import JOURNEY_COLUMNS
from streams.journeys.rules import JourneyRules
from streams.journeys.steps import step_of
from streams.runtime.partitioning import partition_of
from streams.runtime.settings import Settings, load_settings
from streams.runtime.topics import Topics
from streams.runtime.worker import QuickExitWorker
from streams.store.rows import TOUCHPOINT_COLUMNS, touchpoint_row

FLUSH_ROWS = 5000
FLUSH_WITHIN_S = 1.0
"""Longest a buffered row waits for its batch to fill."""
FLUSH_IDLE_S = 0.1
"""A batch is also written once no event came for this long (the end of a
backlog is not held back for `FLUSH_WITHIN_S`)."""
log = logging.getLogger(__name__)


class _Record(NamedTuple):
    """A faust message as `ingest_record` reads it (timestamp in ms)."""

    topic: str
    partition: int
    offset: int
    timestamp: int | None
    key: bytes | None
    value: bytes | None


def _record_of(message: Any) -> _Record:
    seconds = message.timestamp  # faust turns Kafka's ms into float seconds
    return _Record(
        message.topic,
        message.partition,
        message.offset,
        None if seconds is None else round(seconds * 1000),
        message.key,
        message.value,
    )


class Clock(NamedTuple):
    wall: float
    """time.perf_counter()"""
    cpu: float
    """time.process_time(): CPU time of every thread of the process"""


class Stored(NamedTuple):
    """What one valid event makes: its touchpoint, its person, and the rows
    of that person's journeys (a new version)."""

    touchpoint: Touchpoint
    customer_key: str
    journey_rows: list[Row]


class PeerIngest:
    """Per event: validate and normalise, drop a repeated event id, stitch,
    fold the person's journeys."""

    def __init__(self, settings: Settings) -> None:
        self.channels = Topics(settings.topic_prefix).channels
        self.pseudonymizer = Pseudonymizer(settings.require_pii_secret())
        self.graph = IdentityGraph(settings.identity_rules)
        self.journeys = PeerJourneys(
            JourneyRules(inactivity_gap_ms=settings.journey_gap_minutes * 60_000)
        )
        self.seen: set[str] = set()
        self.received = 0
        self.duplicates = 0

    def handle(self, record: _Record) -> Stored | DeadLetter | None:
        """What to store for `record`; None for a duplicate."""
        self.received += 1
        now_ms = time.time_ns() // 1_000_000
        outcome = ingest_record(record, self.channels[record.topic], now_ms, self.pseudonymizer)
        if isinstance(outcome, DeadLetter):
            return outcome
        if outcome.event_id in self.seen:
            self.duplicates += 1
            return None
        self.seen.add(outcome.event_id)
        key, moves = self._stitch(outcome)
        return Stored(outcome, key, self.journeys.add(key, step_of(outcome), moves))

    def _stitch(self, tp: Touchpoint) -> tuple[str, list[Move]]:
        """As ingest and the identity replica do, for one event: its person,
        and the people its evidence merged into others."""
        ids = identifiers_of(tp.identifiers)
        moves: list[Move] = []
        if len(ids) > 1 and self.graph.is_news(ids):
            change = self.graph.observe(
                Evidence(tp.event_id, tp.occurred_at_ms, tp.channel.value, ids)
            )
            moves = change.moves
        return self.graph.resolve(ids), moves


_ROW_COLUMNS = {"touchpoints": TOUCHPOINT_COLUMNS, "journeys": JOURNEY_COLUMNS}
"""Tables written as JSON rows; dead letters go in as columns."""
_TABLES = (*_ROW_COLUMNS, "deadletters")


class PeerSink:
    """Buffers rows and inserts them off the event loop, one insert in
    flight per table; counts what is stored and sets `done` once `expected`
    (touchpoints, dead letters) are, their journeys included."""

    def __init__(self, settings: Settings, expected: tuple[int, int] | None = None) -> None:
        self.lanes = {table: OffLoopStore(Store.of(settings)) for table in _TABLES}
        """One connection and thread per table, as our worker has."""
        self.route_partitions = settings.internal_partitions
        self.deadletter_partitions = settings.channel_partitions
        self.expected = expected
        self.touchpoints: list[Row] = []
        self.journeys: list[Row] = []
        self.dead_letters: list[DeadLetter] = []
        self.oldest: float | None = None
        self.newest = 0.0
        self.stored = (0, 0)
        self.first_stored: Clock | None = None
        self.all_stored: Clock | None = None
        self.error: BaseException | None = None
        self.insert_s = 0.0
        """Time spent inserting (on the lanes' threads, summed)."""
        self.blocked_s = 0.0
        """Time the agent or the timer waited for an insert in flight."""
        self.done = asyncio.Event()
        self._lock = asyncio.Lock()
        self._inflight: dict[str, asyncio.Future[None]] = {}
        """Per table, its latest insert."""
        self._counting: set[asyncio.Future[None]] = set()

    async def start(self) -> None:
        await self.lanes["touchpoints"].run("migrate", migrate)

    async def add(self, row: Stored | DeadLetter) -> None:
        if isinstance(row, DeadLetter):
            self.dead_letters.append(row)
        else:
            tp = row.touchpoint
            route = partition_of(tp.person_key.encode(), self.route_partitions)
            self.touchpoints.append(touchpoint_row(tp, row.customer_key, route))
            self.journeys += row.journey_rows
        self.newest = time.monotonic()
        if self.oldest is None:
            self.oldest = self.newest
        if len(self.touchpoints) + len(self.dead_letters) >= FLUSH_ROWS:
            await self.flush()

    async def flush_if_due(self) -> None:
        """Write the buffer if it waited long enough (and no write is
        waiting for the one in flight already)."""
        if self.oldest is None or self._lock.locked():
            return
        now = time.monotonic()
        if now - self.oldest >= FLUSH_WITHIN_S or now - self.newest >= FLUSH_IDLE_S:
            await self.flush()

    async def flush(self) -> None:
        """Hand each table's rows to its lane, once that lane's previous
        insert is done."""
        async with self._lock:
            if self.oldest is None or self.done.is_set():
                return
            batches: dict[str, list[Any]] = {
                "touchpoints": self.touchpoints,
                "journeys": self.journeys,
                "deadletters": self.dead_letters,
            }
            counts = (len(self.touchpoints), len(self.dead_letters))
            self.touchpoints, self.journeys, self.dead_letters, self.oldest = [], [], [], None
            writes = []
            for table, rows in batches.items():
                if not rows:
                    continue
                previous = self._inflight.get(table)
                if previous is not None and not previous.done():
                    waited = time.perf_counter()
                    await previous
                    self.blocked_s += time.perf_counter() - waited
                self._inflight[table] = asyncio.ensure_future(self._write(table, rows))
                writes.append(self._inflight[table])
            counting = asyncio.ensure_future(self._count_after(writes, *counts))
            self._counting.add(counting)
            counting.add_done_callback(self._counting.discard)

    async def _write(self, table: str, rows: list[Any]) -> None:
        started = time.perf_counter()
        lane = self.lanes[table]
        try:
            if table == "deadletters":
                letters = [
                    (letter, partition_of(letter.position_key, self.deadletter_partitions), 0)
                    for letter in rows
                ]
                await lane.insert(table, dead_letter_columns(letters), dedup_token=None)
            else:
                columns = _ROW_COLUMNS[table]
                await lane.insert_rows(table, columns, encode_rows(rows), dedup_token=None)
        except Exception as exc:  # reported by the CLI: no result, exit 1
            log.exception("insert failed")
            self.error = exc
            self.done.set()
            return
        self.insert_s += time.perf_counter() - started

    async def _count_after(
        self, writes: list[asyncio.Future[None]], touchpoints: int, letters: int
    ) -> None:
        """Count a flush as stored once all its tables are written (a lane's
        inserts are in order, so the earlier flushes are written too)."""
        await asyncio.gather(*writes)
        if self.error is None:
            self._count(touchpoints, letters)

    def _count(self, touchpoints: int, letters: int) -> None:
        now = Clock(time.perf_counter(), time.process_time())
        if self.first_stored is None:
            self.first_stored = now
        self.stored = (self.stored[0] + touchpoints, self.stored[1] + letters)
        if self.expected is not None and all(
            got >= want for got, want in zip(self.stored, self.expected, strict=True)
        ):
            self.all_stored = now
            self.done.set()


def faust_options(settings: Settings) -> dict[str, Any]:
    """faust settings for a quick start on a local broker: the group
    timeouts of our settings (a join in seconds, not ~30 s), no leader
    topic, no web server, memory tables, data under `data_dir`."""
    return {
        "broker": settings.broker_url,
        "store": "memory://",
        "datadir": str(settings.data_dir / "faust-peer"),
        "web_enabled": False,
        "topic_partitions": settings.channel_partitions,
        "topic_replication_factor": settings.replication_factor,
        "topic_disable_leader": True,
        "consumer_auto_offset_reset": "earliest",
        "broker_session_timeout": settings.kafka_session_timeout_ms / 1000,
        "broker_heartbeat_interval": settings.kafka_heartbeat_interval_ms / 1000,
        "broker_rebalance_timeout": settings.kafka_rebalance_timeout_ms / 1000,
        "stream_wait_empty": False,
    }


def build_app(
    settings: Settings, sink: PeerSink | None = None, ingest: PeerIngest | None = None
) -> faust.App:
    """The peer: one agent on the channel topics, one event at a time."""
    peer_sink = sink or PeerSink(settings)
    peer_ingest = ingest or PeerIngest(settings)
    app = faust.App(f"{settings.app_id}-faust-peer", **faust_options(settings))
    channels = app.topic(
        *Topics(settings.topic_prefix).channels, key_serializer="raw", value_serializer="raw"
    )

    # A crash is a bug: stop the worker rather than restart the agent.
    @app.agent(channels, name="ingest", supervisor_strategy=mode.CrashingSupervisor)
    async def ingest_events(stream: faust.StreamT[bytes]) -> None:
        await peer_sink.start()
        async for event in stream.events():
            row = peer_ingest.handle(_record_of(event.message))
            if row is not None:
                await peer_sink.add(row)

    @app.timer(FLUSH_IDLE_S)  # type: ignore[untyped-decorator]
    async def flush_due() -> None:
        await peer_sink.flush_if_due()

    return app


# -- the child process ---------------------------------------------------------


def _result(sink: PeerSink, ingest: PeerIngest) -> dict[str, Any]:
    first, last = sink.first_stored, sink.all_stored
    assert first is not None and last is not None
    seconds = last.wall - first.wall
    return {
        "seconds": round(seconds, 3),
        "touchpoints": sink.stored[0],
        "deadletters": sink.stored[1],
        "records": ingest.received,
        "duplicates": ingest.duplicates,
        "journey_versions": ingest.journeys.versions,
        "records_per_s": round(ingest.received / seconds) if seconds > 0 else None,
        "cpu_s": round(last.cpu - first.cpu, 3),
        "insert_s": round(sink.insert_s, 3),
        "blocked_on_insert_s": round(sink.blocked_s, 3),
        "peak_rss_mb": status_kb("VmHWM") // 1024,
    }


def _finisher(
    sink: PeerSink, ingest: PeerIngest, out: Path
) -> Callable[[], Coroutine[Any, Any, None]]:
    async def finish() -> None:
        await sink.done.wait()
        if sink.error is None:
            out.write_text(json.dumps(_result(sink, ingest), indent=2) + "\n")
        os.kill(os.getpid(), signal.SIGTERM)  # faust's own orderly shutdown

    return finish


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--valid", type=int, required=True, help="touchpoints to wait for")
    parser.add_argument("--invalid", type=int, required=True, help="dead letters to wait for")
    args = parser.parse_args(argv)
    settings = load_settings()
    args.out.unlink(missing_ok=True)
    sink = PeerSink(settings, expected=(args.valid, args.invalid))
    ingest = PeerIngest(settings)
    app = build_app(settings, sink, ingest)
    app.task(_finisher(sink, ingest, args.out))
    worker = QuickExitWorker(app, loglevel=settings.log_level, quiet=True)
    with contextlib.suppress(SystemExit):
        worker.execute_from_commandline()
    if not args.out.exists():
        raise SystemExit("the faust peer stopped before it stored everything")


# -- the parent side -----------------------------------------------------------


def run_faust_peer(
    settings: Settings, folder: Path, valid: int, invalid: int, timeout_s: float = 600
) -> dict[str, Any]:
    """Run the peer as a child process until `valid` touchpoints and
    `invalid` dead letters are stored; its figures, with its peak memory.
    `settings` need an app id and a ClickHouse directory of their own."""
    out, log_path = folder / "faust-peer.json", folder / "faust-peer.log"
    command = [sys.executable, "-m", "streams.dev.bench.faust_peer", "--out", str(out)]
    command += ["--valid", str(valid), "--invalid", str(invalid)]
    env = {**os.environ, **settings.to_env()}
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=log_file)
    try:
        code = process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"faust peer not done within {timeout_s}s (log: {log_path})") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if code != 0 or not out.exists():
        raise RuntimeError(f"faust peer exited with code {code} (log: {log_path})")
    return dict(json.loads(out.read_text()))


if __name__ == "__main__":
    main()
