"""Alert notices as people and services read them: one plain-language
summary with the change's sign right (now - baseline), each format's body
against the schema its service documents (tests/alert_schemas.py), the
examples of docs/alerts.md as the code renders them, the `[[target]]`
tables of the rules file with their secrets from the environment, and the
posting: 429 and 5xx retried, any other 4xx logged once by format and host."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from aiohttp import web

from streams.alerts import formats
from streams.alerts.episodes import Episode, advance
from streams.alerts.evaluate import Counts, evaluate
from streams.alerts.rules import Rule, RulesError, parse_alerts, parse_rules
from streams.alerts.stage import AlertSinks
from streams.alerts.targets import PAGERDUTY_EVENTS_URL, Destination, destinations
from tests.alert_schemas import problems

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {rule.name: rule for rule in parse_rules((ROOT / "deploy/alerts.toml").read_text())}
STARTED_MS = 1_795_421_800_120  # 2026-11-23T08:16:40.120Z
LINK = "https://grafana.example.com/d/cx-stores"
KEY = "R0UT1NGKEY0123456789abcdef012345"
WEEK = Counts(events=10_080 * 4)
PAIN = {
    "pain_point": "slow_support",
    "channel": "chat",
    "store_id": "tehran-04",
    "touchpoint": "support_message",
    "count": 12,
}


def episode(
    rule: Rule,
    slice_key: str,
    fire: tuple[Counts, Counts | None],
    clear: tuple[Counts, Counts | None],
    context: list[dict[str, Any]],
    lasted_ms: int = (3 * 60 + 12) * 60_000,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The firing and the resolved notice of one episode, as the evaluator
    makes them."""
    open_: dict[tuple[str, str], Episode] = {}
    fired = advance(open_, rule, slice_key, evaluate(rule, *fire), STARTED_MS)
    resolved = advance(open_, rule, slice_key, evaluate(rule, *clear), STARTED_MS + lasted_ms)
    assert fired is not None and fired.status == "firing", fired
    assert resolved is not None and resolved.status == "resolved", resolved
    return formats.payload(fired, rule, context), formats.payload(resolved, rule, [])


def nps(n: int, promoters: int, detractors: int) -> Counts:
    return Counts(events=n, responses=n, promoters=promoters, detractors=detractors)


def store_drop() -> tuple[dict[str, Any], dict[str, Any]]:
    """The example of docs/alerts.md: tehran-04's NPS falls from 56.0 (800
    answers over the week) to -67.5 (40 answers today)."""
    week = nps(800, 520, 72)
    return episode(
        SHIPPED["store-nps-drop"],
        "store_id=tehran-04",
        (nps(40, 5, 32), week),
        (nps(400, 250, 40), week),
        [PAIN],
    )


def every_kind() -> list[dict[str, Any]]:
    """A firing and a resolved notice of every kind of condition."""
    notices = [*store_drop()]
    notices += episode(
        SHIPPED["app-csat-low"],
        "channel=app",
        (Counts(responses=400, satisfied=244), None),
        (Counts(responses=400, satisfied=340), None),
        [],
        25 * 60_000,
    )
    notices += episode(
        SHIPPED["channel-silent"],
        "channel=sms",
        (Counts(events=0), WEEK),
        (Counts(events=50), WEEK),
        [],
        25 * 60_000,
    )
    notices += episode(
        SHIPPED["channel-volume-low"],
        "channel=app",
        (Counts(events=90), WEEK),
        (Counts(events=230), WEEK),
        [],
    )
    notices += episode(
        SHIPPED["slow-first-answer"],
        "channel=chat",
        (Counts(contacts=40, first_answer_p90_minutes=195.0), None),
        (Counts(contacts=40, first_answer_p90_minutes=30.0), None),
        [],
    )
    ces_week = Counts(responses=200, ces_sum=1200, ces_sum_squares=7400)
    notices += episode(
        SHIPPED["app-checkout-ces-collapse"],
        "channel=app, dimension=functional",
        (Counts(responses=60, ces_sum=120, ces_sum_squares=300), ces_week),
        (Counts(responses=60, ces_sum=330, ces_sum_squares=1900), ces_week),
        [],
    )
    return notices


TARGETS = {
    "slack": Destination("slack", "https://hooks.slack.com/services/T0/B0/x", link=LINK),
    "teams": Destination("teams", "https://example.webhook.office.com/x", link=LINK),
    "pagerduty": Destination("pagerduty", PAGERDUTY_EVENTS_URL, KEY, link=LINK),
    "alertmanager": Destination(
        "alertmanager", "http://alertmanager:9093/api/v2/alerts", link=LINK
    ),
}


