"""`cx report --html FILE`: the overview and the journey map as one static,
self-contained HTML file to mail or archive (docs/ui.md).

The file carries everything: the stylesheet, ECharts, the pages' ES modules
(each import rewritten to a `data:` URL of the module it names, so no file
is fetched), and the endpoints' answers as JSON. Its Content-Security-Policy
allows no connection at all. Pure: answers in, HTML out.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

import orjson

from streams.web.server import STATIC

PAGES = ("overview", "journey-map", "alerts")
"""The answers a report carries (alerts: the overview's strip)."""
REPORT_FILTERS = ("from", "to", "channel", "store")
"""The filters both pages take (the journey map at a store: the journeys
with a touchpoint there)."""
_IMPORT = re.compile(r'''((?:\bfrom|\bimport)\s*)"\./([a-z][a-z0-9-]*\.js)"''')
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' data:; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def inline_module(name: str, done: dict[str, str] | None = None) -> str:
    """The source of the module `name` in `STATIC`, its relative imports
    replaced by `data:` URLs of those modules (themselves inlined)."""
    done = {} if done is None else done

    def url(match: re.Match[str]) -> str:
        imported = match.group(2)
        if imported not in done:
            source = inline_module(imported, done).encode()
            done[imported] = "data:text/javascript;base64," + base64.b64encode(source).decode()
        return f'{match.group(1)}"{done[imported]}"'

    return _IMPORT.sub(url, (STATIC / name).read_text())


def _safe(text: str, what: str) -> str:
    """`text` as the body of a <script> or <style> element: one that would
    end it early is a bug in what is vendored, said plainly."""
    if "</script" in text.lower() or "</style" in text.lower() or "<!--" in text:
        raise ValueError(f"{what} cannot be inlined: it holds </script, </style or <!--")
    return text


def _json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _days(answer: Mapping[str, Any]) -> str:
    """The answer's range as days, the last one included: `from` and `to`
    are midnights, `to` the one after the last day."""
    first = date.fromisoformat(str(answer["from"])[:10])
    end = datetime.fromisoformat(str(answer["to"]).replace("Z", "+00:00"))
    last = end.date() - timedelta(days=1) if end.time() == time() else end.date()
    return f"{first} to {last}" if last > first else str(first)


def _scope(filters: Mapping[str, str]) -> str:
    channel = filters.get("channel")
    store = filters.get("store")
    scope = f"channel {channel}" if channel else "every channel"
    return f"{scope}, store {store} (journeys: those with a touchpoint there)" if store else scope


def render(answers: Mapping[str, Any], filters: Mapping[str, str], made_at: datetime) -> str:
    """The report's HTML: `answers` by page name (`PAGES`), for `filters`."""
    span = _days(answers["overview"])
    title = f"CX report, {span}"
    data = "\n".join(
        f'<script type="application/json" id="cx-data-{name}">{_json(answers[name])}</script>'
        for name in PAGES
        if answers.get(name) is not None
    )
    echarts = _safe((STATIC / "vendor" / "echarts.min.js").read_text(), "echarts.min.js")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<style>
{_safe((STATIC / "ui.css").read_text(), "ui.css")}
</style>
<script>
{echarts}
</script>
{data}
</head>
<body class="report" data-page="report">
<header class="top">
  <span class="brand">CX<small>customer experience report</small></span>
  <p class="live">{html.escape(span)} (UTC), {html.escape(_scope(filters))}; made {made_at:%Y-%m-%d %H:%M} UTC</p>
</header>
<main id="main">
  <section aria-labelledby="overview-h">
    <h1 id="overview-h">Overview</h1>
    <div id="overview"></div>
  </section>
  <section aria-labelledby="journey-h">
    <h1 id="journey-h">Journey map</h1>
    <div id="journey-map"></div>
  </section>
  <footer>Numbers from the documented ClickHouse views (docs/metrics.md); every score with its
  sample size n and 95% interval. Charts: Apache ECharts 6.1.0 (Apache License 2.0).</footer>
</main>
<script type="module">
{_safe(inline_module("report.js"), "report.js")}
</script>
</body>
</html>
"""
