"""Alert rules, the statistics behind them and alert episodes, as pure
functions: a dip in a small sample stays quiet, a real drop fires once and
resolves once, silence is told apart from a falling score."""

from __future__ import annotations

import math
import random

import pytest

from streams.alerts import stats
from streams.alerts.episodes import advance
from streams.alerts.evaluate import Counts, evaluate
from streams.alerts.rules import Rule, RulesError, parse_rules

RULES = """
[[rule]]
name = "store-nps-drop"
metric = "nps"
slice = { store_id = "tehran-04" }
window = "24h"
severity = "critical"
condition = { kind = "drop", points = 10, baseline = "7d" }

[[rule]]
name = "app-csat-low"
metric = "csat"
slice = { channel = "app" }
window = "1h"
condition = { kind = "threshold", below = 70 }

[[rule]]
name = "sms-silent"
metric = "events"
slice = { channel = "sms" }
window = "15m"
condition = { kind = "silence", baseline = "7d" }

[[rule]]
name = "store-volume-low"
metric = "events"
slice = { channel = "store" }
window = "1h"
condition = { kind = "volume", below_share = 0.5 }

[[rule]]
name = "slow-first-answer"
metric = "first_answer_p90_minutes"
window = "24h"
min_responses = 20
condition = { kind = "threshold", above = 60 }
"""


def rules() -> dict[str, Rule]:
    return {rule.name: rule for rule in parse_rules(RULES)}


def nps_counts(n: int, promoters: int, detractors: int) -> Counts:
    return Counts(events=n, responses=n, promoters=promoters, detractors=detractors)


def test_wilson_interval_matches_known_values() -> None:
    low, high = stats.wilson(0, 10)
    assert low == 0 and high == pytest.approx(27.75, abs=0.01)
    low, high = stats.wilson(50, 100)
    assert (low, high) == (pytest.approx(40.38, abs=0.01), pytest.approx(59.62, abs=0.01))


def test_nps_standard_error_is_that_of_the_answers() -> None:
    rng = random.Random(3)
    answers = [rng.choice((1, 1, 0, -1)) for _ in range(400)]
    mean = sum(answers) / len(answers)
    variance = sum((a - mean) ** 2 for a in answers) / len(answers)
    e = stats.nps(answers.count(1), answers.count(-1), len(answers))
    assert e.value == pytest.approx(100 * mean)
    assert e.standard_error == pytest.approx(100 * math.sqrt(variance / len(answers)))


def test_a_dip_in_a_small_sample_does_not_fire() -> None:
    rule = rules()["store-nps-drop"]
    baseline = nps_counts(700, 350, 70)  # NPS 40 over the week
    few = nps_counts(12, 4, 5)  # NPS -8.3 from 12 answers: fewer than 30
    assert evaluate(rule, few, baseline).state == "unknown"
    loose = rule.model_copy(update={"min_responses": 5})
    noisy = evaluate(loose, few, baseline)
    assert noisy.state == "clear"  # 48 points down, but 12 answers explain it
    assert "n=12" in noisy.reason


def test_a_real_drop_fires() -> None:
    rule = rules()["store-nps-drop"]
    verdict = evaluate(rule, nps_counts(200, 60, 40), nps_counts(2000, 1000, 200))
    assert verdict.state == "firing"
    assert (verdict.value, verdict.baseline) == (pytest.approx(10.0), pytest.approx(40.0))
    assert verdict.change == pytest.approx(-30.0)  # now - baseline: a fall is negative
    assert "(-30.0 points; n=200 vs 2000)" in verdict.reason
    small_drop = evaluate(rule, nps_counts(200, 92, 24), nps_counts(2000, 1000, 200))
    assert small_drop.state == "clear"  # 6 points: under the rule's 10


def test_a_threshold_needs_the_whole_interval_past_the_line() -> None:
    rule = rules()["app-csat-low"]
    sure = evaluate(rule, Counts(responses=400, satisfied=244))  # 61%, 95% up to 65.7
    assert sure.state == "firing"
    unsure = evaluate(rule, Counts(responses=40, satisfied=26))  # 65%, 95% up to 78
    assert unsure.state == "clear"