def test_a_fall_is_negative_and_reads_as_one() -> None:
    fired, resolved = store_drop()
    assert (fired["value"], fired["baseline"], fired["change"]) == (-67.5, 56.0, -123.5)
    assert (fired["n"], fired["baseline_n"]) == (40, 800)
    assert "(-123.5 points; n=40 vs 800)" in fired["reason"]
    assert fired["summary"] == (
        "NPS at store tehran-04 fell to -67.5 in the last 24h, from 56.0 over the 7d before "
        "(-123.5 points); n=40, baseline n=800; top pain: slow_support (12)"
    )
    assert resolved["change"] == -3.5 and resolved["summary"].endswith("resolved after 3h 12m")


@pytest.mark.parametrize("format_", sorted(TARGETS))
def test_every_format_is_what_its_service_documents(format_: str) -> None:
    target = TARGETS[format_]
    for alert in every_kind():
        body = orjson.loads(formats.body(target, alert))
        assert problems(format_, body) == [], (alert["summary"], body)
        if format_ != "pagerduty" or alert["status"] == "firing":  # a resolve is a key only
            assert alert["summary"] in orjson.dumps(body).decode()  # one summary everywhere
    without_link = Destination(format_, target.url, target.routing_key)
    for alert in every_kind()[:2]:
        assert problems(format_, formats.render(without_link, alert)) == []


def test_pagerduty_resolves_the_incident_it_opened() -> None:
    fired, resolved = store_drop()
    trigger = formats.pagerduty(fired, KEY)
    resolve = formats.pagerduty(resolved, KEY)
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"]
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["custom_details"]["change"] == -123.5
    # Another episode of the same rule and slice is another incident.
    later = {**fired, "episode_started_at_ms": fired["episode_started_at_ms"] + 1}
    assert formats.pagerduty(later, KEY)["dedup_key"] != trigger["dedup_key"]
    # A long slice and summary stay within PagerDuty's limits.
    long = {**fired, "slice": "store_id=" + "x" * 400, "summary": "y" * 3000}
    event = formats.pagerduty(long, KEY)
    assert problems("pagerduty", event) == []
    assert formats.pagerduty({**long, "status": "resolved"}, KEY)["dedup_key"] == event["dedup_key"]


def test_alertmanager_resolves_the_same_labels_at_the_resolve_time() -> None:
    fired, resolved = store_drop()
    (firing,) = formats.alertmanager(fired)
    (ended,) = formats.alertmanager(resolved)
    assert (
        firing["labels"]
        == ended["labels"]
        == {
            "alertname": "store-nps-drop",
            "severity": "critical",
            "metric": "nps",
            "store_id": "tehran-04",
        }
    )
    assert firing["startsAt"] == ended["startsAt"] == "2026-11-23T08:16:40.120000+00:00"
    assert ended["endsAt"] == resolved["at"] == "2026-11-23T11:28:40.120000+00:00"
    # firing: held four re-send intervals after the post (re-sent while it fires)
    assert firing["endsAt"] == "2026-11-23T08:20:40.120000+00:00"
    posted_at = fired["at_ms"] + 3 * 3_600_000
    (again,) = formats.alertmanager(fired, None, posted_at + 4 * 60_000)
    assert again["startsAt"] == firing["startsAt"] and again["labels"] == firing["labels"]
    assert again["endsAt"] == "2026-11-23T11:20:40.120000+00:00"
    (still,) = formats.alertmanager(resolved, None, posted_at + 4 * 60_000)
    assert still["endsAt"] == resolved["at"]  # a resolve ends when it resolved, whenever posted


def test_slack_text_is_escaped() -> None:
    fired, _ = store_drop()
    odd = {**fired, "summary": "NPS at store <a&b> fell"}
    section = formats.slack(odd)["blocks"][0]["text"]["text"]
    assert "&lt;a&amp;b&gt;" in section and "<a&b>" not in section


def doc_examples() -> dict[str, Any]:
    """What docs/alerts.md shows, by the name in its `<!-- example: ... -->`
    markers."""
    fired, resolved = store_drop()
    examples: dict[str, Any] = {"webhook firing": fired}
    for format_, target in TARGETS.items():
        examples[f"{format_} firing"] = formats.render(target, fired)
        examples[f"{format_} resolved"] = formats.render(target, resolved)
    examples["summaries"] = "\n".join(a["summary"] for a in every_kind())
    return examples


