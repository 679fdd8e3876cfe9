"""Retention decisions, without a broker or ClickHouse: every topic the worker
creates says how long it keeps records (or that it is compacted), from the
settings; the ClickHouse TTLs come from the settings and read back."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.clickhouse.retention import Retention, days_of, retention_plan
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics, topic_configs, topic_plan

DAY_MS = 86_400_000


def settings(**overrides: object) -> Settings:
    return Settings(clickhouse_url="http://unused:8123", **overrides)  # type: ignore[arg-type]


def test_every_topic_has_a_retention_or_a_compaction_decision() -> None:
    configs = topic_configs(settings())
    for topic in topic_plan(settings()):
        config = configs.get(topic, {})
        deletes = config.get("cleanup.policy", "delete") == "delete"
        if deletes:
            assert "retention.ms" in config, f"{topic}: kept as long as the broker's default"
        else:
            assert config["cleanup.policy"] == "compact", topic
            assert "max.compaction.lag.ms" in config, f"{topic}: superseded records kept forever"


def test_topic_retention_follows_the_settings() -> None:
    chosen = settings(channel_retention_days=2, internal_retention_days=1)
    topics = Topics(chosen.topic_prefix)
    configs = topic_configs(chosen)
    for channel in topics.channels:
        assert configs[channel]["retention.ms"] == str(2 * DAY_MS)
    for transit in (topics.touchpoints, topics.journey_steps, topics.journey_rows):
        assert configs[transit]["retention.ms"] == str(1 * DAY_MS)
    assert configs[topics.identity]["retention.ms"] == "-1", "the identity log's policy is kept"


def test_defaults_keep_channel_records_a_week_and_transit_records_three_days() -> None:
    defaults = settings()
    assert (defaults.channel_retention_days, defaults.internal_retention_days) == (7, 3)
    assert (defaults.touchpoint_retention_days, defaults.journey_retention_days) == (0, 0)
    assert defaults.deadletter_store_retention_days == 30


def test_clickhouse_ttls_come_from_the_settings() -> None:
    plan = retention_plan(
        settings(
            touchpoint_retention_days=400,
            journey_retention_days=0,
            deadletter_store_retention_days=14,
        )
    )
    assert plan == [
        Retention("touchpoints", "occurred_at", 400),
        Retention("journeys", "last_at", 0),
        Retention("deadletters", "received_at", 14),
    ]
    assert [r.expression for r in plan] == [
        "toDateTime(occurred_at) + toIntervalDay(400)",
        "",
        "toDateTime(received_at) + toIntervalDay(14)",
    ]


def test_a_ttl_reads_back_as_its_days_and_one_set_by_hand_as_unknown() -> None:
    assert days_of("toDateTime(occurred_at) + toIntervalDay(30)") == 30
    assert days_of("") == 0
    assert days_of("toDateTime(occurred_at) + toIntervalMonth(1)") is None


def test_dead_letter_rows_must_outlive_their_bytes_on_the_topic() -> None:
    with pytest.raises(ValidationError, match="CX_DEADLETTER_STORE_RETENTION_DAYS"):
        settings(deadletter_retention_days=7, deadletter_store_retention_days=3)
    assert settings(deadletter_store_retention_days=0).deadletter_store_retention_days == 0
