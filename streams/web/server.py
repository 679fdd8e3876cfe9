"""The web UI's HTTP side (docs/ui.md): its pages, their static files and
the JSON endpoints under `/api/<key>`, as aiohttp handlers that the worker
mounts on faust's web server (`streams.runtime.app`) and `cx ui` serves
alone (`application`).

An endpoint's query is parsed on the loop (a mistake is a 400 with its one
line); its read runs off the loop through a `Reader` (`OffLoopStore.run`)
and is answered from a per-query cache for `CACHE_SECONDS`, so open tabs
polling the same page cost one query an interval. Personal endpoints (a
person's history, survey comments) are behind the bearer token, never
cached, and read through their own reader when one is given (`cx ui` on a
server: the configured user with `readonly = 1`, since the BI user may read
only views).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson
from aiohttp import web
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from pydantic import SecretStr

from schemas import Channel
from streams.clickhouse.client import Store, error_name
from streams.runtime.web_token import refusal

T = TypeVar("T")

STATIC = Path(__file__).parent / "static"
"""The pages, scripts, styles and the vendored ECharts (package data)."""

PAGES = {
    "/": ("overview", "Overview"),
    "/journey-map": ("journey-map", "Journey map"),
    "/person": ("person", "Person"),
    "/alerts": ("alerts", "Alerts"),
}
"""Each page's path, its name (its script and `STATIC/pages/<name>.html`,
the content of its `<main>` below the heading) and its title (the heading)."""


FIELDS = {
    "{{dates}}": '<label>From <input type="date" name="from"></label>\n'
    '    <label>To <input type="date" name="to"></label>',
    "{{channel_options}}": "\n".join(
        f'        <option value="{channel.value}">{channel.value}</option>' for channel in Channel
    ),
}
"""Filter fields the pages' forms share, written into them where named:
the date range, and a channel's options (the contract's channels)."""


def page_html(name: str, title: str) -> bytes:
    """A page: the shell every page shares (head, navigation, live status)
    around the page's own content, its shared filter fields filled in."""
    shell = (STATIC / "shell.html").read_text()
    main = (STATIC / "pages" / f"{name}.html").read_text()
    for placeholder, html in FIELDS.items():
        main = main.replace(placeholder, html)
    filled = shell.replace("{{title}}", title).replace("{{page}}", name)
    return filled.replace("{{main}}", main).encode()


CACHE_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 20.0
"""How long a page waits for ClickHouse before it is told 503 (the read
goes on; its answer fills the cache)."""

HEADERS = {
    # Everything comes from this server: no CDN, no inline script, no frame.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
API_HEADERS = {**HEADERS, "Cache-Control": "no-store"}


class Endpoint(Protocol):
    """One JSON endpoint (streams.web.api): `parse` makes the query of a
    request (ValueError: a one-line reason), `read` answers it from the
    store (blocking), `personal` puts it behind the bearer token, `what`
    names it in a refusal."""

    @property
    def personal(self) -> bool: ...

    @property
    def what(self) -> str: ...

    @property
    def parse(self) -> Callable[[Mapping[str, str]], Any]: ...

    @property
    def read(self) -> Callable[[Store, Any], Any]: ...


class Reader(Protocol):
    """What runs a blocking read off the loop (`OffLoopStore`)."""

    def run(self, what: str, fn: Callable[[Store], T]) -> Awaitable[T]: ...


Handler = Callable[[web.Request], Awaitable[web.Response]]
Refusal = tuple[int, dict[str, Any], dict[str, str]]
"""Status, JSON body and headers of an answer that is not given."""
Gate = Callable[[web.Request, Endpoint], Refusal | None]
"""Whether a request may be answered now (token, readiness), else why not."""


def token_refusal(request: web.Request, token: SecretStr | None, what: str) -> Refusal | None:
    """Why a personal endpoint is not answered (no token set: 403; a wrong
    or missing one: 401), or None."""
    refused = refusal(request.headers.get("Authorization"), token, what)
    if refused is None:
        return None
    status, reason = refused
    return status, {"error": reason}, {"WWW-Authenticate": "Bearer"} if status == 401 else {}


def token_gate(token: SecretStr | None) -> Gate:
    """`cx ui`'s gate: the bearer token for personal endpoints, nothing else."""

    def gate(request: web.Request, endpoint: Endpoint) -> Refusal | None:
        return token_refusal(request, token, endpoint.what) if endpoint.personal else None

    return gate


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] = {}) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
        headers={**API_HEADERS, **headers},
    )


