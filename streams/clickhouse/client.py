"""One ClickHouse connection, embedded (chdb:///dir) or a server (http://...),
through clickhouse-connect with the same SQL either way.

`Store` is blocking. `OffLoopStore` runs a `Store` on one dedicated thread, so
the event loop never blocks and chdb sees a single caller, and retries
transient failures with backoff.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError, ProgrammingError

from streams.clickhouse import sql
from streams.runtime.retry import with_backoff
from streams.runtime.settings import ConfigError, redacted_url

if TYPE_CHECKING:
    from streams.runtime.settings import Settings

T = TypeVar("T")

# Server error codes that say "try again later", not "this is wrong".
_TRANSIENT_CODES = frozenset(
    {
        159,  # TIMEOUT_EXCEEDED
        164,  # READONLY (replica in read-only mode)
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        203,  # NO_FREE_CONNECTION
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        241,  # MEMORY_LIMIT_EXCEEDED
        242,  # TABLE_IS_READ_ONLY
        243,  # NOT_ENOUGH_SPACE (disk full)
        252,  # TOO_MANY_PARTS (merges behind), but see _PERMANENT_MESSAGES
        319,  # UNKNOWN_STATUS_OF_INSERT
        425,  # SYSTEM_ERROR
        999,  # KEEPER_EXCEPTION
    }
)
_PERMANENT_MESSAGES = ("partitions for single INSERT block",)
"""Errors under a transient code that no retry heals (252 covers both)."""
_TRANSIENT_MESSAGES = ("No space left on device", "Read-only file system", "errno: 28", "errno: 30")
"""The file system failing under another code (CANNOT_WRITE_..., ...)."""
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)")
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def is_transient_clickhouse_error(exc: BaseException) -> bool:
    """Infrastructure that may heal (unreachable, busy, disk full, read-only),
    as opposed to a statement or data that is wrong."""
    if isinstance(exc, OperationalError):  # connection refused, reset, timeout
        return True
    if isinstance(exc, DatabaseError):
        message = _QUOTED.sub("''", str(exc))  # what ClickHouse says, not the data it quotes
        if any(text in message for text in _PERMANENT_MESSAGES):
            return False
        return getattr(exc, "code", None) in _TRANSIENT_CODES or any(
            text in message for text in _TRANSIENT_MESSAGES
        )
    return isinstance(exc, (ConnectionError, TimeoutError))


def error_name(exc: BaseException) -> str:
    """What ClickHouse said went wrong, without its message (which may quote
    data): `CODE NAME`, e.g. `243 NOT_ENOUGH_SPACE`, or the error's type."""
    if isinstance(exc, OperationalError):
        return "OperationalError (ClickHouse unreachable or not answering)"
    code = getattr(exc, "code", None)
    if not isinstance(exc, DatabaseError) or code is None:
        return type(exc).__name__
    names = _NAME.findall(str(exc))
    return f"{code} {names[-1]}" if names else str(code)


def error_summary(exc: BaseException) -> str:
    """`error_name` and the first line of ClickHouse's message with every
    quoted fragment blanked (parse errors quote the rows they failed on):
    enough to see a schema mistake, such as a missing column, without
    personal data."""
    name = error_name(exc)
    if not isinstance(exc, DatabaseError):
        return name
    text = str(exc).split("DB::Exception: ")[-1].splitlines()[0]
    blanked = _QUOTED.sub("'…'", text)[:300]
    return f"{name}: {blanked}"


_INSERT_SETTINGS: dict[str, Any] = {
    # Touchpoints (and their metrics) are partitioned by month of event time:
    # a backfill's block spans many months. The limit (100 by default) guards
    # against a partitioning mistake; one block makes the same parts as one
    # insert per month would, in less time (docs/performance.md).
    "max_partitions_per_insert_block": 0,
}

