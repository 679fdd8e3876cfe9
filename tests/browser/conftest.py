"""Fixtures of the browser tests: one generated run in an embedded
ClickHouse, served as `cx ui` serves it (the same application, read-only,
in a thread of this process), and a real headless Chromium (Debian's
`/usr/bin/chromium`, driven by Playwright; no browser is downloaded).

Without Chromium or Playwright the tests skip, unless CI_REQUIRE_CHROMIUM is
set (`.ci/run` sets it where it can install Chromium): then they fail."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from streams.clickhouse.client import OffLoopStore, Store
from streams.clickhouse.migrate import migrate
from streams.dev.broker import free_port
from streams.runtime.settings import Settings
from streams.web.api import endpoints
from streams.web.server import UI, application, token_gate
from tests.browser.world import SECRET, World, generated_world

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-test-token"
RESULTS = Path(__file__).parents[2] / "test-results"
"""Screenshots and the report, for a person to look at."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "no playwright (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium for a module: Playwright's sync API holds an
    event loop on this thread while it runs, which the next modules'
    asyncio tests must not find."""
    missing = _missing()
    if missing:
        if os.environ.get("CI_REQUIRE_CHROMIUM"):
            pytest.fail(f"CI_REQUIRE_CHROMIUM is set and there is {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()


def serve_in_thread(app: web.Application) -> tuple[str, Callable[[], None]]:
    """`app` on a free loopback port, on a loop of its own in a thread (the
    test's thread has Playwright's): its base URL and what stops it."""
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="cx-ui", daemon=True)
    thread.start()
    assert started.wait(30), "the UI did not start"

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()

    return f"http://127.0.0.1:{port}", stop


@dataclass
class Served:
    base: str
    world: World
    settings: Settings
    reader: OffLoopStore
    """What the served UI reads through (read-only)."""
    outside: list[str] = field(default_factory=list)
    """Requests that would have left the machine (aborted)."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The generated run, served read-only by the UI application."""
    folder = tmp_path_factory.mktemp("ui")
    url = f"chdb://{folder / 'clickhouse'}"
    settings = Settings(  # no worker at its web port: cx report reads the store
        clickhouse_url=url,
        database="cx",
        data_dir=folder,
        pii_secret=SECRET,
        web_token=TOKEN,
        web_port=free_port(),
    )
    writer = Store(url, settings.database)
    migrate(writer)
    world = generated_world(writer)
    reader = OffLoopStore(Store(url, settings.database, session={"readonly": 1}))
    app = application(UI(endpoints(settings), reader, token_gate(settings.web_token)))
    base, stop = serve_in_thread(app)
    try:
        yield Served(base, world, settings, reader)
    finally:
        stop()
        reader.store.close()
        writer.close()


@pytest.fixture
def page(chromium: Any, served: Served) -> Iterator[Any]:
    """A fresh page that records console errors and aborts (and records)
    every request not to the served UI; checked when the test ends."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, reduced_motion="reduce")
    errors: list[str] = []
    outside: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith((served.base + "/", "data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    opened = context.new_page()
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    try:
        yield opened
        assert errors == [], "console errors"
        assert outside == [], "requests leaving the machine"
    finally:
        context.close()


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot in test-results/ for a person to look at."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"ui-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
