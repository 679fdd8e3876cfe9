"""The answers `cx report --html` draws: each page's endpoint asked for the
same filters, of the worker when one runs at CX_WEB_HOST:CX_WEB_PORT (on
the embedded engine it holds the store), else read from CX_CLICKHOUSE_URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.clickhouse.client import Store
from streams.reports.ask_worker import ask_worker
from streams.runtime.settings import Settings
from streams.web.api import endpoints
from streams.web.report import PAGES

FILTERED = ("overview", "journey-map")
"""The pages the filters apply to (the alerts are those open now)."""


def gather(settings: Settings, filters: Mapping[str, str]) -> dict[str, Any]:
    """Each of `PAGES`' answers; a filter an endpoint refuses is a
    ValueError with its one line (before anything is asked)."""
    served = endpoints(settings)
    queries = {
        page: {k: v for k, v in filters.items() if v} if page in FILTERED else {} for page in PAGES
    }
    asked = {page: served[page].parse(queries[page]) for page in PAGES}
    answers: dict[str, Any] = {}
    for page in PAGES:
        got = ask_worker(settings.web_host, settings.web_port, f"/api/{page}", queries[page], {})
        if got is None:
            break  # no worker: read the store
        answers[page] = got
    else:
        return answers
    store = Store.of(settings)
    try:
        return {page: served[page].read(store, asked[page]) for page in PAGES}
    finally:
        store.close()
