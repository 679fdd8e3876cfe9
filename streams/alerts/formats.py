"""What a notice looks like at each kind of target, as pure functions: the
generic payload (every field, for machines), and the documented messages of
Slack incoming webhooks, Microsoft Teams (an Adaptive Card), PagerDuty
Events API v2 and Prometheus Alertmanager's API v2. Every format carries
the same plain-language summary (streams/alerts/summary.py); examples of
each are in docs/alerts.md, which a unit test renders."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.alerts.episodes import AlertEvent
from streams.alerts.rules import Rule
from streams.alerts.summary import summarize
from streams.alerts.targets import Destination

ALERTMANAGER_RESEND_MS = 60_000
"""How often the worker posts its open alerts to Alertmanager again (the
default of `CX_ALERTMANAGER_RESEND_SECONDS`), as Prometheus does."""
ALERTMANAGER_HOLD_RESENDS = 4
"""A firing alert's endsAt is this many re-send intervals after it was
posted (Prometheus' rule): Alertmanager resolves an alert by itself at
endsAt, so an alert the worker stops re-sending (the worker is gone, the
rule removed) ends within minutes, and one that fires for weeks stays
open. The resolved notice sets endsAt to the time it resolved."""
PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
SLACK_SECTION_LIMIT = 3000
PAGERDUTY_SUMMARY_LIMIT = 1024
PAGERDUTY_DEDUP_LIMIT = 255


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def _rounded(value: float | None) -> float | None:
    """To 4 decimals: 56.00000000000001 is float noise, not a measurement."""
    return None if value is None else round(value, 4)


def payload(event: AlertEvent, rule: Rule, context: list[dict[str, Any]]) -> dict[str, Any]:
    """What every sink carries (the table, the topic, generic webhooks): what
    moved, by how much (change = value - baseline), the sample sizes, the
    baseline, the summary, and the pain points behind it."""
    change = None if event.value is None or event.baseline is None else event.value - event.baseline
    return {
        **event._asdict(),
        "value": _rounded(event.value),
        "baseline": _rounded(event.baseline),
        "bound": _rounded(event.bound),
        "change": _rounded(change),
        "window": rule.window,
        "condition": rule.condition.kind,
        "baseline_window": getattr(rule.condition, "baseline", None),
        "at": iso(event.at_ms),
        "started_at": iso(event.episode_started_at_ms),
        "summary": summarize(event, rule, context),
        "context": context,
    }


def _title(alert: dict[str, Any]) -> str:
    state = "Firing" if alert["status"] == "firing" else "Resolved"
    return f"{state}: {alert['rule']} ({alert['severity']})"


def _details(alert: dict[str, Any]) -> str:
    """The technical line under the summary: slice, reason, when it began."""
    return f"{alert['slice']} · {alert['reason']} · since {alert['started_at']}"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_SLACK_ICONS = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_blue_circle:",
}


def slack(alert: dict[str, Any], link: str | None = None) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` (the notification and
    fallback) and a mrkdwn section with a context line."""
    firing = alert["status"] == "firing"
    icon = _SLACK_ICONS[alert["severity"]] if firing else ":large_green_circle:"
    section = f"{icon} *{_slack_escape(_title(alert))}*\n{_slack_escape(alert['summary'])}"
    context = _slack_escape(_details(alert))
    if link is not None:
        context += f" · <{link}|open the dashboard>"
    return {
        "text": f"{_title(alert)}: {alert['summary']}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": section[:SLACK_SECTION_LIMIT]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context[:SLACK_SECTION_LIMIT]}]},
        ],
    }  # fmt: skip


_TEAMS_COLORS = {"critical": "Attention", "warning": "Warning", "info": "Accent"}


