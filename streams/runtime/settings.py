"""The one settings object, read from the environment (prefix CX_) in one place."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.identity.rules import IdentityRules, parse_kinds

DEV_PII_SECRET = "cx-dev-secret-not-for-production"
log = logging.getLogger(__name__)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CX_", frozen=True, extra="ignore")

    broker_url: str = Field(
        "kafka://127.0.0.1:9092", description="Kafka bootstrap, kafka://host:port[,host:port]"
    )
    clickhouse_url: str = Field(
        "",
        description="chdb:///abs/dir (embedded) or http://user:pass@host:8123; default: chdb under data_dir",
    )
    database: str = Field("cx", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    topic_prefix: str = "cx."
    pii_secret: SecretStr | None = Field(
        None, description="key of the hash that replaces email and phone"
    )
    data_dir: Path = Path(".cx-data")
    app_id: str = Field("cx-processor", description="consumer group and faust app id")
    roles: str = Field(
        "ingest,journeys,store",
        pattern=r"^(ingest|journeys|store)(,(ingest|journeys|store)){0,2}$",
        description="stages this worker runs: ingest (channel topics, identity; scale out "
        "freely), journeys (journey state, scale out), store (writes ClickHouse; with the "
        "embedded engine one process only)",
    )
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    log_level: str = "INFO"

    batch_max_records: int = Field(10_000, ge=1, description="records per processing batch")
    batch_max_wait_ms: int = Field(100, ge=1, description="longest wait to fill a batch")
    channel_partitions: int = Field(
        4, ge=1, description="partitions of channel topics this project creates"
    )
    internal_partitions: int = Field(
        8,
        ge=1,
        description="partitions of the touchpoints, journey-steps, journeys and journey-rows topics",
    )
    replication_factor: int = Field(
        1, ge=1, description="replication of the topics this project creates"
    )
    deadletter_retention_days: int = Field(
        30,
        ge=1,
        description="how long the dead-letter topic keeps a rejected record (its original "
        "bytes, personal data included), set when the worker creates the topic",
    )
    dedup_cache_events: int = Field(
        500_000, ge=1000, description="most event ids kept per partition"
    )
    identity_strong: str = Field(
        "customer_id,loyalty_id",
        description="identifier kinds of which a person has at most one value: two are "
        "never merged (kinds: customer_id, loyalty_id, phone, email, anonymous_id)",
    )
    identity_shared_limit: int = Field(
        5,
        ge=1,
        description="a weak identifier seen with more distinct identifiers of one "
        "kind than this (anonymous ids aside) is shared and stops linking",
    )
    identity_shared_anonymous_limit: int = Field(
        50, ge=1, description="the same limit, counting anonymous ids"
    )
    journey_gap_minutes: int = Field(
        3 * 24 * 60, ge=1, description="a journey ends after this long without activity"
    )
    journey_lateness_minutes: int = Field(
        6 * 60,
        ge=0,
        description="how late (event time) a touchpoint may arrive and still "
        "join its journey; ended journeys are kept this long, then evicted from memory",
    )
    commit_interval_ms: int = Field(
        500,
        ge=0,
        description="how often a stage commits the offsets of what it has written (a "
        "restart reads up to this much again; the sinks drop what they already hold)",
    )
    journey_flush_ms: int = Field(
        1000,
        ge=0,
        description="how often the journey stage folds the people new steps came for and "
        "writes their journeys and state (a person touched many times in between is "
        "written once); journeys lag the touchpoints by up to this much",
    )
    journey_evict_idle_seconds: float = Field(
        60,
        ge=0,
        description="a person also stays in memory until untouched this long "
        "(wall clock): reading a backlog, event time runs ahead on some topics",
    )
    alert_rules: Path | None = Field(
        None, description="TOML file of alert rules (docs/alerts.md); none: no alerting"
    )
    alert_interval_seconds: float = Field(
        2, gt=0, description="how often the store worker evaluates the alert rules"
    )
    alert_webhooks: str = Field(
        "", description="comma-separated URLs that get every alert as a JSON POST"
    )
    gc_tuned: bool = Field(
        True,
        description="collect young garbage every 5,000 allocations and freeze what "
        "survives, keeping pauses short (streams/runtime/gc_watch.py); false: CPython's defaults",
    )
    kafka_compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "zstd",
        description="codec of the record batches this project's producers send (internal "
        "topics, dead letters, alerts, cx produce); zstd: a fifth of the bytes at no cost "
        "in throughput (docs/performance.md). Consumers read every codec whatever this says",
    )
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 2_000
    kafka_rebalance_timeout_ms: int = 10_000
    kafka_fetch_max_wait_ms: int = Field(
        50,
        ge=0,
        description="longest a fetch waits on the broker for records; keep it short: some "
        "brokers (tansu) answer only when it expires, even when records arrived meanwhile",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="the worker's log lines: text (faust's format) or json (one object a line)",
    )
    web_token: SecretStr | None = Field(
        None,
        description="bearer token GET /journey requires (a person's whole history); "
        "unset: /journey is off",
    )
    stall_seconds: float = Field(
        300,
        gt=0,
        description="a stage with records to read that has committed nothing for this long "
        "is stalled: GET /live answers 503",
    )
    loop_stuck_seconds: float = Field(
        10,
        gt=0,
        description="GET /live answers 503 when the event loop has been held this long",
    )

    @field_validator("identity_strong")
    @classmethod
    def _known_kinds(cls, value: str) -> str:
        parse_kinds(value)  # raises on an unknown kind
        return value

    @model_validator(mode="after")
    def _default_clickhouse(self) -> Settings:
        if not self.clickhouse_url:
            path = (self.data_dir / "clickhouse").resolve()
            object.__setattr__(self, "clickhouse_url", f"chdb://{path}")
        return self

    @property
    def ingests(self) -> bool:
        return "ingest" in self.roles.split(",")

    @property
    def stores(self) -> bool:
        return "store" in self.roles.split(",")

    @property
    def webhook_urls(self) -> list[str]:
        return [url.strip() for url in self.alert_webhooks.split(",") if url.strip()]

    @property
    def journeys(self) -> bool:
        return "journeys" in self.roles.split(",")

    @property
    def identity_rules(self) -> IdentityRules:
        return IdentityRules(
            parse_kinds(self.identity_strong),
            self.identity_shared_limit,
            self.identity_shared_anonymous_limit,
        )

    @property
    def bootstrap_servers(self) -> str:
        """host:port list for aiokafka, from the faust-style broker URL."""
        return ",".join(part.split("://", 1)[-1] for part in self.broker_url.split(","))

    @property
    def embedded_clickhouse(self) -> bool:
        return self.clickhouse_url.startswith("chdb:")

    def to_env(self) -> dict[str, str]:
        """These settings as CX_* environment variables (for a child worker)."""
        env = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"CX_{name.upper()}"] = str(value)
        return env

    def require_pii_secret(self) -> bytes:
        if self.pii_secret is None or not self.pii_secret.get_secret_value():
            raise SystemExit(
                "CX_PII_SECRET is not set: it keys the hash that replaces email "
                "and phone. Set it (and keep it) before running the worker."
            )
        return self.pii_secret.get_secret_value().encode()


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """CX_* variables that name no setting: most likely typos."""
    known = {f"CX_{name.upper()}" for name in Settings.model_fields}
    return sorted(name for name in environ if name.startswith("CX_") and name not in known)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; `overrides` win. Warns about CX_*
    variables that match no setting."""
    for name in unknown_variables(os.environ):
        log.warning("ignoring %s: no such setting (typo?)", name)
    return Settings(**overrides)  # type: ignore[arg-type]
