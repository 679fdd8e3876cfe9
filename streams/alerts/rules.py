"""Alert rules and the targets their notices go to: a TOML file, validated
on load with errors that name the rule (or target) and the field. The format
is documented in docs/alerts.md.

```toml
[[rule]]
name = "app-csat-low"
metric = "csat"
slice = { channel = "app" }
window = "1h"
severity = "critical"
condition = { kind = "threshold", below = 70 }

[[target]]
format = "slack"
url_env = "CX_SLACK_WEBHOOK_URL"
severities = ["critical"]
```
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas import Channel, Stage

SCORE_METRICS = ("nps", "csat", "ces", "ces_easy")
"""Survey metrics: NPS (-100..100), CSAT (% 4-5), CES (mean 1-7), and the
share of easy CES answers (% 5-7)."""
TIME_METRICS = ("first_answer_p90_minutes", "resolution_p90_minutes")
"""Support response times, the 90th percentile in minutes."""
Metric = Literal[
    "nps", "csat", "ces", "ces_easy", "first_answer_p90_minutes", "resolution_p90_minutes", "events"
]
_DURATION = re.compile(r"^(\d+)([mhd])$")
_MINUTES = {"m": 1, "h": 60, "d": 24 * 60}


def minutes(duration: str) -> int:
    """Minutes of a duration such as 15m, 1h or 7d."""
    match = _DURATION.match(duration)
    if match is None:
        raise ValueError(f"{duration!r} is not a duration such as 15m, 1h or 7d")
    return int(match[1]) * _MINUTES[match[2]]


Duration = Annotated[str, Field(pattern=_DURATION.pattern)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Slice(_Model):
    """Which traffic a rule watches; a field left out means all of it."""

    channel: Channel | None = None
    store_id: str | None = None
    stage: Stage | None = None
    dimension: Literal["functional", "mechanic", "humanic"] | None = None

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.model_dump(mode="json").items() if v is not None]
        return ", ".join(parts) or "all"


class Threshold(_Model):
    """Fires when the metric is confidently below `below` (or above
    `above`): the whole confidence interval is past the line."""

    kind: Literal["threshold"]
    below: float | None = None
    above: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Threshold:
        if (self.below is None) == (self.above is None):
            raise ValueError("give exactly one of below or above")
        return self


class Drop(_Model):
    """Fires when the metric is more than `points` below its own value over
    the trailing `baseline`, and the drop is significant for both samples."""

    kind: Literal["drop"]
    points: float = Field(gt=0)
    baseline: Duration = "7d"


class Volume(_Model):
    """Fires when fewer events came than `below_share` of what the trailing
    `baseline` predicts for the window, beyond chance."""

    kind: Literal["volume"]
    below_share: float = Field(0.5, gt=0, lt=1)
    baseline: Duration = "7d"


class Silence(_Model):
    """Fires when no event came in the window although the trailing
    `baseline` predicts at least `min_expected`: the data stopped."""

    kind: Literal["silence"]
    baseline: Duration = "7d"
    min_expected: float = Field(10, gt=0)


Condition = Annotated[Threshold | Drop | Volume | Silence, Field(discriminator="kind")]


SliceField = Literal["channel", "store_id", "stage", "dimension"]


Severity = Literal["info", "warning", "critical"]


class Rule(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    metric: Metric
    slice: Slice = Slice()
    by: tuple[SliceField, ...] = ()
    """Evaluate separately for each value of these (each store against its
    own baseline, say); an alert names its value."""
    window: Duration = "1h"
    condition: Condition
    severity: Severity = "warning"
    min_responses: int = Field(30, ge=1)
    """Fewer answers (or contacts) than this in a window decide nothing."""

    @model_validator(mode="after")
    def _fits_the_metric(self) -> Rule:
        volume = isinstance(self.condition, Volume | Silence)
        if volume and self.metric != "events":
            raise ValueError(f"a {self.condition.kind} condition watches metric 'events'")
        if not volume and self.metric == "events":
            raise ValueError("metric 'events' takes a volume or silence condition")
        if isinstance(self.condition, Drop) and self.metric not in SCORE_METRICS:
            raise ValueError("a drop condition watches a survey score")
        fixed = {k for k, v in self.slice.model_dump().items() if v is not None}
        if fixed & set(self.by):
            raise ValueError(
                f"'by' repeats a field the slice fixes: {sorted(fixed & set(self.by))}"
            )
        if self.metric in TIME_METRICS and set(self.by) - {"channel"}:
            raise ValueError("response times are split by channel only")
        baseline = getattr(self.condition, "baseline", None)
        if baseline is not None and minutes(baseline) <= minutes(self.window):
            raise ValueError("the baseline must be longer than the window")
        return self

    @property
    def window_minutes(self) -> int:
        return minutes(self.window)


Format = Literal["webhook", "slack", "teams", "pagerduty", "alertmanager"]
"""How a target wants a notice: the JSON of every alert as it is (webhook),
or the documented message of Slack, Microsoft Teams, PagerDuty Events API v2
or Prometheus Alertmanager (streams/alerts/formats.py)."""
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


def is_http_url(url: str) -> bool:
    """Whether `url` is http(s) with a host (what a target can post to)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class Target(_Model):
    """Where notices go, in which format, and which of them. A URL or key
    that holds a secret (Slack's and Teams' URLs, PagerDuty's routing key)
    is better named by the environment variable that holds it (`url_env`,
    `routing_key_env`) than written in the file; errors never quote them."""

    format: Format
    name: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    """Shown in the log next to the format and host, to tell targets apart."""
    url: str | None = None
    url_env: str | None = Field(None, pattern=_ENV_NAME)
    routing_key: str | None = None
    routing_key_env: str | None = Field(None, pattern=_ENV_NAME)
    rules: tuple[str, ...] = ()
    """Only these rules' notices; none: every rule's."""
    severities: tuple[Severity, ...] = ()
    """Only notices of these severities; none: all."""
    link: str | None = None
    """A page to open from the notice (a dashboard): Slack and Teams show
    it, PagerDuty lists it, Alertmanager gets it as generatorURL."""

    @model_validator(mode="after")
    def _complete(self) -> Target:
        if self.url is not None and self.url_env is not None:
            raise ValueError("give url or url_env, not both")
        if self.url is None and self.url_env is None and self.format != "pagerduty":
            raise ValueError(f"a {self.format} target needs url or url_env")
        if self.url is not None and not is_http_url(self.url):
            raise ValueError("url is not an http(s) URL with a host")
        if self.link is not None and not is_http_url(self.link):
            raise ValueError("link is not an http(s) URL with a host")
        keys = (self.routing_key is not None) + (self.routing_key_env is not None)
        if self.format == "pagerduty" and keys != 1:
            raise ValueError("a pagerduty target needs routing_key_env (or routing_key)")
        if self.format != "pagerduty" and keys:
            raise ValueError("only a pagerduty target takes a routing key")
        return self


