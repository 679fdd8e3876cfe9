"""Kafka over TLS and SASL: a worker (a child `cx worker`) behind a TLS
terminator that requires a client certificate stores every event, aiokafka
and librdkafka producers sending; a wrong CA, a missing client certificate or
a refused SASL password, a wrong ClickHouse CA stop the worker within seconds
with one line naming the setting and exit code 2; the reports before any
worker ran say to migrate.

tansu speaks no TLS (tests/integration/tls.py) and, with `--authentication`,
refuses every client: it has no users, and `tansu user create` is itself
refused by a broker that requires authentication. So SASL is tested for the
refusal (the right password cannot be)."""

from __future__ import annotations

import asyncio
import http.server
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import Producer

from streams.cli import main
from streams.clickhouse.client import Store
from streams.dev.broker import LocalBroker, free_port
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import TrafficSpec, generate_traffic
from streams.dev.generator.traffic import GeneratedRecord
from streams.dev.produce import produce_records
from streams.runtime.settings import ConfigError, Settings
from streams.runtime.topics import Topics
from tests import oracle
from tests.integration.harness import isolated_settings
from tests.integration.tls import Pki, TlsTerminator, make_pki
from tests.stored import snapshot

FAILS_WITHIN_S = 20.0
"""A wrong setting stops the worker this fast (start-up of Python included)."""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_broker(
    pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalBroker, int]]:
    """tansu advertising the terminator's port, and the terminator (mutual
    TLS) in front of it: (broker, TLS port)."""
    tls_port = free_port()
    log = tmp_path_factory.mktemp("tansu-tls") / "tansu.log"
    with (
        LocalBroker(log_path=log, advertised_port=tls_port) as broker,
        TlsTerminator(tls_port, broker.port, pki, client_ca=True),
    ):
        yield broker, tls_port


def _tls(pki: Pki, port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "broker_url": f"kafka://127.0.0.1:{port}",
        "kafka_security_protocol": "SSL",
        "kafka_ssl_cafile": pki.ca,
        "kafka_ssl_certfile": pki.client_cert,
        "kafka_ssl_keyfile": pki.client_key,
        **overrides,
    }


def _librdkafka_send(settings: Settings, pki: Pki, records: list[GeneratedRecord]) -> None:
    """Send over the same TLS path with librdkafka (as other teams do)."""
    topics = Topics(settings.topic_prefix)
    producer = Producer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "security.protocol": "SSL",
            "ssl.ca.location": str(pki.ca),
            "ssl.certificate.location": str(pki.client_cert),
            "ssl.key.location": str(pki.client_key),
            "partitioner": "murmur2_random",  # as aiokafka's (and Java's) for keys
            "acks": "all",
        }
    )
    failed: list[str] = []
    for record in records:
        producer.produce(
            topics.channel(record.channel),
            value=record.value,
            key=record.key,
            on_delivery=lambda error, _m: failed.append(str(error)) if error else None,
        )
        producer.poll(0)
    assert producer.flush(30) == 0
    assert failed == []


def test_a_worker_over_mutual_tls_stores_every_event(
    tls_broker: tuple[LocalBroker, int], pki: Pki, tmp_path: Path
) -> None:
    broker, port = tls_broker
    settings = isolated_settings(broker, tmp_path, **_tls(pki, port))
    records = generate_traffic(TrafficSpec(people=150, seed=23))
    half = len(records) // 2
    worker = ChildWorker(settings, tmp_path / "worker.log").start()
    try:
        asyncio.run(produce_records(settings, records[:half]))  # aiokafka
        _librdkafka_send(settings, pki, records[half:])
        worker.wait_stored(len(oracle.valid(records)), len(oracle.invalid(records)))
    finally:
        code = worker.stop()
    assert code == 0
    stored = snapshot(settings)
    assert stored.count == stored.unique_ids == len(oracle.valid(records))
    assert stored.touchpoints_by_type() == oracle.touchpoints_by_type(records)
    assert stored.dead_letters_by_reason() == oracle.dead_letters_by_reason(records)


