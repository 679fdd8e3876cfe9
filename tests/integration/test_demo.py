"""`cx demo` is the README's first command: run it as a user would."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from streams.dev.bench.topic_batches import held_by_codec
from streams.dev.broker import LocalBroker, free_port


def run_demo(folder: Path, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "demo", "--people", "300", "--data-dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def figure(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, pattern
    return int(found[1].replace(",", ""))


def assert_summary_matches_the_generator(out: str) -> None:
    stored = figure(r"touchpoints stored: ([\d,]+)", out)
    dead = figure(r"dead letters:\s+([\d,]+)", out)
    expected = re.search(
        r"expected from the generator: ([\d,]+) touchpoints, ([\d,]+) dead letters", out
    )
    assert expected is not None
    assert (stored, dead) == tuple(int(g.replace(",", "")) for g in expected.groups())
    assert "worker stopped (exit code 0)" in out
    for heading in ("awareness", "post_purchase", "invalid_json", "EUR"):
        assert heading in out


def test_demo_starts_a_broker_when_none_runs(tmp_path: Path) -> None:
    nobody = f"kafka://127.0.0.1:{free_port()}"
    out = run_demo(tmp_path, CX_BROKER_URL=nobody)
    assert "started for the demo" in out
    assert_summary_matches_the_generator(out)


def test_demo_uses_a_running_broker(broker: LocalBroker, tmp_path: Path) -> None:
    # lz4, not the default (zstd): the setting reaches the demo's sends and the worker.
    out = run_demo(tmp_path, CX_BROKER_URL=broker.url, CX_KAFKA_COMPRESSION="lz4")
    assert f"{broker.url} (already running" in out
    assert_summary_matches_the_generator(out)
    prefix = re.search(r"this run's topics: (\S+)\*", out)
    assert prefix is not None
    for topic in (f"{prefix[1]}web", f"{prefix[1]}touchpoints", f"{prefix[1]}journey-rows"):
        held = asyncio.run(held_by_codec(broker.url.split("://")[1], topic))
        assert list(held) == ["lz4"] and held["lz4"].records > 0, topic
