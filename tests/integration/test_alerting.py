"""Alerts end to end, dated around now: a store's NPS drops, the app's CES
collapses, the SMS channel goes silent. Exactly those alerts fire, reach a
real webhook receiver on loopback, and resolve when the traffic recovers; a
dip in a handful of app CSAT answers does not fire. The same run posts to
Slack, Teams, PagerDuty and Alertmanager receivers on loopback: each body
in its service's documented schema, resolves that match their triggers,
and no URL path, query or key in the worker's log. Alertmanager gets the
open alerts again every re-send interval, across a restart of the worker
(which pages no one again), each held four intervals ahead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

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
from tests.alert_schemas import problems
from tests.integration.harness import isolated_settings

MINUTE = 60_000
RESEND_S = 2
"""CX_ALERTMANAGER_RESEND_SECONDS here: open alerts re-sent every 2 s."""
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
SECRET = "s3cr3t"
ROUTING_KEY = f"{SECRET}R0UT1NGKEY0123456789abcdef"
TARGETS = """
[[target]]
format = "slack"
name = "cx-team"
url_env = "CX_TEST_SLACK_URL"

[[target]]
format = "teams"
url = "{teams}/webhookb2/s3cr3t-teams?sig=s3cr3t-sig"

[[target]]
format = "pagerduty"
url = "{pagerduty}/v2/enqueue"
routing_key_env = "CX_TEST_PAGERDUTY_KEY"
severities = ["critical"]

[[target]]
format = "alertmanager"
url = "{alertmanager}"
link = "https://grafana.example.com/d/cx"
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


@pytest.fixture
def services() -> Iterator[dict[str, WebhookReceiver]]:
    """A receiver per format, answering as the service does."""
    statuses = {"slack": 200, "teams": 202, "pagerduty": 202, "alertmanager": 200}
    with ExitStack() as stack:
        yield {f: stack.enter_context(WebhookReceiver(s)) for f, s in statuses.items()}


def wait_for(
    webhook: WebhookReceiver,
    count: int,
    worker: ChildWorker,
    timeout: float = 90,
    counted: Callable[[WebhookReceiver], int] = lambda receiver: len(receiver.received),
) -> None:
    deadline = time.monotonic() + timeout
    while counted(webhook) < count:
        assert time.monotonic() < deadline, f"only these alerts: {webhook.bodies}"
        worker.wait_until(lambda _: True, 10, "answering")  # raises if it died
        time.sleep(0.5)


WALL = time.time() - time.monotonic()
"""Add to a receiver's arrival time (time.monotonic()) for the wall clock."""


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp() * 1000


def alertmanager_posts(receiver: WebhookReceiver, since: float = 0.0) -> list[tuple[float, Any]]:
    """(arrival, wall clock ms, alert) of each alert posted to Alertmanager after `since`."""
    return [(t, alert) for t, body in receiver.received if t >= since for alert in body]


def fewest_posts(receiver: WebhookReceiver) -> int:
    """Posts of the alert posted least often so far (0 until all three were)."""
    counts: dict[Any, int] = {}
    for _, alert in alertmanager_posts(receiver):
        labels = tuple(sorted(alert["labels"].items()))
        counts[labels] = counts.get(labels, 0) + 1
    return min(counts.values()) if len(counts) == 3 else 0


def ended_posts(receiver: WebhookReceiver) -> int:
    """Alertmanager posts that ended their alert (endsAt not ahead of arrival)."""
    return sum(
        _ms(a["endsAt"]) <= (t + WALL) * 1000 + 1000 for t, a in alertmanager_posts(receiver)
    )