def test_the_docs_show_what_the_code_sends() -> None:
    text = (ROOT / "docs/alerts.md").read_text()
    shown = {
        name: body
        for name, body in re.findall(
            r"<!-- example: ([a-z ]+) -->\n+```[a-z]*\n(.*?)```", text, flags=re.S
        )
    }
    expected = doc_examples()
    assert set(shown) <= set(expected), set(shown) - set(expected)
    assert {"webhook firing", "slack firing", "teams firing", "summaries"} <= set(shown)
    assert {"pagerduty firing", "pagerduty resolved", "alertmanager resolved"} <= set(shown)
    for name, body in shown.items():
        if name == "summaries":
            assert body.strip() == expected[name], f"docs/alerts.md, {name}:\n{expected[name]}"
        else:
            rendered = orjson.dumps(expected[name], option=orjson.OPT_INDENT_2).decode()
            assert orjson.loads(body) == expected[name], f"docs/alerts.md, {name}:\n{rendered}"


RULES = """
[[rule]]
name = "store-nps-drop"
metric = "nps"
by = ["store_id"]
window = "24h"
severity = "critical"
condition = { kind = "drop", points = 10 }

[[rule]]
name = "app-csat-low"
metric = "csat"
slice = { channel = "app" }
condition = { kind = "threshold", below = 70 }
"""


def test_targets_in_the_rules_file_take_their_secrets_from_the_environment() -> None:
    text = (
        RULES
        + """
[[target]]
format = "slack"
name = "cx-team"
url_env = "CX_TEST_SLACK_URL"
severities = ["critical"]

[[target]]
format = "pagerduty"
routing_key_env = "CX_TEST_PD_KEY"
rules = ["store-nps-drop"]

[[target]]
format = "alertmanager"
url = "http://alertmanager:9093"
link = "https://grafana.example.com/d/cx"

[[target]]
format = "teams"
url = "https://example.webhook.office.com/webhookb2/x"
"""
    )
    parsed = parse_alerts(text, "alerts.toml")
    assert [t.format for t in parsed.targets] == ["slack", "pagerduty", "alertmanager", "teams"]
    slack_url = "https://hooks.slack.com/services/T0/B0/s3cr3t"
    env = {"CX_TEST_SLACK_URL": slack_url, "CX_TEST_PD_KEY": KEY}
    found = destinations(parsed.targets, ["https://hooks.example.com/generic"], env, "alerts.toml")
    slack, pagerduty, alertmanager, teams, generic = found
    assert teams.label == "teams target at example.webhook.office.com"
    assert slack.url == slack_url and slack.label == "slack target cx-team at hooks.slack.com"
    assert pagerduty.url == PAGERDUTY_EVENTS_URL and pagerduty.routing_key == KEY
    assert alertmanager.url == "http://alertmanager:9093/api/v2/alerts"
    assert generic == Destination("webhook", "https://hooks.example.com/generic")
    assert "s3cr3t" not in repr(found) and KEY not in repr(found)
    fired, _ = store_drop()
    csat = {**fired, "rule": "app-csat-low", "severity": "warning"}
    assert [d.format for d in found if d.wants(fired)] == [
        "slack", "pagerduty", "alertmanager", "teams", "webhook",
    ]  # fmt: skip
    assert [d.format for d in found if d.wants(csat)] == ["alertmanager", "teams", "webhook"]
    with pytest.raises(RulesError, match="CX_TEST_PD_KEY is not set") as missing:
        destinations(parsed.targets, [], {"CX_TEST_SLACK_URL": slack_url}, "alerts.toml")
    assert "s3cr3t" not in str(missing.value)
    with pytest.raises(RulesError, match="CX_TEST_SLACK_URL does not hold an http"):
        destinations(parsed.targets, [], {**env, "CX_TEST_SLACK_URL": "s3cr3t"}, "alerts.toml")


def test_a_wrong_target_is_named_with_its_field_and_never_quoted() -> None:
    bad = (
        RULES
        + """
[[target]]
format = "slack"

[[target]]
format = "pagerduty"
name = "on-call"

[[target]]
format = "teams"
url = "ftp://s3cr3t@example.com/x"
routing_key = "s3cr3t-key"

[[target]]
format = "webhook"
url = "https://example.com/x"
rules = ["store-nps-dorp"]
severities = ["fatal"]

[[target]]
format = "opsgenie"
url = "https://example.com/x"
"""
    )
    with pytest.raises(RulesError) as caught:
        parse_alerts(bad, "alerts.toml")
    message = str(caught.value)
    for expected in (
        "alerts.toml: target 1: a slack target needs url or url_env",
        "alerts.toml: target 2 (on-call): a pagerduty target needs routing_key_env",
        "alerts.toml: target 3: url is not an http(s) URL with a host",
        "alerts.toml: target 4: severities.0:",
        "alerts.toml: target 5: format:",
    ):
        assert expected in message, message
    assert "s3cr3t" not in message
    with pytest.raises(RulesError, match="only a pagerduty target takes a routing key"):
        parse_alerts(
            RULES + '[[target]]\nformat = "slack"\nurl = "https://x.io"\nrouting_key = "k"\n'
        )
    with pytest.raises(RulesError, match="rules: no rule is named 'store-nps-dorp'"):
        parse_alerts(
            RULES
            + '[[target]]\nformat = "webhook"\nurl = "https://x.io"\nrules = ["store-nps-dorp"]\n'
        )


