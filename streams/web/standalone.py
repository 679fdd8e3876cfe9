"""`cx ui`: the web UI without a worker (docs/ui.md), on the store
CX_CLICKHOUSE_URL names, read-only: a ClickHouse server as the BI user
`cx_bi` (its grants: the documented views only), the embedded engine with
`readonly = 1` on every query. On a server the personal endpoints (a
person's history, survey comments) read tables the BI user may not: with
CX_WEB_TOKEN set they connect as the configured user with `readonly = 1` on
every query; without it they are off and no such connection is made. A
worker that holds the embedded engine serves the same pages at the root of
its own web port: `cx ui` says so."""

from __future__ import annotations

import errno
import urllib.parse
from pathlib import Path

import click
from aiohttp import web
from clickhouse_connect.driver.exceptions import DatabaseError

from streams.clickhouse.client import EmbeddedStoreBusy, OffLoopStore, Store, error_name
from streams.runtime.net import is_listening
from streams.runtime.settings import ConfigError, Settings, redacted_url
from streams.web.api import endpoints
from streams.web.server import UI, application, token_gate

BI_USER = "cx_bi"


def bi_url(url: str) -> str:
    """`url` (a ClickHouse server's) with the BI user and no password."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{BI_USER}@{host}"))


def worker_url(settings: Settings) -> str:
    return f"http://{settings.web_host}:{settings.web_port}/"


def read_only_store(settings: Settings) -> Store:
    """The store the UI reads, as a user (or with settings) that cannot write."""
    if settings.embedded_clickhouse:
        folder = Path(settings.clickhouse_url.removeprefix("chdb://"))
        if is_listening(settings.web_host, settings.web_port):
            raise click.ClickException(
                f"a worker holds the embedded ClickHouse and serves this UI: open "
                f"{worker_url(settings)} (its web port)"
            )
        if not folder.is_dir():
            raise ConfigError(
                f"CX_CLICKHOUSE_URL: no embedded ClickHouse at {folder}: run `make demo` "
                "or a worker first, or point CX_CLICKHOUSE_URL at a store"
            )
        return Store(settings.clickhouse_url, settings.database, session=READ_ONLY)
    password = settings.clickhouse_bi_password
    if password is None or not password.get_secret_value():
        raise ConfigError(
            f"CX_CLICKHOUSE_BI_PASSWORD: set the password of the read-only user {BI_USER} "
            "(CLICKHOUSE_BI_PASSWORD of docker-compose): cx ui reads a server as that user"
        )
    ca = str(settings.clickhouse_ca_file) if settings.clickhouse_ca_file else None
    return Store(
        bi_url(settings.clickhouse_url),
        settings.database,
        ca_file=ca,
        password=password.get_secret_value(),
    )


READ_ONLY = {"readonly": 1}
"""Settings of every query of a store `cx ui` opens itself: no write, no
DDL, no setting changed."""


def personal_store(settings: Settings) -> Store | None:
    """What the personal endpoints read on a ClickHouse server: the user of
    CX_CLICKHOUSE_URL (its password, CA) with `readonly = 1` on every
    query, only when CX_WEB_TOKEN is set (else they are off). None on the
    embedded engine, whose one read-only store serves every endpoint, and
    without the token."""
    token = settings.web_token
    if settings.embedded_clickhouse or token is None or not token.get_secret_value():
        return None
    return Store.of(settings, session=READ_ONLY)


def opened(settings: Settings) -> Store:
    """The read-only store, each page's endpoint read once: a store without
    the schema, with an older one, or busy, is one line now rather than an
    error on every page."""
    store = read_only_store(settings)
    try:
        for endpoint in endpoints(settings).values():
            if not endpoint.personal:
                endpoint.read(store, endpoint.parse({}))
    except EmbeddedStoreBusy:
        store.close()
        raise click.ClickException(
            f"another process (a worker?) holds the embedded ClickHouse at "
            f"{settings.clickhouse_url.removeprefix('chdb://')}: open that worker's web "
            f"port at / instead (CX_WEB_PORT; {worker_url(settings)} by default)"
        ) from None
    except DatabaseError as exc:
        store.close()
        if getattr(exc, "code", None) != 60:  # UNKNOWN_TABLE; no database: the CLI's line
            raise
        raise click.ClickException(
            f"ClickHouse at {redacted_url(settings.clickhouse_url)} lacks a view the UI reads "
            f"({error_name(exc)}): its schema is older than this cx; run `cx db migrate` or "
            "start a worker (it migrates)"
        ) from None
    except BaseException:
        store.close()
        raise
    return store


def opened_personal(settings: Settings) -> Store | None:
    """`personal_store`, connected: a refused user or password is one line
    now rather than a 503 on the person page."""
    store = personal_store(settings)
    if store is not None:
        try:
            store.client  # noqa: B018 (connects: a ConfigError names what is wrong)
        except BaseException:
            store.close()
            raise
    return store


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the UI on host:port until interrupted."""
    store = opened(settings)
    try:
        personal = opened_personal(settings)
    except BaseException:
        store.close()
        raise
    reader = OffLoopStore(store)
    personal_reader = OffLoopStore(personal) if personal is not None else None
    ui = UI(
        endpoints(settings),
        reader,
        token_gate(settings.web_token),
        personal_reader=personal_reader,
    )
    app = application(ui)

    async def close(_: web.Application) -> None:
        await reader.close()
        if personal_reader is not None:
            await personal_reader.close()

    app.on_cleanup.append(close)
    where = "embedded" if settings.embedded_clickhouse else f"as {BI_USER}"
    click.echo(
        f"CX web UI on http://{host}:{port}/ reading {redacted_url(store.url)} ({where}, "
        "read-only); Ctrl-C stops it",
        err=True,
    )
    if personal is not None:
        click.echo(
            f"person and comment lookups read {redacted_url(personal.url)} "
            "(readonly = 1 on every query; behind CX_WEB_TOKEN)",
            err=True,
        )
    try:
        web.run_app(app, host=host, port=port, access_log=None, print=None)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise click.ClickException(
            f"port {port} on {host} is taken: choose another with --port"
        ) from None
