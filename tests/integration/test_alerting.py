"""Alerts end to end, dated around now: a store's NPS drops, the app's CES
collapses, the SMS channel goes silent. Exactly those alerts fire, reach a
real webhook receiver on loopback, and resolve when the traffic recovers; a
dip in a handful of app CSAT answers does not fire."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from schemas import Channel
from streams.clickhouse.client import Store
from streams.dev.bench.webhook import WebhookReceiver
from streams.dev.broker import LocalBroker
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import GeneratedRecord
from streams.dev.generator.live import answers, event
from streams.dev.produce import produce_records
from tests.integration.harness import isolated_settings

MINUTE = 60_000
RULES = """
[[rule]]
name = "store-nps-drop"
metric = "nps"
by = ["store_id"]
window = "24h"
severity = "critical"
condition = { kind = "drop", points = 10, baseline = "7d" }

[[rule]]
name = "app-ces-collapse"
metric = "ces"
slice = { channel = "app", dimension = "functional" }
window = "1h"
condition = { kind = "drop", points = 1.0, baseline = "7d" }

[[rule]]
name = "app-csat-low"
metric = "csat"
slice = { channel = "app" }
window = "1h"
condition = { kind = "threshold", below = 70 }

[[rule]]
name = "channel-silent"
metric = "events"
by = ["channel"]
window = "15m"
severity = "critical"
condition = { kind = "silence", baseline = "1d", min_expected = 5 }
"""


def history(now: int) -> tuple[list[GeneratedRecord], list[GeneratedRecord]]:
    """A normal week, then today's trouble."""
    day, week = 24 * 60 * MINUTE, 7 * 24 * 60 * MINUTE
    good_nps = [10] * 7 + [8] * 2 + [3]  # NPS 60
    normal: list[GeneratedRecord] = []
    for store in ("tehran-04", "paris-05"):
        normal += answers(
            Channel.SMS, "nps", good_nps * 30, now - week - day, now - day, store_id=store
        )
    normal += answers(
        Channel.APP, "ces", [6, 5, 6, 7] * 50, now - week - 60 * MINUTE, now - 60 * MINUTE
    )
    records: list[GeneratedRecord] = []
    records += answers(
        Channel.SMS,
        "nps",
        ([10] * 2 + [7] * 3 + [2] * 5) * 8,
        now - day,
        now - 30 * MINUTE,
        store_id="tehran-04",
    )  # NPS -30
    records += answers(
        Channel.SMS, "nps", good_nps * 8, now - day, now - 30 * MINUTE, store_id="paris-05"
    )
    # SMS deliveries all day, then nothing for the last 20 minutes.
    records += [
        event(Channel.SMS, "sms_delivered", t)
        for t in range(now - day - 20 * MINUTE, now - 20 * MINUTE, 90_000)
    ]
    # App CES: easy all week (above), hard in the last hour; a few bad CSAT answers.
    records += answers(Channel.APP, "ces", [2, 1, 3, 2] * 15, now - 50 * MINUTE, now - MINUTE)
    records += answers(Channel.APP, "csat", [1] * 8, now - 40 * MINUTE, now - MINUTE)
    return normal, records  # fmt: skip


def recovery(now: int) -> list[GeneratedRecord]:
    return [
        *answers(Channel.SMS, "nps", [10] * 400, now - 20 * MINUTE, now, store_id="tehran-04"),
        *answers(Channel.APP, "ces", [7, 6] * 100, now - 20 * MINUTE, now),
        *(event(Channel.SMS, "sms_delivered", now - i * 1000) for i in range(5)),
    ]


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def wait_for(
    webhook: WebhookReceiver, count: int, worker: ChildWorker, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while len(webhook.received) < count:
        assert time.monotonic() < deadline, f"only these alerts: {webhook.bodies}"
        worker.wait_until(lambda _: True, 10, "answering")  # raises if it died
        time.sleep(0.5)


def test_exactly_the_injected_problems_alert_and_resolve(
    broker: LocalBroker, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    rules = tmp_path / "alerts.toml"
    rules.write_text(RULES)
    settings = isolated_settings(
        broker, tmp_path, alert_rules=rules, alert_interval_seconds=1, alert_webhooks=webhook.url
    )
    worker = ChildWorker(settings, tmp_path / "worker.log").start()
    try:
        now = int(time.time() * 1000)
        normal, trouble = history(now)
        # The week is stored before today's trouble comes, as in real life (a
        # backlog of both at once may show the drop before its whole baseline).
        asyncio.run(produce_records(settings, normal))
        worker.wait_stored(len(normal), 0)
        asyncio.run(produce_records(settings, trouble))
        wait_for(webhook, 3, worker)
        time.sleep(3)  # a few more evaluations: nothing fires twice, nothing else fires
        fired = {(a["rule"], a["slice"]) for a in webhook.bodies}
        assert len(webhook.received) == 3
        asyncio.run(produce_records(settings, recovery(int(time.time() * 1000))))
        wait_for(webhook, 6, worker)
        time.sleep(3)
        metrics = {
            (sample.name, tuple(sample.labels.values())): sample.value
            for family in text_string_to_metric_families(worker.metrics())
            for sample in family.samples
        }
    finally:
        assert worker.stop() == 0
    received = webhook.bodies
    assert fired == {
        ("store-nps-drop", "store_id=tehran-04"),
        ("app-ces-collapse", "channel=app, dimension=functional"),
        ("channel-silent", "channel=sms"),
    }
    assert [a["status"] for a in received] == ["firing"] * 3 + ["resolved"] * 3
    assert metrics[("cx_alert_notices_total", ("firing",))] == 3
    assert metrics[("cx_alert_notices_total", ("resolved",))] == 3
    assert metrics[("cx_alerts_open", ())] == 0
    assert metrics[("cx_alert_evaluations_total", ())] > 3
    assert metrics[("cx_webhook_failures_total", ())] == 0
    assert {(a["rule"], a["slice"]) for a in received[3:]} == fired
    drop = next(a for a in received if a["rule"] == "store-nps-drop")
    # It fired as soon as the stored answers showed it (maybe before all 80).
    assert drop["baseline"] == pytest.approx(60.0) and 30 <= drop["n"] <= 80
    assert drop["value"] <= 60.0 - 10 and f"n={drop['n']} vs 300" in drop["reason"]
    silent = next(a for a in received if a["rule"] == "channel-silent")
    assert silent["reason"].startswith("data stopped")
    assert any(c["pain_point"] == "low_score" for c in drop["context"]), drop["context"]

    store = Store(settings.clickhouse_url, settings.database)
    try:
        stored = store.client.query(
            f"SELECT rule, slice, status FROM {settings.database}.alerts FINAL"
        ).result_rows
    finally:
        store.close()
    assert sorted(stored) == sorted((a["rule"], a["slice"], a["status"]) for a in received)