_SYNC = {"async_insert": 0}
"""The sinks gather their rows themselves (`streams.clickhouse.gather`):
said explicitly, as ClickHouse 26.3 and later insert asynchronously by
default (the embedded engine never does)."""
_ASYNC = {"async_insert": 1, "wait_for_async_insert": 1, "async_insert_deduplicate": 1}
"""CX_CLICKHOUSE_ASYNC_INSERT: the server gathers the inserts of every
worker, and an insert returns once its rows are stored (so offsets are
committed after them); tokens still drop a retried block
(docs/operations.md)."""


def insert_settings(token: str | None, *, async_insert: bool = False) -> dict[str, Any]:
    """The settings of every insert of the sinks."""
    settings = {**_INSERT_SETTINGS, **(_ASYNC if async_insert else _SYNC)}
    if not token:
        return settings
    # A retried block is dropped by the table and, with the second setting,
    # by the materialized views it feeds (metrics_minute).
    return {
        **settings,
        "insert_deduplication_token": token,
        "deduplicate_blocks_in_dependent_materialized_views": 1,
    }


class EmbeddedStoreBusy(RuntimeError):
    def __init__(self, url: str) -> None:
        super().__init__(
            f"cannot open the embedded ClickHouse at {url.removeprefix('chdb://')}: chdb allows "
            "one process per data directory, and another one (a running worker?) has it. "
            "Stop that process first, or ask the worker: GET /stats."
        )


