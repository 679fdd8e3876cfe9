"""Alerting glue: every few seconds, evaluate the rules on the counts in
ClickHouse (the numbers BI sees), and deliver what fires or resolves to the
log, the `alerts` table, the alerts topic and the targets (generic webhooks,
Slack, Teams, PagerDuty, Alertmanager: streams/alerts/formats.py).

Targets are posted to in the background, each in order and on its own,
retried with backoff (a 4xx other than 429 is not), and never hold up the
evaluation or the stream. Open episodes are read back from the table
when the evaluator starts, so a restart does not page again. Alertmanager
targets also get the open alerts again every re-send interval (and right
after a start), each held a few intervals ahead, as Prometheus does."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from streams.alerts import formats
from streams.alerts.episodes import AlertEvent, Episode, advance
from streams.alerts.evaluate import Counts, evaluate
from streams.alerts.rules import TIME_METRICS, Rule, minutes
from streams.alerts.slices import metric_counts, time_counts
from streams.alerts.targets import Destination
from streams.clickhouse.client import OffLoopStore
from streams.runtime.handoff import Handoff
from streams.runtime.kafka import is_transient_kafka_error, produce_all
from streams.runtime.retry import with_backoff

log = logging.getLogger(__name__)
_MINUTE_MS = 60_000


class WebhookUnavailable(Exception):
    """A target answered 429 or 5xx, or could not be reached: retried."""


def _webhook_transient(exc: BaseException) -> bool:
    return isinstance(exc, (WebhookUnavailable, aiohttp.ClientError, asyncio.TimeoutError))


def _scrubbed(text: str, destination: Destination) -> str:
    """A target's answer, without its URL, path, query or key should it
    quote them."""
    parts = urlsplit(destination.url)
    for secret in (destination.url, destination.routing_key, parts.path, parts.query):
        if secret and len(secret) > 1:
            text = text.replace(secret, "[redacted]")
    return text


class AlertSinks:
    """Delivers notices: log, table, topic, then each target in the
    background. Each target has its own queue, so one that is down (and
    retried) holds up neither the others nor the evaluation."""

    def __init__(
        self,
        store: OffLoopStore,
        producer: AIOKafkaProducer,
        topic: str,
        destinations: list[Destination],
        crash: Callable[[BaseException], Awaitable[None]],
        resend_s: float = formats.ALERTMANAGER_RESEND_MS / 1000,
    ) -> None:
        self.store = store
        self.resend_s = resend_s
        """How often the evaluator re-sends open alerts to Alertmanager."""
        self.hold_ms = round(formats.ALERTMANAGER_HOLD_RESENDS * resend_s * 1000)
        """An Alertmanager alert's endsAt after each post, while it fires."""
        self.producer = producer
        self.topic = topic
        self.destinations = destinations
        self.posts: list[Handoff[dict[str, Any]]] = [
            Handoff(f"alert-target-{i}-{d.format}", partial(self._post_all, d), crash)
            for i, d in enumerate(destinations, 1)
        ]
        self.counts: Counter[str] = Counter()
        self.notices: Counter[str] = Counter()
        """Alerts delivered, by status (firing, resolved)."""
        self._session: aiohttp.ClientSession | None = None

    async def deliver(self, alerts: list[dict[str, Any]]) -> None:
        for alert in alerts:
            log.warning(
                "ALERT %s %s [%s] %s: %s (value %s, baseline %s, n=%s)",
                alert["status"],
                alert["rule"],
                alert["severity"],
                alert["slice"],
                alert["reason"],
                alert["value"],
                alert["baseline"],
                alert["n"],
            )
        await self.store.insert("alerts", alert_columns(alerts), dedup_token=None)
        bodies = [orjson.dumps(a) for a in alerts]
        await with_backoff(
            lambda: produce_all(
                self.producer,
                self.topic,
                [
                    (f"{a['rule']}/{a['slice']}".encode(), b, [])
                    for a, b in zip(alerts, bodies, strict=True)
                ],
            ),
            is_transient=is_transient_kafka_error,
            what="kafka: produce alerts",
        )
        self.counts["delivered"] += len(alerts)
        self.notices.update(str(a["status"]) for a in alerts)
        for destination, posts in zip(self.destinations, self.posts, strict=True):
            wanted = [a for a in alerts if destination.wants(a)]
            if wanted:
                posts.put(wanted)

    def resend(self, firing: list[dict[str, Any]]) -> None:
        """Post these open alerts (their firing notices) to the Alertmanager
        targets again, to keep them open there; the other targets heard once.
        Not to a target whose last re-send still waits (it is unreachable):
        one waiting is enough, and re-sends do not pile up while it is down."""
        for destination, posts in zip(self.destinations, self.posts, strict=True):
            wanted = [a for a in firing if destination.wants(a)]
            if wanted and destination.format == "alertmanager" and not posts.queued:
                posts.put(wanted)
                self.counts["alertmanager_resent"] += len(wanted)

    async def _post_all(self, destination: Destination, alerts: list[dict[str, Any]]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for alert in alerts:
            await with_backoff(
                # held from the moment it is (re)tried: a late post is not stale on arrival
                lambda alert=alert: self._post(  # type: ignore[misc]
                    destination,
                    formats.body(destination, alert, int(time.time() * 1000) + self.hold_ms),
                ),
                is_transient=_webhook_transient,
                what=f"webhook: post an alert to the {destination.label}",
                max_delay=60,
            )

    async def _post(self, destination: Destination, body: bytes) -> None:
        try:
            await self._post_once(destination, body)
        except Exception:
            self.counts["webhook_failed"] += 1
            raise

    async def _post_once(self, destination: Destination, body: bytes) -> None:
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        async with self._session.post(
            destination.url, data=body, headers=headers, allow_redirects=False
        ) as answer:
            if answer.status >= 500 or answer.status == 429:
                raise WebhookUnavailable(f"the {destination.label} answered {answer.status}")
            if answer.status >= 300:  # refused (or moved): retrying cannot help
                self.counts["webhook_refused"] += 1
                self.counts["webhook_failed"] += 1
                log.error(
                    "the %s refused an alert: %s %s",
                    destination.label,
                    answer.status,
                    _scrubbed((await answer.text(errors="replace"))[:200], destination),
                )
                return
            self.counts["webhook_posted"] += 1

    async def stop(self) -> None:
        for posts in self.posts:
            await posts.stop()
        if self._session is not None:
            await self._session.close()


class AlertEvaluator:
    def __init__(
        self,
        rules: list[Rule],
        store: OffLoopStore,
        sinks: AlertSinks,
        clock: Callable[[], float] = time.time,
        settle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.rules = rules
        self.by_name = {rule.name: rule for rule in rules}
        self.store = store
        self.sinks = sinks
        self.clock = clock
        self.settle = settle
        """Awaited before an alert's context is read: until the journeys
        (which lag the touchpoints by a flush) hold what the rules saw."""
        self.episodes: dict[tuple[str, str], Episode] | None = None
        self.firing: dict[tuple[str, str], dict[str, Any]] = {}
        """The firing notice of each open episode, re-sent to Alertmanager."""
        self._resent_at: float | None = None
        self.ticks = 0

    async def tick(self) -> list[dict[str, Any]]:
        """Evaluate every rule once; deliver and return what fired or resolved."""
        if self.episodes is None:
            rows = await self.store.query("open_alerts")
            self.episodes = {(r[0], r[1]): Episode(r[0], r[1], int(r[2])) for r in rows}
            self.firing = {(r[0], r[1]): _stored_firing(*r) for r in rows}
        now_ms = int(self.clock() * 1000)
        until = (now_ms // _MINUTE_MS + 1) * _MINUTE_MS  # the current minute included
        cache: dict[tuple[str, int, int], list[tuple[Any, ...]]] = {}
        events: list[AlertEvent] = []
        for rule in self.rules:
            window = rule.window_minutes * _MINUTE_MS
            baseline_text = getattr(rule.condition, "baseline", None)
            current = await self._counts(rule, until - window, until, cache)
            baseline: dict[str, Counts] = {}
            if baseline_text is not None:
                span = minutes(baseline_text) * _MINUTE_MS
                baseline = await self._counts(rule, until - window - span, until - window, cache)
            for key in sorted(current.keys() | baseline.keys()):
                verdict = evaluate(rule, current.get(key, Counts()), baseline.get(key))
                event = advance(self.episodes, rule, key, verdict, now_ms)
                if event is not None:
                    events.append(event)
        self.ticks += 1
        alerts: list[dict[str, Any]] = []
        if events:
            if self.settle is not None:
                await self.settle()
            context = await self.store.query(
                "alert_context", since_ms=until - 24 * 60 * _MINUTE_MS, until_ms=until
            )
            alerts = [
                formats.payload(e, self.by_name[e.rule], _context(e, context)) for e in events
            ]
            await self.sinks.deliver(alerts)
            for alert in alerts:
                episode = (alert["rule"], alert["slice"])
                if alert["status"] == "firing":
                    self.firing[episode] = alert
                else:
                    self.firing.pop(episode, None)
        self._resend_due(now_ms / 1000, {(a["rule"], a["slice"]) for a in alerts})
        return alerts

    def _resend_due(self, now_s: float, just_sent: set[tuple[str, str]]) -> None:
        """Re-send the open alerts to Alertmanager at the first tick (after a
        start: Alertmanager may have lost them meanwhile), then every
        interval; not those that fired in this tick (just posted)."""
        if self._resent_at is not None and now_s - self._resent_at < self.sinks.resend_s:
            return
        self._resent_at = now_s
        again = [alert for key, alert in self.firing.items() if key not in just_sent]
        if again:
            self.sinks.resend(again)

    async def _counts(
        self,
        rule: Rule,
        since: int,
        until: int,
        cache: dict[tuple[str, int, int], list[tuple[Any, ...]]],
    ) -> dict[str, Counts]:
        times = rule.metric in TIME_METRICS
        key = ("times" if times else "counts", since, until)
        if key not in cache:
            if times:
                cache[key] = await self.store.query(
                    "alert_response_times", since_ms=since, until_ms=until
                )
            else:
                cache[key] = await self.store.query(
                    "alert_counts",
                    since=datetime.fromtimestamp(since / 1000, tz=UTC),
                    until=datetime.fromtimestamp(until / 1000, tz=UTC),
                )
        rows = cache[key]
        return time_counts(rule, rows) if times else metric_counts(rule, rows)


def _stored_firing(
    rule: str,
    slice_key: str,
    started: int,
    fired_at_ms: int,
    severity: str,
    metric: str,
    reason: str,
    summary: str,
    context: str,
) -> dict[str, Any]:
    """An open episode's firing notice as the `open_alerts` query reads it
    back: what an Alertmanager target needs to post it again."""
    return {
        "status": "firing",
        "rule": rule,
        "slice": slice_key,
        "severity": severity,
        "metric": metric,
        "at_ms": int(fired_at_ms),
        "episode_started_at_ms": int(started),
        "reason": reason,
        "summary": summary,
        "context": orjson.loads(context) if context else [],
    }


def alert_columns(alerts: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The `alerts` table's columns of these notices (payloads)."""
    columns: dict[str, list[Any]] = {
        name: [a[name] for a in alerts]
        for name in (
            "at_ms", "status", "rule", "severity", "metric", "slice", "episode_started_at_ms",
            "value", "baseline", "n", "reason", "summary", "baseline_n", "bound", "window",
            "condition",
        )
    }  # fmt: skip
    columns["context"] = [orjson.dumps(a["context"]).decode() for a in alerts]
    return columns


def _context(event: AlertEvent, rows: list[tuple[Any, ...]], top: int = 3) -> list[dict[str, Any]]:
    """The most frequent pain points of the last day in the alert's slice,
    with the touchpoint type that caused them."""
    wanted = dict(part.split("=", 1) for part in event.slice.split(", ") if "=" in part)
    found = []
    for kind, channel, store_id, event_type, n in rows:
        values = {"channel": channel, "store_id": store_id}
        if all(values.get(k, v) == v for k, v in wanted.items() if k in values):
            found.append(
                {
                    "pain_point": kind,
                    "channel": channel,
                    "store_id": store_id,
                    "touchpoint": event_type,
                    "count": int(n),
                }
            )
        if len(found) == top:
            break
    return found
