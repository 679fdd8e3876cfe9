"""Alert targets as the worker posts to them: the rules file's `[[target]]`
tables with their secrets read from the environment, and every URL of
CX_ALERT_WEBHOOKS as a generic webhook target.

A target's URL and routing key are kept out of its repr and of its label:
the log and /health name a target by format, name and host only, since the
path or query of a webhook URL is often its secret."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from streams.alerts.rules import Format, RulesError, Target, is_http_url

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
ALERTMANAGER_PATH = "/api/v2/alerts"


def webhook_host(url: str) -> str:
    """What the log and /health may say of a webhook: its host. Its path,
    query and credentials often hold a secret (Slack's, for one)."""
    try:
        return urlsplit(url).hostname or "webhook"
    except ValueError:
        return "webhook"


@dataclass(frozen=True)
class Destination:
    """One target, ready to post to."""

    format: Format
    url: str = field(repr=False)
    routing_key: str | None = field(default=None, repr=False)
    rules: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()
    link: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """How the log names it: format, name, host; never path or key."""
        named = f" {self.name}" if self.name else ""
        return f"{self.format} target{named} at {webhook_host(self.url)}"

    def wants(self, alert: Mapping[str, Any]) -> bool:
        return (not self.rules or alert["rule"] in self.rules) and (
            not self.severities or alert["severity"] in self.severities
        )


def _from_env(environ: Mapping[str, str], variable: str, what: str, source: str) -> str:
    value = environ.get(variable, "").strip()
    if not value:
        raise RulesError(f"{source}: {what}: the environment variable {variable} is not set")
    return value


def destinations(
    targets: list[Target],
    webhook_urls: list[str],
    environ: Mapping[str, str],
    source: str = "rules",
) -> list[Destination]:
    """The targets of the rules file, then CX_ALERT_WEBHOOKS' URLs as generic
    webhooks. RulesError names a missing environment variable, never a value."""
    found: list[Destination] = []
    for index, target in enumerate(targets, 1):
        label = f"target {index}" + (f" ({target.name})" if target.name else "")
        url = target.url
        if target.url_env is not None:
            url = _from_env(environ, target.url_env, label, source)
            if not is_http_url(url):
                raise RulesError(
                    f"{source}: {label}: {target.url_env} does not hold an http(s) URL"
                )
        if url is None:  # pagerduty: the Events API v2
            url = PAGERDUTY_EVENTS_URL
        if target.format == "alertmanager" and not url.rstrip("/").endswith(ALERTMANAGER_PATH):
            url = url.rstrip("/") + ALERTMANAGER_PATH
        key = target.routing_key
        if target.routing_key_env is not None:
            key = _from_env(environ, target.routing_key_env, label, source)
        found.append(
            Destination(
                target.format,
                url,
                key,
                frozenset(target.rules),
                frozenset(target.severities),
                target.link,
                target.name,
            )
        )
    return found + [Destination("webhook", url) for url in webhook_urls]
