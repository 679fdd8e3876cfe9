"""How long from the events that cross an alert condition to the alert at a
webhook: one worker (embedded ClickHouse, a local tansu broker), a CSAT
threshold per store, and `crossings` stores that each get a burst of bad
answers at a random moment. The delay is produce start to webhook arrival."""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from schemas import Channel
from streams.dev.bench.webhook import WebhookReceiver
from streams.dev.broker import LocalBroker, local_settings
from streams.dev.child_worker import ChildWorker
from streams.dev.generator.live import answers
from streams.dev.produce import produce_records

RULE = """[[rule]]
name = "csat-low"
metric = "csat"
by = ["store_id"]
window = "1h"
condition = { kind = "threshold", below = 70 }
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(crossings: int = 20, interval_s: float = 2.0, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="cx-bench-alerts-"))
    rules = folder / "alerts.toml"
    rules.write_text(RULE)
    delays: list[float] = []
    with LocalBroker(log_path=folder / "tansu.log") as broker, WebhookReceiver() as webhook:
        settings = local_settings(
            broker.url,
            folder,
            alert_rules=rules,
            alert_interval_seconds=interval_s,
            alert_webhooks=webhook.url,
            log_level="WARNING",
        )
        worker = ChildWorker(settings, folder / "worker.log").start()
        try:
            for n in range(crossings):
                time.sleep(rng.uniform(0, interval_s))  # not in step with the evaluations
                store, now = f"bench-store-{n}", int(time.time() * 1000)
                burst = answers(Channel.STORE, "csat", [1] * 40, now - 300_000, now, store_id=store)
                started = time.monotonic()
                asyncio.run(produce_records(settings, burst))
                arrived = _arrival(webhook, f"store_id={store}", worker)
                delays.append(arrived - started)
        finally:
            worker.stop()
    return {
        "crossings": crossings,
        "evaluation_interval_s": interval_s,
        "delay_p50_s": round(statistics.median(delays), 3),
        "delay_p90_s": round(_percentile(delays, 0.9), 3),
        "delay_max_s": round(max(delays), 3),
        "delay_min_s": round(min(delays), 3),
    }


def _arrival(
    webhook: WebhookReceiver, slice_key: str, worker: ChildWorker, timeout: float = 60
) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for at, body in webhook.received:
            if body["slice"] == slice_key and body["status"] == "firing":
                return at
        time.sleep(0.01)
    raise TimeoutError(f"no alert for {slice_key} within {timeout}s (log: {worker.log_path})")