class AlertsFile(NamedTuple):
    rules: list[Rule]
    targets: list[Target]


class RulesError(ValueError):
    """The rules file is not valid; the message lists every problem."""


def _validate(model: type[_Model], raw: object, label: str, problems: list[str]) -> _Model | None:
    try:
        return model.model_validate(raw, strict=False)
    except ValidationError as exc:
        for error in exc.errors():  # the message only: the input may be a secret
            field = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{label}: {field}: {message}" if field else f"{label}: {message}")
        return None


def parse_alerts(text: str, source: str = "rules") -> AlertsFile:
    """The rules and targets of a rules file; RulesError lists every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: not valid TOML: {exc}") from None
    unknown = set(data) - {"rule", "target"}
    problems = [
        f"{source}: unknown top-level key {k!r} (rules are [[rule]] tables, targets [[target]])"
        for k in unknown
    ]
    rules: list[Rule] = []
    for index, raw in enumerate(data.get("rule", []), 1):
        label = f"{source}: rule {index}" + (f" ({raw['name']})" if "name" in raw else "")
        rule = _validate(Rule, raw, label, problems)
        if isinstance(rule, Rule):
            rules.append(rule)
    names = [raw.get("name") for raw in data.get("rule", []) if isinstance(raw.get("name"), str)]
    problems += [
        f"{source}: rule name {n!r} is used twice"
        for n in sorted({n for n in names if names.count(n) > 1})
    ]
    targets: list[Target] = []
    for index, raw in enumerate(data.get("target", []), 1):
        label = f"{source}: target {index}" + (
            f" ({raw['name']})" if isinstance(raw.get("name"), str) else ""
        )
        target = _validate(Target, raw, label, problems)
        if isinstance(target, Target):
            targets.append(target)
            problems += [
                f"{label}: rules: no rule is named {n!r}" for n in target.rules if n not in names
            ]
    if problems:
        raise RulesError("\n".join(problems))
    return AlertsFile(rules, targets)


def parse_rules(text: str, source: str = "rules") -> list[Rule]:
    return parse_alerts(text, source).rules


def load_alerts(path: Path) -> AlertsFile:
    return parse_alerts(path.read_text(encoding="utf-8"), str(path))


def load_rules(path: Path) -> list[Rule]:
    return load_alerts(path).rules