@dataclass
class Cache:
    """Answers by endpoint and query for `seconds`; a query asked again
    while it is read waits for that read instead of starting another."""

    seconds: float = CACHE_SECONDS
    limit: int = 512
    clock: Callable[[], float] = time.monotonic
    _done: dict[tuple[str, ...], tuple[float, Any]] = field(default_factory=dict)
    _reading: dict[tuple[str, ...], asyncio.Future[Any]] = field(default_factory=dict)

    async def get(self, key: tuple[str, ...], read: Callable[[], Awaitable[Any]]) -> Any:
        now = self.clock()
        kept = self._done.get(key)
        if kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        running = self._reading.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._reading[key] = future
        try:
            value = await read()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when none waits
            raise
        else:
            future.set_result(value)
            self._keep(key, value)
            return value
        finally:
            del self._reading[key]

    def _keep(self, key: tuple[str, ...], value: Any) -> None:
        now = self.clock()
        if len(self._done) >= self.limit:
            self._done = {k: v for k, v in self._done.items() if now - v[0] < self.seconds}
            while len(self._done) >= self.limit:
                del self._done[next(iter(self._done))]
        self._done[key] = (now, value)


class UI:
    """The pages and endpoints over one reader (personal endpoints: over
    `personal_reader` when given), behind one gate."""

    def __init__(
        self,
        endpoints: Mapping[str, Endpoint],
        reader: Reader,
        gate: Gate,
        *,
        cache: Cache | None = None,
        personal_reader: Reader | None = None,
    ) -> None:
        self.endpoints = dict(endpoints)
        self.reader = reader
        self.personal_reader = personal_reader
        self.gate = gate
        self.cache = cache or Cache()
        self.pages = {path: page_html(name, title) for path, (name, title) in PAGES.items()}

    async def page(self, request: web.Request) -> web.Response:
        """A page's HTML: a shell whose script asks the endpoints."""
        return web.Response(
            body=self.pages[request.path],
            content_type="text/html",
            charset="utf-8",
            headers=HEADERS,
        )

    async def api(self, request: web.Request) -> web.Response:
        """GET /api/<key>: the endpoint's JSON, a 400 for a query it refuses,
        a 503 when ClickHouse does not answer (its error's name only)."""
        key = request.match_info.get("key") or request.path.rpartition("/")[2]
        endpoint = self.endpoints.get(key)
        if endpoint is None:
            known = ", ".join(f"/api/{k}" for k in sorted(self.endpoints))
            return json_response({"error": f"no endpoint /api/{key}: one of {known}"}, 404)
        refused = self.gate(request, endpoint)
        if refused is not None:
            status, body, headers = refused
            return json_response(body, status, headers)
        try:
            asked = endpoint.parse(request.query)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)

        reader = self.reader_of(endpoint)

        async def read() -> Any:
            return await reader.run(f"ui {key}", lambda store: endpoint.read(store, asked))

        try:
            if endpoint.personal:
                data = await asyncio.wait_for(read(), READ_TIMEOUT_SECONDS)
            else:
                query = tuple(f"{k}={v}" for k, v in sorted(request.query.items()))
                got = self.cache.get((key, *query), read)
                data = await asyncio.wait_for(asyncio.shield(got), READ_TIMEOUT_SECONDS)
        except TimeoutError:
            return json_response({"error": "ClickHouse did not answer in time: try again"}, 503)
        except (OperationalError, DatabaseError) as exc:
            return json_response({"error": f"ClickHouse: {error_name(exc)}"}, 503)
        return json_response(data)

    def reader_of(self, endpoint: Endpoint) -> Reader:
        """What reads `endpoint`: the personal reader for a personal one,
        when there is one."""
        if endpoint.personal and self.personal_reader is not None:
            return self.personal_reader
        return self.reader

    def routes(self) -> list[tuple[str, Handler]]:
        """GET routes: each page, and each endpoint as /api/<key>."""
        pages: list[tuple[str, Handler]] = [(path, self.page) for path in PAGES]
        return pages + [(f"/api/{key}", self.api) for key in sorted(self.endpoints)]


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    """The pages' headers on every answer (static files too)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


def application(ui: UI) -> web.Application:
    """The UI alone, as `cx ui` serves it."""
    app = web.Application()
    app.on_response_prepare.append(_secure)
    for path, handler in ui.routes():
        app.router.add_get(path, handler)
    app.router.add_get("/api/{key}", ui.api)  # an unknown key: a 404 naming the known ones
    app.router.add_static("/static", STATIC)
    return app