def _verify_failed(exc: BaseException) -> bool:
    """Whether a connection failed on the server's certificate."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            seen
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def config_error(exc: BaseException, url: str, ca_file: str | None) -> ConfigError | None:
    """A failure to connect read as a wrong setting, or None."""
    if _verify_failed(exc):
        where = "CX_CLICKHOUSE_CA_FILE" if ca_file else "CX_CLICKHOUSE_CA_FILE (unset)"
        return ConfigError(
            f"{where}: the certificate of the ClickHouse server at {redacted_url(url)} is "
            "not signed by this CA (certificate verify failed)"
        )
    if isinstance(exc, DatabaseError) and getattr(exc, "code", None) == 516:
        return ConfigError(
            f"CX_CLICKHOUSE_URL/CX_CLICKHOUSE_PASSWORD: ClickHouse at {redacted_url(url)} "
            "refused the user or password (516 AUTHENTICATION_FAILED)"
        )
    return None


class Store:
    def __init__(
        self,
        url: str,
        database: str,
        *,
        ca_file: str | None = None,
        password: str | None = None,
        async_insert: bool = False,
        session: Mapping[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.database = database
        self.ca_file = ca_file
        self.password = password
        self.async_insert = async_insert
        self.session = dict(session or {})
        """Settings of every query on this connection (`cx ui`: readonly)."""
        self._client: Client | None = None

    @classmethod
    def of(cls, settings: Settings, *, session: Mapping[str, Any] | None = None) -> Store:
        """The store `settings` name, with its CA and password (and
        `session`: settings of every query)."""
        password = settings.clickhouse_password
        return cls(
            settings.clickhouse_url,
            settings.database,
            ca_file=str(settings.clickhouse_ca_file) if settings.clickhouse_ca_file else None,
            password=password.get_secret_value() if password else None,
            async_insert=settings.clickhouse_async_insert,
            session=session,
        )

    @property
    def client(self) -> Client:
        if self._client is None:
            options: dict[str, Any] = {}
            if self.url.startswith(("http://", "https://")):
                # clickhouse-connect (1.12) reads no scheme from the DSN:
                # https:// on a port other than 443 or 8443 would be plain http.
                options["interface"] = self.url.partition("://")[0]
            if self.ca_file:
                options |= {"ca_cert": self.ca_file, "verify": True}
            if self.password:
                options["password"] = self.password
            if self.session:
                options["settings"] = self.session
            try:
                self._client = clickhouse_connect.get_client(dsn=self.url, **options)
            except ProgrammingError as exc:
                if self.url.startswith("chdb:"):
                    raise EmbeddedStoreBusy(self.url) from exc
                raise
            except (OperationalError, DatabaseError) as exc:
                config = config_error(exc, self.url, self.ca_file)
                if config is not None:
                    raise config from None
                raise
        return self._client

    def _params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"database": self.database, **params}

    def command(self, statement: str, **params: Any) -> None:
        self.client.command(statement, parameters=self._params(params))

    def query(self, name: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of the named query in queries/NAME.sql."""
        result = self.client.query(sql.query(name), parameters=self._params(params))
        return [tuple(row) for row in result.result_rows]

    def query_named(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of queries/NAME.sql as column name -> value."""
        result = self.client.query(sql.query(name), parameters=self._params(params))
        return [dict(row) for row in result.named_results()]

    def insert(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> None:
        """Insert column-oriented data. The same `dedup_token` on a retried
        insert makes ClickHouse store the block once."""
        settings = insert_settings(dedup_token, async_insert=self.async_insert)
        self.client.insert(
            table,
            list(columns.values()),
            column_names=list(columns),
            database=self.database,
            column_oriented=True,
            settings=settings,
        )

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: bytes, *, dedup_token: str | None
    ) -> None:
        """Insert JSONCompactEachRow lines (`streams.clickhouse.bundle`) as they
        are: ClickHouse parses them. The same `dedup_token` on a retried
        insert makes ClickHouse store the block once."""
        settings = {
            "input_format_json_read_objects_as_strings": 1,
            **insert_settings(dedup_token, async_insert=self.async_insert),
        }
        self.client.raw_insert(
            f"{self.database}.{table}",
            list(columns),
            rows,
            settings=settings,
            fmt="JSONCompactEachRow",
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class OffLoopStore:
    """Runs `Store` calls off the event loop, on a thread and a connection of
    its own, one call at a time in the order they were asked, and retries
    transient failures. Each sink has its own (touchpoints, journeys,
    identity, dead letters, alerts, reads for stats and lookups): a slow query
    or insert holds up only its own sink, and a sink's lookups see its own
    inserts. The embedded engine takes several connections in one process."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="clickhouse")
        self.inserts: Counter[str] = Counter()
        """INSERTs ClickHouse accepted, by table (each makes a part per partition)."""
        self.inserted_rows: Counter[str] = Counter()
        """The rows of those INSERTs, by table."""

    async def _call(self, what: str, fn: Callable[[], T], *, retry: bool = True) -> T:
        loop = asyncio.get_running_loop()

        async def attempt() -> T:
            return await loop.run_in_executor(self._thread, fn)

        if not retry:
            return await attempt()
        return await with_backoff(
            attempt,
            is_transient=is_transient_clickhouse_error,
            what=f"clickhouse: {what}",
            describe_error=error_name,
        )

    async def query(self, name: str, *, retry: bool = True, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of queries/NAME.sql; transient failures are retried unless
        `retry` is false (for callers that report rather than wait)."""
        return await self._call(
            f"query {name}", lambda: self.store.query(name, **params), retry=retry
        )

    async def insert(
        self, table: str, columns: Mapping[str, Sequence[Any]], *, dedup_token: str | None
    ) -> None:
        await self._call(
            f"insert into {table}",
            lambda: self.store.insert(table, columns, dedup_token=dedup_token),
        )
        self._count(table, len(next(iter(columns.values()), ())))

    async def insert_rows(
        self, table: str, columns: Sequence[str], rows: bytes, *, dedup_token: str | None
    ) -> None:
        await self._call(
            f"insert into {table}",
            lambda: self.store.insert_rows(table, columns, rows, dedup_token=dedup_token),
        )
        self._count(table, rows.count(b"\n") + 1 if rows else 0)

    def _count(self, table: str, rows: int) -> None:
        self.inserts[table] += 1
        self.inserted_rows[table] += rows

    async def run(self, what: str, fn: Callable[[Store], T]) -> T:
        return await self._call(what, lambda: fn(self.store))

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self.store.close)
        self._thread.shutdown(wait=True)
