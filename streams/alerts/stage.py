"""Alerting glue: every few seconds, evaluate the rules on the counts in
ClickHouse (the numbers BI sees), and deliver what fires or resolves to the
log, the `alerts` table, the alerts topic and the webhooks.

Webhooks are posted in the background, retried with backoff, and never hold
up the evaluation or the stream. Open episodes are read back from the table
when the evaluator starts, so a restart does not page again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from streams.alerts.episodes import AlertEvent, Episode, advance
from streams.alerts.evaluate import Counts, evaluate
from streams.alerts.rules import TIME_METRICS, Rule, minutes
from streams.alerts.slices import metric_counts, time_counts
from streams.clickhouse.client import OffLoopStore
from streams.runtime.handoff import Handoff
from streams.runtime.kafka import is_transient_kafka_error, produce_all
from streams.runtime.retry import with_backoff

log = logging.getLogger(__name__)
_MINUTE_MS = 60_000


class WebhookUnavailable(Exception):
    """A webhook answered 5xx or could not be reached: retried."""


def _webhook_transient(exc: BaseException) -> bool:
    return isinstance(exc, (WebhookUnavailable, aiohttp.ClientError, asyncio.TimeoutError))


def webhook_host(url: str) -> str:
    """What the log and /health may say of a webhook: its host. Its path,
    query and credentials often hold a secret (Slack's, for one)."""
    try:
        return urlsplit(url).hostname or "webhook"
    except ValueError:
        return "webhook"


def payload(event: AlertEvent, context: list[dict[str, Any]]) -> dict[str, Any]:
    """What every sink carries: what moved, by how much, the sample size,
    the baseline, and the pain points behind it."""
    return {
        **event._asdict(),
        "at": datetime.fromtimestamp(event.at_ms / 1000, tz=UTC).isoformat(),
        "context": context,
    }


class AlertSinks:
    def __init__(
        self,
        store: OffLoopStore,
        producer: AIOKafkaProducer,
        topic: str,
        webhooks: list[str],
        crash: Callable[[BaseException], Awaitable[None]],
    ) -> None:
        self.store = store
        self.producer = producer
        self.topic = topic
        self.webhooks = webhooks
        self.posts: Handoff[bytes] = Handoff("alert-webhooks", self._post_all, crash)
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
        columns: dict[str, list[Any]] = {
            name: [a[name] for a in alerts]
            for name in (
                "at_ms", "status", "rule", "severity", "metric", "slice", "episode_started_at_ms",
                "value", "baseline", "n", "reason",
            )
        }  # fmt: skip
        columns["context"] = [orjson.dumps(a["context"]).decode() for a in alerts]
        await self.store.insert("alerts", columns, dedup_token=None)
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
        if self.webhooks:
            self.posts.put(bodies)

    async def _post_all(self, bodies: list[bytes]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for body in bodies:
            for url in self.webhooks:
                await with_backoff(
                    lambda url=url, body=body: self._post(url, body),  # type: ignore[misc]
                    is_transient=_webhook_transient,
                    what=f"webhook: post an alert to {webhook_host(url)}",
                    max_delay=60,
                )

    async def _post(self, url: str, body: bytes) -> None:
        try:
            await self._post_once(url, body)
        except Exception:
            self.counts["webhook_failed"] += 1
            raise

    async def _post_once(self, url: str, body: bytes) -> None:
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        async with self._session.post(url, data=body, headers=headers) as answer:
            if answer.status >= 500:
                raise WebhookUnavailable(f"{webhook_host(url)} answered {answer.status}")
            if answer.status >= 400:  # the webhook refuses it: retrying cannot help
                self.counts["webhook_refused"] += 1
                self.counts["webhook_failed"] += 1
                log.error(
                    "webhook at %s refused an alert: %s %s",
                    webhook_host(url),
                    answer.status,
                    (await answer.text())[:200],
                )
                return
            self.counts["webhook_posted"] += 1

    async def stop(self) -> None:
        await self.posts.stop()
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
        self.store = store
        self.sinks = sinks
        self.clock = clock
        self.settle = settle
        """Awaited before an alert's context is read: until the journeys
        (which lag the touchpoints by a flush) hold what the rules saw."""
        self.episodes: dict[tuple[str, str], Episode] | None = None
        self.ticks = 0

    async def tick(self) -> list[dict[str, Any]]:
        """Evaluate every rule once; deliver and return what fired or resolved."""
        if self.episodes is None:
            rows = await self.store.query("open_alerts")
            self.episodes = {(r, s): Episode(r, s, int(started)) for r, s, started in rows}
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
        if not events:
            return []
        if self.settle is not None:
            await self.settle()
        context = await self.store.query(
            "alert_context", since_ms=until - 24 * 60 * _MINUTE_MS, until_ms=until
        )
        alerts = [payload(e, _context(e, context)) for e in events]
        await self.sinks.deliver(alerts)
        return alerts

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
