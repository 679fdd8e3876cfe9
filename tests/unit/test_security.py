"""Settings of Kafka and ClickHouse security: validation lines naming the
variable, secrets read from files, the SSL context and the options every
aiokafka client and faust get, failures read as wrong settings, and the
CLI's one line with exit code 2."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed
from click.testing import CliRunner
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import ValidationError

from streams.cli import main
from streams.runtime import security
from streams.runtime.kafka import consumer_for, producer_for
from streams.runtime.settings import (
    ConfigError,
    Settings,
    problems,
    redacted_url,
    unknown_variables,
)
from tests.integration.tls import Pki, make_pki

SASL: dict[str, Any] = {
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "cx",
    "kafka_sasl_password": "pw-9d2c",
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def lines(**options: Any) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        Settings(**options)
    return problems(raised.value)


def test_a_sasl_protocol_names_each_missing_setting() -> None:
    assert lines(kafka_security_protocol="SASL_SSL") == [
        "CX_KAFKA_SASL_MECHANISM is required with SASL_SSL",
        "CX_KAFKA_SASL_USERNAME is required with SASL_SSL",
        "CX_KAFKA_SASL_PASSWORD is required with SASL_SSL",
    ]


def test_settings_without_their_protocol_are_refused_without_their_values() -> None:
    found = lines(kafka_ssl_cafile="/ca.pem", kafka_ssl_keyfile="/k.pem", **SASL)
    assert "CX_KAFKA_SSL_CAFILE is set but CX_KAFKA_SECURITY_PROTOCOL is PLAINTEXT" in found[3]
    assert "CX_KAFKA_SSL_KEYFILE is set without CX_KAFKA_SSL_CERTFILE" in found
    assert found[2].startswith("CX_KAFKA_SASL_PASSWORD is set but")
    assert not any("pw-9d2c" in line for line in found)
    assert lines(clickhouse_url="http://h:8123", clickhouse_ca_file="/ca.pem") == [
        "CX_CLICKHOUSE_CA_FILE is set but CX_CLICKHOUSE_URL is not https://"
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"broker_url": "localhost:9092"}, "CX_BROKER_URL: expected kafka://host:port"),
        ({"broker_url": "kafka://localhost"}, "CX_BROKER_URL: expected kafka://host:port"),
        ({"clickhouse_url": "localhost:8123"}, "CX_CLICKHOUSE_URL: expected chdb:///"),
        ({"kafka_security_protocol": "TLS"}, "CX_KAFKA_SECURITY_PROTOCOL: Input should be"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "CX_KAFKA_SASL_MECHANISM: Input should be"),
    ],
)
def test_a_bad_value_is_one_line_naming_its_variable(
    options: dict[str, str], expected: str
) -> None:
    (line,) = lines(**options)
    assert line.startswith(expected)


def test_a_clickhouse_url_in_a_message_hides_its_password() -> None:
    (line,) = lines(clickhouse_url="cx:s3cret@host:8123")
    assert "s3cret" not in line


def test_several_brokers_and_both_url_schemes_are_accepted() -> None:
    Settings(broker_url="kafka://a:9092,b:9093,kafka://c:9094")
    Settings(clickhouse_url="https://cx@h:8443", clickhouse_ca_file="/ca.pem")


def test_secrets_are_read_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw").write_text("from-a-file\n")
    (tmp_path / "pii").write_text("pii-key")
    monkeypatch.setenv("CX_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "pw"))
    monkeypatch.setenv("CX_PII_SECRET_FILE", str(tmp_path / "pii"))
    monkeypatch.setenv("CX_CLICKHOUSE_PASSWORD_FILE", str(tmp_path / "pw"))
    monkeypatch.setenv("CX_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("CX_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("CX_KAFKA_SASL_USERNAME", "cx")
    settings = Settings()
    assert settings.kafka_sasl_password is not None and settings.pii_secret is not None
    assert settings.kafka_sasl_password.get_secret_value() == "from-a-file"
    assert settings.pii_secret.get_secret_value() == "pii-key"
    assert settings.clickhouse_password is not None
    assert unknown_variables({"CX_PII_SECRET_FILE": "x", "CX_BROKER_URL_FILE": "y"}) == [
        "CX_BROKER_URL_FILE"
    ]


def test_a_secret_file_that_cannot_be_read_or_doubles_a_variable_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"^CX_KAFKA_SASL_PASSWORD_FILE: cannot read .*missing"):
        Settings()
    (tmp_path / "pw").write_text("x")
    monkeypatch.setenv("CX_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "pw"))
    monkeypatch.setenv("CX_KAFKA_SASL_PASSWORD", "y")
    with pytest.raises(ConfigError, match="are both set"):
        Settings()


def test_plaintext_clients_get_no_security_options() -> None:
    settings = Settings()
    assert security.kafka_auth(settings) == {"security_protocol": "PLAINTEXT"}
    assert security.faust_credentials(settings) is None


def test_ssl_builds_one_context_for_every_client_and_faust(pki: Pki) -> None:
    settings = Settings(
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=pki.ca,
        kafka_ssl_certfile=pki.client_cert,
        kafka_ssl_keyfile=pki.client_key,
    )
    context = security.kafka_ssl_context(settings)
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert security.kafka_ssl_context(settings) is context  # one, shared
    auth = security.kafka_auth(settings)
    assert auth == {"security_protocol": "SSL", "ssl_context": context}
    credentials = security.faust_credentials(settings)
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials_to_aiokafka_auth(credentials) == auth

    async def clients() -> None:
        producer, consumer = producer_for(settings), consumer_for(settings, None)
        for client in (producer.client, consumer._client):
            assert client._security_protocol == "SSL"
            assert client._ssl_context is context
        await producer.stop()
        await consumer.stop()

    asyncio.run(clients())
    relaxed = settings.model_copy(update={"kafka_ssl_check_hostname": False})
    assert not security.kafka_ssl_context(relaxed).check_hostname  # type: ignore[union-attr]


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_reaches_aiokafka_and_faust_alike(protocol: str, pki: Pki) -> None:
    tls = {"kafka_ssl_cafile": pki.ca} if protocol == "SASL_SSL" else {}
    settings = Settings(kafka_security_protocol=protocol, **SASL, **tls)
    auth = security.kafka_auth(settings)
    assert auth["security_protocol"] == protocol
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("cx", "pw-9d2c")
    assert ("ssl_context" in auth) == (protocol == "SASL_SSL")
    credentials = security.faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    # faust picks SASL_SSL only when given the context: it must agree.
    assert credentials_to_aiokafka_auth(credentials) == {"ssl_context": None, **auth}
    assert "pw-9d2c" not in repr(credentials)


def test_unreadable_tls_files_name_their_setting(tmp_path: Path, pki: Pki) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(ConfigError, match=r"^CX_KAFKA_SSL_CAFILE: cannot load"):
        security.kafka_ssl_context(Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=bogus))
    with pytest.raises(ConfigError, match=r"^CX_KAFKA_SSL_CERTFILE/CX_KAFKA_SSL_KEYFILE"):
        security.kafka_ssl_context(
            Settings(kafka_security_protocol="SSL", kafka_ssl_certfile=tmp_path / "none.pem")
        )


def test_failures_are_read_as_a_wrong_setting_or_as_transient() -> None:
    tls = Settings(kafka_security_protocol="SSL")
    sasl = Settings(kafka_security_protocol="SASL_PLAINTEXT", **SASL)
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_code, verify.verify_message = 20, "unable to get local issuer certificate"
    assert str(security.explain(verify, tls)).startswith(
        "CX_KAFKA_SSL_CAFILE (unset): the broker's certificate is not signed by this CA"
    )
    refused = security.explain(SaslAuthenticationFailed("bad"), sasl)
    assert str(refused).startswith("CX_KAFKA_SASL_PASSWORD: the broker refused the user 'cx'")
    assert "pw-9d2c" not in str(refused)
    assert security.explain(ConnectionRefusedError(111, "refused"), tls) is None
    assert security.is_transient(ConnectionRefusedError(111, "refused"))
    assert not security.is_transient(ConfigError("x"))


def test_a_broker_closing_every_connection_is_a_wrong_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []

    async def closes(host: str, port: int, settings: Settings) -> None:
        calls.append(port)
        error = KafkaConnectionError("closed")
        error.__cause__ = asyncio.IncompleteReadError(b"", 4)
        raise error

    monkeypatch.setattr(security, "_connect_once", closes)
    settings = Settings(kafka_security_protocol="SSL", broker_url="kafka://127.0.0.1:1")
    with pytest.raises(ConfigError, match=r"^CX_KAFKA_SSL_CERTFILE \(unset\): the broker closes"):
        asyncio.run(security.probe_broker(settings))
    assert len(calls) == 3


@pytest.mark.parametrize("command", [["metrics"], ["summary"], ["journey", "customer_id:C1"]])
def test_the_cli_refuses_bad_settings_in_one_line_each_with_exit_2(command: list[str]) -> None:
    result = CliRunner().invoke(
        main,
        command,
        env={"CX_BROKER_URL": "localhost:9092", "CX_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
    )
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "CX_BROKER_URL: expected kafka://host:port[,host:port], got 'localhost:9092' "
        "(missing kafka://)"
    ]
    assert "Traceback" not in result.output


def test_the_cli_says_a_secret_file_is_missing_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["metrics"], env={"CX_PII_SECRET_FILE": str(tmp_path / "nope")}
    )
    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 1
    assert result.output.startswith("CX_PII_SECRET_FILE: cannot read")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://cx:p%40ss@ch:8443", "https://cx:***@ch:8443"),
        ("http://ch:8123", "http://ch:8123"),
        ("chdb:///srv/cx", "chdb:///srv/cx"),
        ("cx:pw@ch:8123", "cx:***@ch:8123"),
    ],
)
def test_urls_are_logged_without_their_password(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


def test_a_url_refused_never_shows_its_password() -> None:
    env = {"CX_BROKER_URL": "u:s3cret@host:9092", "CX_CLICKHOUSE_URL": "cx:s3cret@host:8123"}
    result = CliRunner().invoke(main, ["metrics"], env=env)
    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 2
    assert "s3cret" not in result.output and result.output.count(":***@") == 2