def _fails_at_start(settings: Settings, log: Path) -> str:
    """Start a worker that must refuse to run: its exit code is 2 within
    FAILS_WITHIN_S; returns what it printed."""
    started = time.monotonic()
    worker = ChildWorker(settings, log).start(healthy_within=None)
    try:
        code = worker.exit_code(FAILS_WITHIN_S)
    finally:
        if code is None:
            worker.kill()
    assert code == 2, log.read_text()[-2000:]
    assert time.monotonic() - started < FAILS_WITHIN_S
    text = log.read_text()
    assert "Traceback" not in text
    return text


def test_a_wrong_ca_stops_the_worker_at_once_naming_the_setting(
    tls_broker: tuple[LocalBroker, int], pki: Pki, tmp_path: Path
) -> None:
    broker, port = tls_broker
    good = isolated_settings(broker, tmp_path, **_tls(pki, port))
    wrong = good.model_copy(update={"kafka_ssl_cafile": pki.other_ca})
    printed = _fails_at_start(wrong, tmp_path / "wrong-ca.log")
    assert (
        "CX_KAFKA_SSL_CAFILE: the broker's certificate is not signed by this CA "
        "(certificate verify failed" in printed
    )


def test_no_client_certificate_stops_the_worker_naming_the_setting(
    tls_broker: tuple[LocalBroker, int], pki: Pki, tmp_path: Path
) -> None:
    broker, port = tls_broker
    good = isolated_settings(broker, tmp_path, **_tls(pki, port))
    anonymous = good.model_copy(update={"kafka_ssl_certfile": None, "kafka_ssl_keyfile": None})
    printed = _fails_at_start(anonymous, tmp_path / "no-cert.log")
    assert "CX_KAFKA_SSL_CERTFILE (unset): the broker closes every connection" in printed
    assert "client certificate" in printed


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    log = tmp_path_factory.mktemp("tansu-sasl") / "tansu.log"
    with LocalBroker(log_path=log, authentication=True) as running:
        yield running


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_a_refused_sasl_password_stops_the_worker_naming_the_setting(
    sasl_broker: LocalBroker, tmp_path: Path, mechanism: str
) -> None:
    password = "not-the-password-7f3a"
    settings = Settings(
        broker_url=sasl_broker.url,
        clickhouse_url=f"chdb://{tmp_path / 'clickhouse'}",
        data_dir=tmp_path,
        pii_secret="x",
        web_port=free_port(),
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="cx",
        kafka_sasl_password=password,
    )
    printed = _fails_at_start(settings, tmp_path / "sasl.log")
    assert "CX_KAFKA_SASL_PASSWORD: the broker refused the user 'cx' or its password" in printed
    assert password not in printed


