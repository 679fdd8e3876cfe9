"""Infrastructure faults under a running worker: a full disk under the
embedded ClickHouse, a broker that stops answering. Each is waited out with
backoff and reported in /health while it lasts; nothing is lost or stored
twice, and SIGTERM ends the worker within docker-compose's grace period
whatever it waits on."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.dev.broker import LocalBroker
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.produce import produce_records
from streams.runtime.settings import Settings
from tests import oracle
from tests.integration.harness import isolated_settings
from tests.stored import snapshot

GRACE_S = 30
"""docker-compose.yml's stop_grace_period for the worker."""
SHOWN_AFTER_S = 1
"""CX_HEALTH_WAIT_SECONDS here: /health shows a wait after a second, not
five (each test waits for it to show twice)."""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 96 MB tmpfs: a disk the test can fill. Mounting needs root (CI and
    these machines run as root); without it the test fails, it does not
    skip."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the disk-full test: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write a ballast file until the disk is full."""
    ballast = disk / "ballast"
    with open(ballast, "wb") as out:
        chunk = b"\0" * (1024 * 1024)
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError:
            pass
    return ballast


def waiting_on(worker: ChildWorker, text: str, timeout: float = 90) -> dict[str, Any]:
    """Until /health answers 503 `waiting` on something that mentions `text`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.exit_code(within=0) is None, "the worker died instead of waiting"
        health = worker.health()
        if (
            health is not None
            and health[0] == 503
            and health[1].get("status") == "waiting"
            and any(text in str(wait) for wait in health[1]["waiting"])
        ):
            return health[1]
        time.sleep(0.5)
    raise AssertionError(f"/health never said it was waiting on {text!r}: last {health}")


def healthy_again(worker: ChildWorker, timeout: float = 60) -> None:
    """Until /health answers 200 ok (what waited has had its next attempt)."""
    deadline = time.monotonic() + timeout
    while worker.health() != (200, {"status": "ok"}) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert worker.health() == (200, {"status": "ok"})


def stops_within_grace(worker: ChildWorker) -> None:
    """SIGTERM: exit 0 within docker-compose's grace period."""
    stopping = time.monotonic()
    assert worker.stop(timeout=GRACE_S) == 0
    assert time.monotonic() - stopping < GRACE_S


def restarted_stores_exactly(settings: Settings, records: list[GeneratedRecord], log: Path) -> None:
    """A new worker stores what was left; then ClickHouse holds each valid
    event once and each invalid one once."""
    worker = ChildWorker(settings, log).start()
    try:
        worker.wait_stored(len(oracle.valid(records)), len(oracle.invalid(records)))
    finally:
        assert worker.stop() == 0
    stored = snapshot(settings)
    valid = {r.truth.event_id for r in oracle.valid(records)}
    assert (stored.count, stored.unique_ids) == (len(valid), len(valid))
    assert stored.dead_letters_by_reason() == oracle.dead_letters_by_reason(records)


def test_a_full_disk_is_waited_out_reported_and_survives_sigterm(
    broker: LocalBroker, small_disk: Path, tmp_path: Path
) -> None:
    records = generate_traffic(TrafficSpec(people=300, seed=71))
    thirds = [records[i::3] for i in range(3)]
    settings = isolated_settings(
        broker,
        tmp_path,
        clickhouse_url=f"chdb://{small_disk / 'ch'}",
        health_wait_seconds=SHOWN_AFTER_S,
    )
    log = tmp_path / "worker.log"
    worker = ChildWorker(settings, log).start()
    try:
        asyncio.run(produce_records(settings, thirds[0]))
        worker.wait_stored(len(oracle.valid(thirds[0])), 0)

        # Full: the store waits, says so, and carries on once there is room.
        ballast = fill(small_disk)
        asyncio.run(produce_records(settings, thirds[1]))
        body = waiting_on(worker, "NOT_ENOUGH_SPACE")
        assert any(w["what"].startswith("clickhouse: insert into") for w in body["waiting"])
        ballast.unlink()
        worker.wait_stored(len(oracle.valid(thirds[0] + thirds[1])), 0)
        healthy_again(worker)  # each sink's next attempt: at most 30 s away

        # Full again, and stopped while it waits: within the grace period.
        ballast = fill(small_disk)
        asyncio.run(produce_records(settings, thirds[2]))
        waiting_on(worker, "NOT_ENOUGH_SPACE")
        stops_within_grace(worker)
    finally:
        if worker.exit_code(within=0) is None:
            worker.kill()
    ballast.unlink()
    restarted_stores_exactly(settings, records, tmp_path / "worker-2.log")
    text = log.read_text()
    assert "NOT_ENOUGH_SPACE" in text and "Traceback" not in text


def test_a_paused_broker_is_reported_survived_and_no_obstacle_to_sigterm(tmp_path: Path) -> None:
    records = generate_traffic(TrafficSpec(people=200, seed=73))
    thirds = [records[i::3] for i in range(3)]
    with LocalBroker(log_path=tmp_path / "tansu.log") as own:
        settings = isolated_settings(own, tmp_path, health_wait_seconds=SHOWN_AFTER_S)
        worker = ChildWorker(settings, tmp_path / "worker.log").start()
        try:
            asyncio.run(produce_records(settings, thirds[0]))
            os.kill(own.pid, signal.SIGSTOP)
            try:
                body = waiting_on(worker, "kafka: reach the broker", timeout=60)
                assert body["status"] == "waiting"
            finally:
                os.kill(own.pid, signal.SIGCONT)
            asyncio.run(produce_records(settings, thirds[1]))
            worker.wait_stored(len(oracle.valid(thirds[0] + thirds[1])), 0)
            healthy_again(worker)

            # Paused again, and stopped while it is: within the grace period.
            asyncio.run(produce_records(settings, thirds[2]))
            os.kill(own.pid, signal.SIGSTOP)
            try:
                waiting_on(worker, "kafka: reach the broker", timeout=60)
                stops_within_grace(worker)
            finally:
                os.kill(own.pid, signal.SIGCONT)
        finally:
            if worker.exit_code(within=0) is None:
                worker.kill()
        restarted_stores_exactly(settings, records, tmp_path / "worker-2.log")
    log = (tmp_path / "worker.log").read_text()
    assert "the broker does not answer" in log and "the broker answers again" in log
