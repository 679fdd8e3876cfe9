"""The worker and sender settings every `cx bench` run starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.dev.broker import LocalBroker, local_settings
from streams.dev.child_worker import ChildWorker
from streams.runtime.settings import Settings

ALERT_RULES = Path(__file__).resolve().parents[3] / "deploy" / "alerts.toml"


def bench_worker(broker: LocalBroker, folder: Path, **overrides: Any) -> ChildWorker:
    """A worker on `broker`, not started: the embedded ClickHouse in
    `folder`, the alert rules of deploy/alerts.toml, warnings only."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = local_settings(
        broker.url, folder, log_level="WARNING", alert_rules=ALERT_RULES, **overrides
    )
    return ChildWorker(settings, folder / "worker.log")


def uncompressed(settings: Settings) -> Settings:
    """`settings` for sending the channel traffic: uncompressed, as most
    producers send (the worker's own topics keep its compression)."""
    return settings.model_copy(update={"kafka_compression": "none"})
