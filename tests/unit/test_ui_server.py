"""The web UI's HTTP side (streams/web/server.py) on endpoints made here: the
pages and their headers, /api/<key> (400, 404, 503 as one line), the token
in front of personal endpoints, the 2 s cache; the static files name
nothing outside the package; the report's modules are inlined; `cx ui`'s
BI user."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from clickhouse_connect.driver.exceptions import DatabaseError
from pydantic import SecretStr

from streams.web.report import inline_module
from streams.web.server import PAGES, STATIC, UI, Cache, application, token_gate
from streams.web.standalone import READ_ONLY, bi_url, personal_store, read_only_store


@dataclass(frozen=True)
class Fake:
    parse: Callable[[Mapping[str, str]], Any]
    read: Callable[[Any, Any], Any]
    personal: bool = False
    what: str = "person lookup"


class Reader:
    """Runs reads at once and counts them (the store is not needed)."""

    def __init__(self) -> None:
        self.reads = 0

    async def run(self, what: str, fn: Callable[[Any], Any]) -> Any:
        self.reads += 1
        return fn(None)


def parse_days(query: Mapping[str, str]) -> int:
    days = query.get("days", "7")
    if not days.isdigit():
        raise ValueError(f"days: {days!r} is not a number of days")
    return int(days)


def broken(store: Any, asked: Any) -> Any:
    error = DatabaseError(
        "Code: 60. DB::Exception: Table cx.t_secret doesn't exist. (UNKNOWN_TABLE)"
    )
    error.code = 60
    raise error


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def ui() -> Iterator[tuple[TestClient[Any, Any], Reader, Clock]]:
    reader, clock = Reader(), Clock()
    endpoints = {
        "overview": Fake(parse_days, lambda store, days: {"days": days}),
        "person": Fake(lambda q: q.get("identifier", ""), lambda s, i: {"who": i}, personal=True),
        "broken": Fake(lambda q: None, broken),
    }
    served = UI(endpoints, reader, token_gate(SecretStr("sesame")), cache=Cache(clock=clock))
    client = TestClient(TestServer(application(served)))
    await client.start_server()
    try:
        yield client, reader, clock
    finally:
        await client.close()


async def test_every_page_is_html_with_a_policy_that_allows_only_this_server(ui: Any) -> None:
    client, _, _ = ui
    for path, (name, title) in PAGES.items():
        response = await client.get(path)
        assert response.status == 200
        assert response.content_type == "text/html"
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy
        assert "script-src 'self';" in policy  # no inline script, no eval
        body = await response.text()
        assert 'src="/static/page.js"' in body and f'data-page="{name}"' in body
        # The shared shell around the page's own content, nothing left unfilled.
        assert f"<title>{title} · CX</title>" in body and f"<h1>{title}</h1>" in body
        assert body.count("<main") == 1 and '<nav aria-label="Pages">' in body
        assert "{{" not in body
    script = await client.get("/static/vendor/echarts.min.js")
    assert script.status == 200 and script.headers["X-Content-Type-Options"] == "nosniff"


async def test_an_endpoint_answers_json_and_caches_it_for_two_seconds(ui: Any) -> None:
    client, reader, clock = ui
    first = await client.get("/api/overview?days=3")
    assert first.status == 200 and await first.json() == {"days": 3}
    assert first.headers["Cache-Control"] == "no-store"
    await client.get("/api/overview?days=3")
    assert reader.reads == 1  # from the cache
    await client.get("/api/overview?days=4")
    assert reader.reads == 2  # another query
    clock.now += 2.5
    await client.get("/api/overview?days=3")
    assert reader.reads == 3  # expired


async def test_mistakes_are_one_line(ui: Any) -> None:
    client, _, _ = ui
    refused = await client.get("/api/overview?days=many")
    assert refused.status == 400
    assert await refused.json() == {"error": "days: 'many' is not a number of days"}
    unknown = await client.get("/api/nothing")
    assert unknown.status == 404
    assert "/api/overview" in (await unknown.json())["error"]
    failed = await client.get("/api/broken")
    assert failed.status == 503
    assert await failed.json() == {"error": "ClickHouse: 60 UNKNOWN_TABLE"}  # not the message


async def test_a_personal_endpoint_needs_the_token_and_is_not_cached(ui: Any) -> None:
    client, reader, _ = ui
    missing = await client.get("/api/person?identifier=customer_id:C1")
    assert missing.status == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = await client.get(
        "/api/person?identifier=customer_id:C1", headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status == 401
    assert reader.reads == 0
    for _ in range(2):
        right = await client.get(
            "/api/person?identifier=customer_id:C1", headers={"Authorization": "Bearer sesame"}
        )
        assert right.status == 200 and await right.json() == {"who": "customer_id:C1"}
    assert reader.reads == 2


async def test_without_a_token_person_lookups_are_off() -> None:
    gate = token_gate(None)
    person = Fake(lambda q: None, lambda s, a: None, personal=True)
    counts = Fake(lambda q: None, lambda s, a: None)

    class Request:
        headers: dict[str, str] = {}

    refused = gate(Request(), person)  # type: ignore[arg-type]
    assert refused is not None and refused[0] == 403 and "CX_WEB_TOKEN" in refused[1]["error"]
    assert gate(Request(), counts) is None  # type: ignore[arg-type]


async def test_the_cache_asks_once_for_readers_that_come_together() -> None:
    import asyncio

    cache = Cache()
    calls = 0

    async def read() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return calls

    got = await asyncio.gather(*(cache.get(("k",), read) for _ in range(5)))
    assert got == [1] * 5 and calls == 1


def test_the_static_files_name_nothing_outside_the_package() -> None:
    own = [
        p
        for p in STATIC.rglob("*")
        if p.suffix in (".html", ".js", ".css") and "vendor" not in p.parts
    ]
    pages = {f"{name}.html" for name, _ in PAGES.values()}
    assert {p.name for p in own} >= {
        "ui.js",
        "ui.css",
        "page.js",
        "report.js",
        "shell.html",
        *pages,
    }
    found = 0
    for path in own:
        text = path.read_text()
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), path.name
        statements = r'^import\b[^;]*?"([^"]+)";' if path.suffix == ".js" else "(?!)"
        modules = re.findall(statements, text, flags=re.M)
        for imported in modules:
            assert imported.startswith("./") and (STATIC / imported).is_file(), imported
        found += len(modules)
    assert found > 10


def test_the_report_inlines_every_module_as_a_data_url() -> None:
    source = inline_module("report.js")
    assert '"./' not in source
    urls = re.findall(r'"data:text/javascript;base64,([A-Za-z0-9+/=]+)"', source)
    assert len(urls) == 3  # overview.js, journey-map.js and ui.js
    inner = [base64.b64decode(u).decode() for u in urls]
    assert all('"./' not in module for module in inner)
    assert any("export function mountOverview" in module for module in inner)


def test_cx_ui_reads_a_server_as_the_bi_user() -> None:
    assert bi_url("https://cx:secret@ch.example:8443") == "https://cx_bi@ch.example:8443"
    assert bi_url("http://ch:8123/?x=1") == "http://cx_bi@ch:8123/?x=1"


def test_on_a_server_personal_lookups_read_as_the_configured_user_read_only() -> None:
    """The BI user may read views only, and the person lookup reads tables:
    with CX_WEB_TOKEN set, `cx ui` reads personal endpoints as the user of
    CX_CLICKHOUSE_URL with readonly = 1 on every query; the counts stay
    with cx_bi; without the token no such connection is made."""
    from pathlib import Path

    from streams.runtime.settings import Settings

    server = {
        "clickhouse_url": "https://cx@ch.example:8443",
        "clickhouse_password": "writer-secret",
        "clickhouse_bi_password": "bi-secret",
        "clickhouse_ca_file": Path("/etc/cx/ca.pem"),
    }
    settings = Settings(**server, web_token="sesame")
    counts = read_only_store(settings)
    assert (counts.url, counts.password) == ("https://cx_bi@ch.example:8443", "bi-secret")
    personal = personal_store(settings)
    assert personal is not None
    assert (personal.url, personal.password) == ("https://cx@ch.example:8443", "writer-secret")
    assert personal.session == READ_ONLY == {"readonly": 1}
    assert personal.ca_file == counts.ca_file == "/etc/cx/ca.pem"
    assert personal_store(Settings(**server)) is None  # no token: lookups are off
    assert personal_store(Settings(**server, web_token="")) is None
    embedded = Settings(clickhouse_url="chdb:///srv/cx/clickhouse", web_token="sesame")
    assert personal_store(embedded) is None  # its one store, readonly = 1, serves all


async def test_personal_endpoints_go_through_their_own_reader() -> None:
    counts, personal = Reader(), Reader()
    endpoints = {
        "overview": Fake(parse_days, lambda store, days: {"days": days}),
        "comments": Fake(lambda q: None, lambda s, a: {"ok": 1}, personal=True, what="x lookup"),
    }
    served = UI(endpoints, counts, token_gate(SecretStr("sesame")), personal_reader=personal)
    assert served.reader_of(endpoints["comments"]) is personal
    assert served.reader_of(endpoints["overview"]) is counts
    client = TestClient(TestServer(application(served)))
    await client.start_server()
    try:
        got = await client.get("/api/comments", headers={"Authorization": "Bearer sesame"})
        assert got.status == 200 and (counts.reads, personal.reads) == (0, 1)
        assert (await client.get("/api/overview")).status == 200
        assert (counts.reads, personal.reads) == (1, 1)
    finally:
        await client.close()
    alone = UI(endpoints, counts, token_gate(None))
    assert alone.reader_of(endpoints["comments"]) is counts  # the worker: one reader

    class Request:
        headers: dict[str, str] = {}

    off = token_gate(None)(Request(), endpoints["comments"])  # type: ignore[arg-type]
    assert (
        off is not None
        and off[0] == 403
        and off[1]["error"].startswith("x lookup is off: set CX_WEB_TOKEN")
    )


def test_cx_ui_refuses_in_one_line_what_it_cannot_serve(tmp_path: Any) -> None:
    import socket

    from click.testing import CliRunner

    from streams.cli import main

    def ui(**env: str) -> Any:
        return CliRunner().invoke(
            main, ["ui", "--port", "1"], env={"CX_DATA_DIR": str(tmp_path), **env}
        )

    server = ui(CX_CLICKHOUSE_URL="http://cx:pw@127.0.0.1:1")
    lines = server.output.strip().splitlines()
    assert server.exit_code == 2 and len(lines) == 1
    assert lines[0].startswith("CX_CLICKHOUSE_BI_PASSWORD: set the password of the read-only user")
    missing = ui(CX_CLICKHOUSE_URL=f"chdb://{tmp_path / 'none'}")
    assert missing.exit_code == 2 and "no embedded ClickHouse at" in missing.output
    assert not (tmp_path / "none").exists()  # not made by looking
    (tmp_path / "held").mkdir()
    with socket.socket() as worker:  # a worker's web port
        worker.bind(("127.0.0.1", 0))
        worker.listen()
        port = worker.getsockname()[1]
        held = ui(CX_CLICKHOUSE_URL=f"chdb://{tmp_path / 'held'}", CX_WEB_PORT=str(port))
    assert held.exit_code == 1
    assert held.output.strip() == (
        "Error: a worker holds the embedded ClickHouse and serves this UI: open "
        f"http://127.0.0.1:{port}/ (its web port)"
    )


def test_the_report_is_one_page_that_may_connect_nowhere() -> None:
    from datetime import UTC, datetime

    from streams.web.report import render

    week = {"from": "2026-11-30T00:00:00Z", "to": "2026-12-07T00:00:00Z"}
    answers = {
        "overview": {**week, "store": "</script><script>alert(1)</script>"},
        "journey-map": week,
        "alerts": None,
    }
    page = render(answers, {"channel": "web"}, datetime(2026, 12, 6, 12, 0, tzinfo=UTC))
    assert "<title>CX report, 2026-11-30 to 2026-12-06</title>" in page
    assert "2026-11-30 to 2026-12-06 (UTC), channel web; made 2026-12-06 12:00 UTC" in page
    assert "default-src 'none'" in page  # no fetch, no image, no frame
    assert page.count("</script>") == 4  # ECharts, two answers, the module: the data ends none
    assert "<\\/script><script>alert(1)<\\/script>" in page
    assert 'id="cx-data-alerts"' not in page
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"""(?:src|href)=["'](?!data:)""", markup)  # nothing to load
    assert "<style>" in markup and '<link rel="stylesheet"' not in markup
    at_store = render(answers, {"store": "tehran-04"}, datetime(2026, 12, 6, 12, 0, tzinfo=UTC))
    assert (
        "every channel, store tehran-04 (journeys: those with a touchpoint there); made" in at_store
    )


def test_cx_report_takes_a_store_and_refuses_a_wrong_one_in_one_line(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from streams.cli import main

    out = tmp_path / "r.html"
    refused = CliRunner().invoke(
        main,
        ["report", "--html", str(out), "--store", "<b>"],
        env={"CX_DATA_DIR": str(tmp_path), "CX_CLICKHOUSE_URL": f"chdb://{tmp_path / 'none'}"},
    )
    assert refused.exit_code != 0 and not out.exists()
    assert refused.output.strip().splitlines()[-1].endswith("store: '<b>' is no store id")
    assert len(refused.output.strip().splitlines()) == 1