def test_exactly_the_injected_problems_alert_and_resolve(
    broker: LocalBroker,
    tmp_path: Path,
    webhook: WebhookReceiver,
    services: dict[str, WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = tmp_path / "alerts.toml"
    rules.write_text(RULES + TARGETS.format(**{f: r.base for f, r in services.items()}))
    monkeypatch.setenv(
        "CX_TEST_SLACK_URL", f"{services['slack'].base}/services/T0/B0/{SECRET}-slack"
    )
    monkeypatch.setenv("CX_TEST_PAGERDUTY_KEY", ROUTING_KEY)
    settings = isolated_settings(
        broker,
        tmp_path,
        alert_rules=rules,
        alert_interval_seconds=1,
        alert_webhooks=webhook.url,
        alertmanager_resend_seconds=RESEND_S,
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
        # each posted to Alertmanager when it fired, and again since
        wait_for(services["alertmanager"], 2, worker, timeout=20, counted=fewest_posts)
        # Restarted, the worker pages no one again, and re-sends the open
        # alerts (read back from the table) to Alertmanager.
        assert worker.stop() == 0
        restarted = time.monotonic()
        worker = ChildWorker(settings, tmp_path / "worker-restarted.log").start()
        wait_for(
            services["alertmanager"],
            3,
            worker,
            counted=lambda receiver: len(alertmanager_posts(receiver, restarted)),
        )
        assert len(webhook.received) == 3
        asyncio.run(produce_records(settings, recovery(int(time.time() * 1000))))
        wait_for(webhook, 6, worker)
        for format_, count in (("slack", 6), ("teams", 6), ("pagerduty", 4)):
            wait_for(services[format_], count, worker, timeout=20)
        wait_for(services["alertmanager"], 3, worker, timeout=20, counted=ended_posts)
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
    # the restarted worker's counts: it paged no one again and resolved all three
    assert metrics[("cx_alert_notices_total", ("firing",))] == 0
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
    check_services(received, services)
    check_alertmanager(received, services["alertmanager"], restarted)
    log = (tmp_path / "worker.log").read_text() + (tmp_path / "worker-restarted.log").read_text()
    assert "slack target cx-team at 127.0.0.1" in log  # targets are named by host
    for secret in (SECRET, "/services/", "/webhookb2", "/v2/enqueue", "sig="):
        assert secret not in log, secret


def check_services(received: list[Any], services: dict[str, WebhookReceiver]) -> None:
    """Every body as its service documents it; each resolve matches its
    trigger; the same summary a person reads everywhere."""
    for format_, receiver in services.items():
        for body in receiver.bodies:
            assert problems(format_, body) == [], (format_, body)
    drop = next(a for a in received if a["rule"] == "store-nps-drop")
    assert drop["change"] == pytest.approx(drop["value"] - drop["baseline"], abs=1e-3)
    assert drop["change"] < -10 and " fell to " in drop["summary"]
    assert f"({drop['change']:+.1f} points" in drop["summary"]
    summaries = {a["summary"] for a in received}
    assert {
        b["blocks"][0]["text"]["text"].split("\n", 1)[1] for b in services["slack"].bodies
    } == summaries
    teams = {b["attachments"][0]["content"]["body"][1]["text"] for b in services["teams"].bodies}
    assert teams == summaries
    assert sum("resolved after" in s for s in summaries) == 3

    events = services["pagerduty"].bodies  # critical only: the NPS drop and the silence
    triggers = [e for e in events if e["event_action"] == "trigger"]
    resolves = [e for e in events if e["event_action"] == "resolve"]
    assert {e["payload"]["group"] for e in triggers} == {"store-nps-drop", "channel-silent"}
    assert sorted(e["dedup_key"] for e in triggers) == sorted(e["dedup_key"] for e in resolves)
    assert {e["routing_key"] for e in events} == {ROUTING_KEY}
    assert services["pagerduty"].paths == ["/v2/enqueue"] * 4


def check_alertmanager(
    received: list[Any], alertmanager: WebhookReceiver, restarted: float
) -> None:
    """Each alert posted when it fired, again every RESEND_S before and
    after the restart with the same labels, start and annotations, held
    four intervals ahead of each post, then ended at the time it resolved,
    and never posted after that."""
    assert set(alertmanager.paths) == {"/api/v2/alerts"}
    posted = alertmanager_posts(alertmanager)
    resolved_at = {(a["rule"], a["slice"]): a["at"] for a in received if a["status"] == "resolved"}
    assert len({tuple(sorted(a["labels"].items())) for _, a in posted}) == 3
    for labels in {tuple(sorted(a["labels"].items())) for _, a in posted}:
        mine = [(t, a) for t, a in posted if tuple(sorted(a["labels"].items())) == labels]
        *firing, (_, ended) = mine  # the resolve comes last: nothing is re-sent after it
        rule = dict(labels)["alertname"]
        slice_key = next(s for r, s in resolved_at if r == rule)
        assert ended["endsAt"] == resolved_at[(rule, slice_key)]
        before = [t for t, _ in firing if t < restarted]
        assert len(before) >= 2 and len(firing) - len(before) >= 1  # re-sent, and after the restart
        for t, alert in firing:
            held_s = (_ms(alert["endsAt"]) - (t + WALL) * 1000) / 1000
            assert 4 * RESEND_S - 1.5 <= held_s <= 4 * RESEND_S + 0.5, held_s
            assert alert["startsAt"] == ended["startsAt"] < alert["endsAt"]
            assert alert["annotations"] == firing[0][1]["annotations"]  # the table kept the notice
            assert alert["generatorURL"] == "https://grafana.example.com/d/cx"
