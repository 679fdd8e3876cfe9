"""The one settings object, read from the environment (prefix CX_) in one place."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from streams.identity.rules import IdentityRules, parse_kinds

DEV_PII_SECRET = "cx-dev-secret-not-for-production"
log = logging.getLogger(__name__)

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
URL_SCHEMES = ("chdb://", "http://", "https://")


class ConfigError(Exception):
    """A setting that is wrong (not a fault of the infrastructure): the
    message names the CX_ variable; the process exits with code 2."""


def redacted_url(url: str) -> str:
    """The URL without its password (nor a query, which may carry one), for
    logs and messages."""
    url, query, _ = url.partition("?")
    if query:
        url += "?…"
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        rest = f"{credentials.split(':', 1)[0]}:***@{host}"
    return f"{scheme}{sep}{rest}"


def secret_fields(settings_cls: type[BaseSettings]) -> list[str]:
    """The settings that hold secrets (SecretStr): each can also be read from
    the file CX_<NAME>_FILE names."""
    return [
        name
        for name, field in settings_cls.model_fields.items()
        if field.annotation in (SecretStr, SecretStr | None)
    ]


class SecretFiles(PydanticBaseSettingsSource):
    """CX_<SECRET>_FILE: a secret read from a file, as Docker and Kubernetes
    mount them (one trailing newline dropped). Setting both is an error."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all the work is in __call__

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in secret_fields(self.settings_cls):
            variable = f"CX_{name.upper()}"
            path = os.environ.get(f"{variable}_FILE")
            if not path:
                continue
            if os.environ.get(variable):
                raise ConfigError(f"{variable}_FILE and {variable} are both set: set one")
            try:
                values[name] = Path(path).read_text().removesuffix("\n").removesuffix("\r")
            except OSError as exc:
                raise ConfigError(
                    f"{variable}_FILE: cannot read {path} ({exc.strerror or exc})"
                ) from None
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CX_", frozen=True, extra="ignore")

    broker_url: str = Field(
        "kafka://127.0.0.1:9092", description="Kafka bootstrap, kafka://host:port[,host:port]"
    )
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_ssl_cafile: Path | None = Field(
        None, description="CA bundle the broker's certificate must chain to (default: the system's)"
    )
    kafka_ssl_certfile: Path | None = Field(None, description="client certificate (mutual TLS)")
    kafka_ssl_keyfile: Path | None = Field(None, description="its private key")
    kafka_ssl_check_hostname: bool = True
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    clickhouse_url: str = Field(
        "",
        description="chdb:///abs/dir (embedded) or http(s)://user:pass@host:8123; default: chdb under data_dir",
    )
    clickhouse_password: SecretStr | None = Field(
        None, description="ClickHouse password, instead of the one in the URL"
    )
    clickhouse_ca_file: Path | None = Field(
        None, description="CA bundle an https:// ClickHouse's certificate must chain to"
    )
    clickhouse_bi_password: SecretStr | None = Field(
        None,
        description="password of the read-only BI user cx_bi, as which `cx ui` reads a "
        "ClickHouse server",
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
        7,
        ge=1,
        description="how long the dead-letter topic keeps a rejected record (its original "
        "bytes, personal data included, in clear), set when the worker creates the topic: "
        "long enough for a producer to fix and replay it, no longer",
    )
    touchpoint_retention_days: int = Field(
        0,
        ge=0,
        description="ClickHouse keeps a touchpoint this many days after its event time "
        "(occurred_at), then drops it at a merge; metrics_minute keeps its counts. "
        "0: forever. Applied by the store worker at start",
    )
    journey_retention_days: int = Field(
        0,
        ge=0,
        description="ClickHouse keeps a journey this many days after its last touch "
        "(last_at), then drops it at a merge. 0: forever. Applied by the store worker at start",
    )
    deadletter_store_retention_days: int = Field(
        30,
        ge=0,
        description="ClickHouse keeps a dead letter's row (reasons, positions, a hash of the "
        "bytes) this many days after it was read (received_at): a month of rejection counts "
        "for producers, past the topic's bytes. 0: forever; otherwise at least "
        "deadletter_retention_days. Applied by the store worker at start",
    )
    channel_retention_days: int = Field(
        7,
        ge=1,
        description="how long the channel topics keep producers' records (personal data in "
        "clear), set when the worker creates them: ingest reads them within seconds; a week "
        "lets a stopped ingest catch up and a stage be replayed",
    )
    internal_retention_days: int = Field(
        3,
        ge=1,
        description="how long the internal transit topics (touchpoints, journey-steps, "
        "journey-rows) keep a record, set when the worker creates them: read within seconds; "
        "a stage stopped longer than this loses what it had not read",
    )
    erasure_suppress: bool = Field(
        False,
        description="what happens to the events of an erased person that arrive later, when "
        "the request does not say: true, dropped and counted (cx_records_suppressed_total); "
        "false, taken as a new person",
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
        description="how often the ingest stage commits the offsets of what it has written "
        "(a restart reads up to this much again; the sinks drop what they already hold); "
        "the ClickHouse sinks commit at each insert interval",
    )
    insert_interval_ms: int = Field(
        1000,
        ge=0,
        description="how often each ClickHouse sink inserts the rows it gathered across "
        "batches (then commits their offsets): ClickHouse asks for about one insert a second "
        "per table; touchpoints become queryable up to this much later",
    )
    lookup_insert_interval_ms: int = Field(
        5000,
        ge=0,
        description="the same for the tables people look things up in rather than watch "
        "(identity links and map, dead letters): fewer, larger inserts and parts; "
        "they become queryable up to this much later",
    )
    insert_max_rows: int = Field(
        100_000,
        ge=1,
        le=1_000_000,
        description="a sink inserts at once when it holds this many rows (a backlog's "
        "inserts grow up to it); at most ClickHouse's max_insert_block_size (about a million)",
    )
    insert_max_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1,
        description="...or this many bytes of rows (JSON lines), whichever comes first",
    )
    clickhouse_async_insert: bool = Field(
        False,
        description="insert with ClickHouse's asynchronous inserts (async_insert=1, "
        "wait_for_async_insert=1): the server gathers the inserts of many workers. false: "
        "synchronous inserts, said explicitly (ClickHouse 26.3 and later insert asynchronously "
        "by default). The embedded engine ignores it",
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
        "",
        description="comma-separated URLs that get every alert as a JSON POST (generic "
        "webhooks); other formats are [[target]] tables of the rules file",
    )
    alertmanager_resend_seconds: float = Field(
        60,
        gt=0,
        description="how often open alerts are posted to Alertmanager targets again, each "
        "held (endsAt) four such intervals ahead, as Prometheus does: an alert the worker "
        "stops re-sending ends by itself",
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
    health_wait_seconds: float = Field(
        5,
        ge=0,
        description="an operation on ClickHouse or the broker retried for longer than this "
        "makes GET /ready answer 503 waiting (shorter waits are the ordinary retries of a "
        "busy system)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SecretFiles(settings_cls)

    @field_validator("broker_url")
    @classmethod
    def _kafka_url(cls, value: str) -> str:
        expected = "expected kafka://host:port[,host:port]"
        if not value.startswith("kafka://"):
            raise ValueError(f"{expected}, got {redacted_url(value)!r} (missing kafka://)")
        for part in value.split(","):
            host, sep, port = part.strip().removeprefix("kafka://").rpartition(":")
            if not (sep and host and port.isdigit()) or "/" in host:
                raise ValueError(f"{expected}, got {redacted_url(value)!r}")
        return value

    @field_validator("clickhouse_url")
    @classmethod
    def _clickhouse_scheme(cls, value: str) -> str:
        if value and not value.startswith(URL_SCHEMES):
            raise ValueError(
                "expected chdb:///absolute/dir, http://user:password@host:8123 or "
                f"https://user:password@host:8443, got {redacted_url(value)!r} (no scheme)"
            )
        return value

    @model_validator(mode="after")
    def _combinations(self) -> Settings:
        problems = list(self._security_problems())
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _security_problems(self) -> list[str]:
        """The settings that contradict each other, one line each."""
        protocol = self.kafka_security_protocol
        found: list[str] = []
        if protocol.startswith("SASL_"):
            for name in ("kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password"):
                if not getattr(self, name):
                    found.append(f"CX_{name.upper()} is required with {protocol}")
        else:
            found += [
                f"CX_{name.upper()} is set but CX_KAFKA_SECURITY_PROTOCOL is {protocol} "
                "(SASL_PLAINTEXT or SASL_SSL use it)"
                for name in ("kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password")
                if getattr(self, name)
            ]
        if not protocol.endswith("SSL"):
            found += [
                f"CX_{name.upper()} is set but CX_KAFKA_SECURITY_PROTOCOL is {protocol} "
                "(SSL or SASL_SSL use it)"
                for name in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
                if getattr(self, name)
            ]
        if self.kafka_ssl_keyfile and not self.kafka_ssl_certfile:
            found.append("CX_KAFKA_SSL_KEYFILE is set without CX_KAFKA_SSL_CERTFILE")
        if self.clickhouse_ca_file and not self.clickhouse_url.startswith("https://"):
            found.append("CX_CLICKHOUSE_CA_FILE is set but CX_CLICKHOUSE_URL is not https://")
        return found

    @model_validator(mode="after")
    def _retentions(self) -> Settings:
        """A dead letter's row must outlive its bytes on the topic: `cx
        deadletters show/replay` find the bytes through the row, and the
        mirror drops a re-read dead letter by the rows it holds."""
        kept, topic = self.deadletter_store_retention_days, self.deadletter_retention_days
        if 0 < kept < topic:
            raise ValueError(
                f"CX_DEADLETTER_STORE_RETENTION_DAYS ({kept}) is shorter than "
                f"CX_DEADLETTER_RETENTION_DAYS ({topic}): the rows must outlive the bytes "
                "on the topic (0 keeps them forever)"
            )
        return self

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
    known |= {f"CX_{name.upper()}_FILE" for name in secret_fields(Settings)}
    return sorted(name for name in environ if name.startswith("CX_") and name not in known)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; `overrides` win. Warns about CX_*
    variables that match no setting."""
    for name in unknown_variables(os.environ):
        log.warning("ignoring %s: no such setting (typo?)", name)
    return Settings(**overrides)  # type: ignore[arg-type]


def problems(exc: ValidationError) -> list[str]:
    """A settings error as lines, each naming its CX_ variable; never the
    value given (it may be a secret)."""
    lines = []
    for error in exc.errors():
        prefix = f"CX_{str(error['loc'][0]).upper()}: " if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        lines += [prefix + line for line in message.splitlines()]
    return lines
