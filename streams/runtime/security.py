"""Kafka security from settings, in one place: the SSL context, the options
of every aiokafka client, faust's credentials, and the reading of a failed
connection as a wrong setting (exit 2) or an unreachable broker (wait)."""

from __future__ import annotations

import asyncio
import functools
import ssl
from pathlib import Path
from typing import Any

import faust
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    IllegalSaslStateError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from streams.runtime.settings import ConfigError, Settings

PROBE_TIMEOUT_S = 10.0
"""How long one attempt to reach the broker may take (TCP, TLS, SASL)."""


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The one SSL context of every Kafka client (None without TLS)."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    return _ssl_context(
        settings.kafka_ssl_cafile,
        settings.kafka_ssl_certfile,
        settings.kafka_ssl_keyfile,
        settings.kafka_ssl_check_hostname,
    )


@functools.cache
def _ssl_context(
    cafile: Path | None, certfile: Path | None, keyfile: Path | None, check_hostname: bool
) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"CX_KAFKA_SSL_CAFILE: cannot load {cafile} as a CA ({_why(exc)})"
        ) from None
    if certfile:
        try:
            context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                "CX_KAFKA_SSL_CERTFILE/CX_KAFKA_SSL_KEYFILE: cannot load the client "
                f"certificate {certfile} and its key ({_why(exc)})"
            ) from None
    context.check_hostname = check_hostname
    return context


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def kafka_auth(settings: Settings) -> dict[str, Any]:
    """The security options of an aiokafka client (consumer, producer, admin)."""
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    context = kafka_ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.kafka_security_protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else None,
        }
    return options


def faust_credentials(settings: Settings) -> faust.auth.Credentials | None:
    """faust's `broker_credentials`: the same protocol and context as the
    other clients. SASLCredentials picks SASL_SSL only when given a context
    (without one it is SASL_PLAINTEXT), so the context goes with it."""
    protocol = settings.kafka_security_protocol
    context = kafka_ssl_context(settings)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    if protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            ssl_context=context,  # None for SASL_PLAINTEXT
            mechanism=settings.kafka_sasl_mechanism,
        )
    return None


def explain(exc: BaseException, settings: Settings) -> ConfigError | None:
    """A failure to connect read as a wrong setting, or None when it may
    heal (the broker unreachable, restarting, slow)."""
    protocol = settings.kafka_security_protocol
    if isinstance(exc, ssl.SSLCertVerificationError):
        if exc.verify_code == 62 or "hostname" in str(exc).lower():  # X509_V_ERR_HOSTNAME_MISMATCH
            return ConfigError(
                "CX_BROKER_URL/CX_KAFKA_SSL_CHECK_HOSTNAME: the broker's certificate does not "
                f"name the host connected to ({exc.verify_message})"
            )
        where = (
            "CX_KAFKA_SSL_CAFILE" if settings.kafka_ssl_cafile else "CX_KAFKA_SSL_CAFILE (unset)"
        )
        return ConfigError(
            f"{where}: the broker's certificate is not signed by this CA "
            f"(certificate verify failed: {exc.verify_message})"
        )
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        if "WRONG_VERSION_NUMBER" in reason or "RECORD_LAYER" in reason:
            return ConfigError(
                f"CX_KAFKA_SECURITY_PROTOCOL: {protocol}, but the broker does not speak TLS there"
            )
        if "CERTIFICATE" in reason.upper() or "ALERT" in reason.upper():
            return ConfigError(
                "CX_KAFKA_SSL_CERTFILE: the broker refused the client certificate "
                f"(TLS alert: {reason})"
            )
        return ConfigError(f"CX_KAFKA_SECURITY_PROTOCOL: the TLS handshake failed ({reason})")
    if isinstance(exc, UnsupportedSaslMechanismError):
        return ConfigError(
            f"CX_KAFKA_SASL_MECHANISM: the broker does not offer {settings.kafka_sasl_mechanism}"
        )
    # aiokafka's SCRAM client raises KeyError or ValueError on a refusal sent
    # as a SCRAM message (tansu does so) instead of as an error code.
    refused = (SaslAuthenticationFailed, AuthenticationFailedError, IllegalSaslStateError)
    if isinstance(exc, refused) or (
        protocol.startswith("SASL_") and isinstance(exc, KeyError | ValueError)
    ):
        return ConfigError(
            "CX_KAFKA_SASL_PASSWORD: the broker refused the user "
            f"{settings.kafka_sasl_username!r} or its password "
            f"({type(exc).__name__ if isinstance(exc, refused) else 'in the SCRAM exchange'})"
        )
    return None


def is_transient(exc: BaseException) -> bool:
    return not isinstance(exc, ConfigError) and isinstance(
        exc, (OSError, TimeoutError, KafkaConnectionError)
    )


def _closed_at_once(exc: BaseException) -> bool:
    """The broker accepted the connection (and TLS) then closed it unanswered."""
    return isinstance(exc, KafkaConnectionError) and isinstance(
        exc.__cause__, asyncio.IncompleteReadError | ConnectionResetError | BrokenPipeError
    )


def _closed_means(settings: Settings) -> ConfigError:
    """What a broker that closes every connection unanswered most likely
    wants (asyncio reports a TLS alert after the handshake as a plain close)."""
    protocol, mechanism = settings.kafka_security_protocol, settings.kafka_sasl_mechanism
    closes = "the broker closes every connection without answering"
    if protocol.endswith("SSL"):
        unset = "" if settings.kafka_ssl_certfile else " (unset)"
        sasl = f", or does not offer {mechanism}" if protocol == "SASL_SSL" else ""
        return ConfigError(
            f"CX_KAFKA_SSL_CERTFILE{unset}: {closes} after the TLS handshake: it most likely "
            f"wants a client certificate it trusts (mutual TLS){sasl}"
        )
    if protocol == "SASL_PLAINTEXT":
        return ConfigError(
            f"CX_KAFKA_SASL_MECHANISM: {closes}: it most likely does not offer {mechanism}, "
            "or wants TLS (CX_KAFKA_SECURITY_PROTOCOL=SASL_SSL)"
        )
    return ConfigError(
        f"CX_KAFKA_SECURITY_PROTOCOL: {protocol}, but {closes}: it most likely wants TLS or SASL"
    )


async def _connect_once(host: str, port: int, settings: Settings) -> None:
    conn = await asyncio.wait_for(
        create_conn(host, port, request_timeout_ms=PROBE_TIMEOUT_S * 1000, **kafka_auth(settings)),
        PROBE_TIMEOUT_S,
    )
    conn.close()


async def probe_broker(settings: Settings, closed_attempts: int = 3) -> None:
    """Connect to a bootstrap server as every client does (TCP, TLS, SASL,
    API versions). Raises ConfigError for a wrong setting (a connection closed
    unanswered `closed_attempts` times in a row counts as one); an OSError,
    TimeoutError or KafkaConnectionError when no server answers."""
    last: BaseException = KafkaConnectionError("no bootstrap server")
    for server in settings.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        for attempt in range(closed_attempts):
            try:
                await _connect_once(host, int(port), settings)
                return
            except Exception as exc:
                config = explain(exc, settings) or explain(exc.__cause__ or exc, settings)
                if config is not None:
                    raise config from None
                last = exc
                if not _closed_at_once(exc):
                    break
                if attempt + 1 == closed_attempts:
                    raise _closed_means(settings) from None
                await asyncio.sleep(0.3)
    raise last