async def _receiver(statuses: list[int]) -> tuple[web.AppRunner, str, list[bytes]]:
    """A target on loopback that answers `statuses` in turn (then 202)."""
    bodies: list[bytes] = []

    async def answer(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        status = statuses.pop(0) if statuses else 202
        return web.Response(status=status, text=f"answer to {request.path_qs}")

    app = web.Application()
    app.router.add_post("/v2/enqueue/s3cr3t-path", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/v2/enqueue/s3cr3t-path?token=s3cr3t-query"
    return runner, url, bodies


async def _crash(exc: BaseException) -> None:
    raise AssertionError(f"crashed: {exc!r}")


@pytest.mark.parametrize(
    ("statuses", "posts", "refused"),
    [([429, 503], 3, False), ([400], 1, True), ([404], 1, True)],
)
async def test_429_and_5xx_are_retried_other_4xx_are_logged_once(
    statuses: list[int], posts: int, refused: bool, caplog: pytest.LogCaptureFixture
) -> None:
    runner, url, bodies = await _receiver(list(statuses))
    target = Destination("pagerduty", url, KEY)
    sinks = AlertSinks(cast(Any, None), cast(Any, None), "cx.alerts", [target], _crash)
    caplog.set_level(logging.DEBUG)
    fired, _ = store_drop()
    try:
        await asyncio.wait_for(sinks._post_all(target, [fired]), 10)
    finally:
        await sinks.stop()
        await runner.cleanup()
    assert len(bodies) == posts
    assert problems("pagerduty", orjson.loads(bodies[-1])) == []
    assert sinks.counts["webhook_posted"] == (0 if refused else 1)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    if refused:
        assert len(errors) == 1
        assert "pagerduty target at 127.0.0.1 refused" in errors[0].getMessage()
    else:
        assert not errors
    for record in caplog.records:
        line = record.getMessage()
        for secret in ("s3cr3t", KEY, "/v2/enqueue"):
            assert secret not in line, line


def test_the_shipped_targets_are_valid_once_uncommented() -> None:
    text = (ROOT / "deploy/alerts.toml").read_text()
    block = text[text.index("# [[target]]") :]
    uncommented = "\n".join(line.removeprefix("#").removeprefix(" ") for line in block.splitlines())
    parsed = parse_alerts(text + "\n" + uncommented, "deploy/alerts.toml")
    assert [t.format for t in parsed.targets] == ["slack", "teams", "pagerduty", "alertmanager"]
    assert parse_alerts(text).targets == []  # as shipped: CX_ALERT_WEBHOOKS only
    env = {
        "CX_SLACK_WEBHOOK_URL": "https://hooks.slack.com/x",
        "CX_TEAMS_WEBHOOK_URL": "https://t.io/x",
    }
    assert len(destinations(parsed.targets, [], {**env, "CX_PAGERDUTY_KEY": KEY})) == 4


async def test_alertmanager_re_sends_wait_for_an_unreachable_target_without_piling_up() -> None:
    """While Alertmanager answers 503, the first re-send is retried and at
    most one more waits, however many fall due; once it answers, both go,
    each held four re-send intervals after it was posted."""
    runner, url, bodies = await _receiver([503, 503])
    target = Destination("alertmanager", url)
    sinks = AlertSinks(cast(Any, None), cast(Any, None), "cx.alerts", [target], _crash, resend_s=1)
    fired, _ = store_drop()
    began = time.time() * 1000
    try:
        sinks.resend([fired])
        await asyncio.sleep(0.05)  # taken, posted, refused: retried after a backoff
        for _ in range(5):
            sinks.resend([fired])
        assert sinks.posts[0].queued == [fired] and sinks.counts["alertmanager_resent"] == 2
        for _ in range(200):
            if len(bodies) == 4:
                break
            await asyncio.sleep(0.05)
        posted_by = time.time() * 1000
    finally:
        await sinks.stop()
        await runner.cleanup()
    assert len(bodies) == 4  # two refused, then the re-send and the one that waited
    for body in bodies:
        (alert,) = orjson.loads(body)
        ends_ms = datetime.fromisoformat(alert["endsAt"]).timestamp() * 1000
        assert began + 4 * 1000 - 1 <= ends_ms <= posted_by + 4 * 1000  # 4 intervals from its post
        assert alert["startsAt"] == formats.iso(fired["episode_started_at_ms"])