def test_silence_is_told_apart_from_low_volume() -> None:
    week = Counts(events=10_080 * 4)  # 4 events a minute
    silent = evaluate(rules()["sms-silent"], Counts(events=0), week)
    assert silent.state == "firing" and silent.reason.startswith("data stopped")
    assert evaluate(rules()["sms-silent"], Counts(events=3), week).state == "clear"
    quiet_week = Counts(events=100)
    assert evaluate(rules()["sms-silent"], Counts(events=0), quiet_week).state == "unknown"
    volume = rules()["store-volume-low"]
    assert evaluate(volume, Counts(events=90), week).state == "firing"  # 90 of 240 due
    assert evaluate(volume, Counts(events=200), week).state == "clear"


def test_response_time_above_target() -> None:
    rule = rules()["slow-first-answer"]
    slow = Counts(contacts=40, first_answer_p90_minutes=95.0)
    assert evaluate(rule, slow).state == "firing"
    assert evaluate(rule, slow._replace(contacts=8)).state == "unknown"
    assert evaluate(rule, slow._replace(first_answer_p90_minutes=30.0)).state == "clear"


def test_an_alert_fires_once_per_episode_and_resolves_once() -> None:
    rule = rules()["app-csat-low"]
    low, fine, thin = (
        Counts(responses=400, satisfied=244),
        Counts(responses=400, satisfied=340),
        Counts(responses=5, satisfied=1),
    )
    episodes: dict[tuple[str, str], object] = {}
    events = [
        advance(episodes, rule, "channel=app", evaluate(rule, counts), at)  # type: ignore[arg-type]
        for at, counts in enumerate((fine, low, low, thin, low, fine, fine, low))
    ]
    assert [(e.status, e.at_ms) if e else None for e in events] == [
        None,
        ("firing", 1),
        None,
        None,  # too few answers: neither fires nor resolves
        None,
        ("resolved", 5),
        None,
        ("firing", 7),
    ]
    resolved = events[5]
    assert resolved is not None and resolved.episode_started_at_ms == 1


def test_the_rules_file_is_validated_with_clear_errors() -> None:
    bad = """
[[rule]]
name = "a"
metric = "nps"
condition = { kind = "volume" }

[[rule]]
name = "b"
metric = "csat"
window = "1h"
condition = { kind = "threshold", below = 70, above = 90 }

[[rule]]
name = "c"
metric = "nsp"
condition = { kind = "threshold", below = 1 }

[[rule]]
name = "d"
metric = "nps"
window = "7d"
slice = { shop = "x" }
condition = { kind = "drop", points = 5, baseline = "1d" }

[[rule]]
name = "b"
metric = "events"
condition = { kind = "silence" }
"""
    with pytest.raises(RulesError) as caught:
        parse_rules(bad, "alerts.toml")
    message = str(caught.value)
    for expected in (
        "alerts.toml: rule 1 (a): a volume condition watches metric 'events'",
        "alerts.toml: rule 2 (b): condition.threshold: give exactly one of below or above",
        "alerts.toml: rule 3 (c): metric:",
        "alerts.toml: rule 4 (d): slice.shop: Extra inputs are not permitted",
        "alerts.toml: rule name 'b' is used twice",
    ):
        assert expected in message, message
    with pytest.raises(RulesError, match="not valid TOML"):
        parse_rules("[[rule]\n", "alerts.toml")
    with pytest.raises(RulesError, match="baseline must be longer than the window"):
        parse_rules(
            '[[rule]]\nname = "e"\nmetric = "nps"\nwindow = "7d"\n'
            'condition = { kind = "drop", points = 5, baseline = "1d" }\n'
        )


def test_the_shipped_rules_file_is_valid() -> None:
    from pathlib import Path

    from streams.alerts.rules import load_rules

    shipped = load_rules(Path(__file__).resolve().parents[2] / "deploy/alerts.toml")
    assert {rule.metric for rule in shipped} >= {"nps", "csat", "ces", "events"}


def test_a_score_rule_counts_its_own_survey_only() -> None:
    from streams.alerts.slices import metric_counts

    rule = rules()["app-csat-low"]
    rows = [  # channel, store, stage, dimension, survey, events, responses, ...
        ("app", "", "post_purchase", "functional", "ces", 60, 60, 0, 0, 0, 300, 1600, 50),
        ("app", "", "post_purchase", "", "csat", 8, 8, 0, 0, 2, 0, 0, 0),
        ("web", "", "post_purchase", "", "csat", 50, 50, 0, 0, 0, 0, 0, 0),
    ]
    assert metric_counts(rule, rows) == {"channel=app": Counts(events=8, responses=8, satisfied=2)}