def teams(alert: dict[str, Any], link: str | None = None) -> dict[str, Any]:
    """A Teams incoming-webhook (or Workflows) message holding one Adaptive
    Card 1.4: the title in the severity's colour (green once resolved), the
    summary, and the facts."""
    firing = alert["status"] == "firing"
    facts = [
        {"title": "Rule", "value": alert["rule"]},
        {"title": "Severity", "value": alert["severity"]},
        {"title": "Slice", "value": alert["slice"]},
        {"title": "Details", "value": alert["reason"]},
        {"title": "Since", "value": alert["started_at"]},
    ]
    if not firing:
        facts.append({"title": "Resolved", "value": alert["at"]})
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": _title(alert),
                "weight": "Bolder",
                "size": "Medium",
                "color": _TEAMS_COLORS[alert["severity"]] if firing else "Good",
                "wrap": True,
            },
            {"type": "TextBlock", "text": alert["summary"], "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
    }
    if link is not None:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the dashboard", "url": link}]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def dedup_key(alert: dict[str, Any]) -> str:
    """PagerDuty's incident key: one per episode of a rule on a slice, the
    same for its trigger and its resolve (at most 255 characters)."""
    key = f"cx/{alert['rule']}/{alert['slice']}/{alert['episode_started_at_ms']}"
    if len(key) <= PAGERDUTY_DEDUP_LIMIT:
        return key
    digest = hashlib.sha256(alert["slice"].encode()).hexdigest()[:32]
    return f"cx/{alert['rule']}/{digest}/{alert['episode_started_at_ms']}"


_PAGERDUTY_DETAILS = (
    "slice", "metric", "value", "baseline", "change", "n", "baseline_n", "window", "reason",
    "context",
)  # fmt: skip


def pagerduty(alert: dict[str, Any], routing_key: str, link: str | None = None) -> dict[str, Any]:
    """A PagerDuty Events API v2 event: trigger when firing, resolve (same
    dedup_key) when resolved."""
    if alert["status"] == "resolved":
        return {
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key(alert),
        }
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(alert),
        "payload": {
            "summary": alert["summary"][:PAGERDUTY_SUMMARY_LIMIT],
            "source": alert["slice"],
            "severity": PAGERDUTY_SEVERITY[alert["severity"]],
            "timestamp": alert["at"],
            "component": alert["metric"],
            "group": alert["rule"],
            "class": alert["condition"],
            "custom_details": {key: alert[key] for key in _PAGERDUTY_DETAILS},
        },
        "client": "CX stream processor",
    }
    if link is not None:
        event["client_url"] = link
        event["links"] = [{"href": link, "text": "Dashboard"}]
    return event


def alertmanager_labels(alert: dict[str, Any]) -> dict[str, str]:
    """The labels that identify the alert in Alertmanager: the same on its
    firing and its resolved notice."""
    labels = {"alertname": alert["rule"], "severity": alert["severity"], "metric": alert["metric"]}
    for part in alert["slice"].split(", "):
        name, _, value = part.partition("=")
        if value:
            labels[name] = value
    return labels


def alertmanager(
    alert: dict[str, Any], link: str | None = None, held_until_ms: int | None = None
) -> list[dict[str, Any]]:
    """A POST body of Alertmanager's /api/v2/alerts: one alert, endsAt the
    resolve time once resolved; while firing `held_until_ms` (the post time
    plus ALERTMANAGER_HOLD_RESENDS re-send intervals; by default counted from
    the notice's time and the default interval)."""
    started = alert["episode_started_at_ms"]
    if alert["status"] == "resolved":
        ends = alert["at_ms"]
    elif held_until_ms is None:
        ends = alert["at_ms"] + ALERTMANAGER_HOLD_RESENDS * ALERTMANAGER_RESEND_MS
    else:
        ends = held_until_ms
    description = alert["reason"]
    if alert["context"]:
        pains = ", ".join(f"{c['pain_point']} ({c['count']})" for c in alert["context"])
        description += f"; pain points of the last day: {pains}"
    posted: dict[str, Any] = {
        "labels": alertmanager_labels(alert),
        "annotations": {"summary": alert["summary"], "description": description},
        "startsAt": iso(started),
        "endsAt": iso(ends),
    }
    if link is not None:
        posted["generatorURL"] = link
    return [posted]


def render(
    destination: Destination, alert: dict[str, Any], held_until_ms: int | None = None
) -> Any:
    """The JSON body of `alert` for `destination`'s format (`held_until_ms`:
    an Alertmanager alert's endsAt while firing)."""
    if destination.format == "slack":
        return slack(alert, destination.link)
    if destination.format == "teams":
        return teams(alert, destination.link)
    if destination.format == "pagerduty":
        assert destination.routing_key is not None
        return pagerduty(alert, destination.routing_key, destination.link)
    if destination.format == "alertmanager":
        return alertmanager(alert, destination.link, held_until_ms)
    return alert


def body(
    destination: Destination, alert: dict[str, Any], held_until_ms: int | None = None
) -> bytes:
    return orjson.dumps(render(destination, alert, held_until_ms))
