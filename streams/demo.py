"""`cx demo`: the whole pipeline on one machine, from nothing.

Starts a local broker (tansu) and a worker on an embedded ClickHouse, sends
seeded omnichannel traffic, waits until everything is stored, and prints a
summary read back from ClickHouse next to what the generator says it sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from streams.devbroker import LocalBroker, free_port
from streams.generator import TrafficSpec, generate_traffic
from streams.produce import produce_records
from streams.settings import DEV_PII_SECRET, Settings
from streams.store.clickhouse import Store
from streams.summary import render_summary


def fetch_stats(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=2) as response:
            return dict(json.load(response))
    except OSError:
        return None


def wait_healthy(port: int, worker: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with code {worker.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("the worker did not become healthy in time")


def start_worker(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings.to_env()}
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=log, stderr=log
        )


def stop_worker(worker: subprocess.Popen[bytes]) -> int:
    worker.send_signal(signal.SIGTERM)
    try:
        return worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        return worker.wait()


def run_demo(people: int, seed: int, data_dir: Path) -> None:
    data_dir = data_dir.resolve()
    clickhouse_dir = data_dir / "clickhouse"
    shutil.rmtree(clickhouse_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    say = print

    with LocalBroker(log_path=data_dir / "tansu.log") as broker:
        settings = Settings(
            broker_url=broker.url,
            clickhouse_url=f"chdb://{clickhouse_dir}",
            data_dir=data_dir,
            pii_secret=DEV_PII_SECRET,  # type: ignore[arg-type]
            web_port=free_port(),
            kafka_session_timeout_ms=6000,
            kafka_heartbeat_interval_ms=1000,
            kafka_rebalance_timeout_ms=6000,
        )
        say(f"broker:     tansu on {broker.url} (in memory)")
        say(f"clickhouse: embedded, {clickhouse_dir}")
        worker = start_worker(settings, data_dir / "worker.log")
        say(f"worker:     pid {worker.pid}, http://127.0.0.1:{settings.web_port}/stats, log {data_dir / 'worker.log'}")
        try:
            wait_healthy(settings.web_port, worker, timeout=120)
            start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7)
            records = generate_traffic(TrafficSpec(people=people, seed=seed, start=start))
            kinds = Counter(r.truth.kind for r in records)
            say(
                f"traffic:    {len(records):,} records from {people:,} people over 7 days "
                f"({kinds['valid']:,} valid, {kinds['invalid']:,} invalid, {kinds['duplicate']:,} duplicate deliveries)"
            )
            began = time.monotonic()
            asyncio.run(produce_records(settings, records))
            say(f"produced:   {len(records):,} records in {time.monotonic() - began:.1f}s")
            _wait_stored(settings.web_port, worker, kinds["valid"], kinds["invalid"], began)
        finally:
            code = stop_worker(worker)
        say(f"worker stopped (exit code {code})\n")

    store = Store(settings.clickhouse_url, settings.database)
    try:
        say(render_summary(store))
    finally:
        store.close()
    say(f"\nexpected from the generator: {kinds['valid']:,} touchpoints, {kinds['invalid']:,} dead letters")


def _wait_stored(port: int, worker: subprocess.Popen[bytes], valid: int, invalid: int, began: float) -> None:
    last = ""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with code {worker.returncode}")
        stats = fetch_stats(port) or {}
        stored = stats.get("clickhouse", {})
        touchpoints, dead = stored.get("touchpoints", 0), stored.get("deadletters", 0)
        line = (
            f"\rprocessing: received {stats.get('ingest', {}).get('received', 0):,} | "
            f"touchpoints {touchpoints:,}/{valid:,} | dead letters {dead:,}/{invalid:,} | "
            f"duplicates dropped {stats.get('store', {}).get('duplicates', 0):,}"
        )
        if line != last and sys.stdout.isatty():
            print(line, end="", flush=True)
            last = line
        if touchpoints >= valid and dead >= invalid:
            print(f"{chr(10) if last else ''}stored:     all in {time.monotonic() - began:.1f}s after the first record was sent")
            return
        time.sleep(0.5)
    raise SystemExit("\nthe worker did not store everything in time")