def test_sasl_over_tls_reaches_the_broker_and_is_refused(
    pki: Pki, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """SASL_SSL: the TLS handshake (with the CA) then SASL, through the
    terminator in front of a tansu that requires authentication."""
    tls_port = free_port()
    log = tmp_path_factory.mktemp("tansu-sasl-ssl") / "tansu.log"
    with (
        LocalBroker(log_path=log, advertised_port=tls_port, authentication=True) as broker,
        TlsTerminator(tls_port, broker.port, pki, client_ca=False),
    ):
        settings = Settings(
            broker_url=f"kafka://127.0.0.1:{tls_port}",
            clickhouse_url=f"chdb://{tmp_path / 'clickhouse'}",
            data_dir=tmp_path,
            pii_secret="x",
            web_port=free_port(),
            kafka_security_protocol="SASL_SSL",
            kafka_ssl_cafile=pki.ca,
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="cx",
            kafka_sasl_password="wrong",
        )
        printed = _fails_at_start(settings, tmp_path / "sasl-ssl.log")
        assert "CX_KAFKA_SASL_PASSWORD: the broker refused" in printed
        wrong_ca = settings.model_copy(update={"kafka_ssl_cafile": pki.other_ca})
        printed = _fails_at_start(wrong_ca, tmp_path / "sasl-ssl-wrong-ca.log")
        assert "CX_KAFKA_SSL_CAFILE: the broker's certificate is not signed" in printed


class _Https:
    """An HTTPS endpoint with the test server certificate, standing where a
    ClickHouse server would (the TLS verification is what is tested)."""

    def __init__(self, pki: Pki) -> None:
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), http.server.BaseHTTPRequestHandler
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Https:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_wrong_clickhouse_ca_stops_the_worker_naming_the_setting(
    broker: LocalBroker, pki: Pki, tmp_path: Path
) -> None:
    with _Https(pki) as https:
        url = f"https://cx:ch-pw-51@127.0.0.1:{https.port}"
        wrong = Store(url, "cx", ca_file=str(pki.other_ca))
        with pytest.raises(ConfigError, match=r"^CX_CLICKHOUSE_CA_FILE: the certificate of"):
            wrong.client  # noqa: B018
        right = Store(url, "cx", ca_file=str(pki.ca))
        with pytest.raises(Exception) as raised:  # past TLS: not a ClickHouse answering
            right.client  # noqa: B018
        assert not isinstance(raised.value, ConfigError)
        settings = Settings(
            broker_url=broker.url,
            clickhouse_url=url,
            clickhouse_ca_file=pki.other_ca,
            data_dir=tmp_path,
            pii_secret="x",
            web_port=free_port(),
        )
        printed = _fails_at_start(settings, tmp_path / "clickhouse-ca.log")
    assert "CX_CLICKHOUSE_CA_FILE: the certificate of the ClickHouse server at " in printed
    assert "https://cx:***@127.0.0.1" in printed
    assert "ch-pw-51" not in printed


@pytest.mark.parametrize("command", [["metrics"], ["summary"], ["journey", "customer_id:C1"]])
def test_reports_before_any_worker_ran_say_to_migrate(tmp_path: Path, command: list[str]) -> None:
    env = {"CX_DATA_DIR": str(tmp_path), "CX_WEB_PORT": str(free_port())}
    result = CliRunner().invoke(main, command, env=env)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"ClickHouse at chdb://{tmp_path}/clickhouse has no schema yet (database cx): "
        "run a worker (it migrates at start) or `cx db migrate`"
    ]


def test_a_broker_out_of_reach_is_waited_for_and_a_refusal_then_still_stops_the_worker(
    tmp_path: Path,
) -> None:
    """No broker at start: the worker waits (its /health says so) instead of
    exiting; the broker then comes up refusing the password: exit 2, one line."""
    port = free_port()
    settings = Settings(
        broker_url=f"kafka://127.0.0.1:{port}",
        clickhouse_url=f"chdb://{tmp_path / 'clickhouse'}",
        data_dir=tmp_path,
        pii_secret="x",
        web_port=free_port(),
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="cx",
        kafka_sasl_password="wrong",
        health_wait_seconds=1,  # /health shows the wait after a second, not five
    )
    log = tmp_path / "worker.log"
    worker = ChildWorker(settings, log).start(healthy_within=None)
    try:
        worker.wait_until(
            lambda _: any(
                wait["what"] == "kafka: reach the broker"
                for wait in ((worker.health() or (0, {}))[1].get("waiting", []))
            ),
            60,
            "/health shows the wait for the broker",
        )
        with LocalBroker(port=port, log_path=tmp_path / "tansu.log", authentication=True):
            code = worker.exit_code(60)
    finally:
        if worker.process is not None and worker.process.poll() is None:
            worker.kill()
    text = log.read_text()
    assert code == 2, text[-2000:]
    assert "Traceback" not in text
    assert "CX_KAFKA_SASL_PASSWORD: the broker refused the user 'cx'" in text
