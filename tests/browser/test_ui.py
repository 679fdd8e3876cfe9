"""The web UI in a real headless Chromium, on one generated run: every page
loads with no console error and no request leaving the machine; the numbers
it shows (read from the DOM's data- attributes) are the views' numbers,
computed here from the views' counts; the overview follows new answers
without a reload; the static report draws the same numbers from its file
alone. Each page leaves a screenshot in test-results/."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from streams.clickhouse.client import Store
from streams.reports.person import person
from streams.web.api import endpoints
from streams.web.gather import gather
from streams.web.report import PAGES, render
from streams.web.server import UI, application, token_gate
from tests.browser.conftest import RESULTS, TOKEN, Served, serve_in_thread, shot

TODAY = datetime.now(UTC).date()
FIRST = TODAY - timedelta(days=6)
RANGE = f"from={FIRST}&to={TODAY}"
"""The pages' default (the last 7 days), said explicitly."""


def loaded(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#live[data-state='live']", timeout=20_000)


def view_scores(store: Store, first: date, last: date, by: str = "") -> dict[Any, dict[str, Any]]:
    """NPS, CSAT and CES of `scores_daily` over [first, last], as the views
    define them (docs/metrics.md), from their summed counts."""
    key = f"survey, {by}" if by else "survey"
    rows = store.client.query(
        f"SELECT {key}, sum(responses) AS n, sum(promoters) AS p, sum(detractors) AS d, "
        "sum(satisfied) AS s, sum(ces_sum) AS c FROM cx.scores_daily "
        f"WHERE day BETWEEN {{first:Date}} AND {{last:Date}} GROUP BY {key}",
        parameters={"first": first, "last": last},
    ).named_results()
    scores: dict[Any, dict[str, Any]] = {}
    for r in rows:
        n = r["n"]
        value = {
            "nps": round(100 * (r["p"] - r["d"]) / n, 2),
            "csat": round(100 * r["s"] / n, 2),
            "ces": round(r["c"] / n, 3),
        }[r["survey"]]
        scores[(r["survey"], r[by]) if by else r["survey"]] = {"n": n, "score": value}
    return scores


def shown(element: Any) -> dict[str, Any]:
    return {
        "n": int(element.get_attribute("data-n")),
        "score": float(element.get_attribute("data-score")),
    }


def test_the_overview_shows_the_views_numbers(page: Any, served: Served) -> None:
    loaded(page, f"{served.base}/?{RANGE}")
    expected = view_scores(served.world.store, FIRST, TODAY)
    assert set(expected) == {"nps", "csat", "ces"} and min(s["n"] for s in expected.values()) > 0
    tiles = {
        t.get_attribute("data-survey"): shown(t)
        for t in page.query_selector_all(".tile[data-survey]")
    }
    assert tiles == expected

    by_channel = view_scores(served.world.store, FIRST, TODAY, by="channel")
    for survey in ("nps", "csat", "ces"):
        page.check(f"input[name='survey'][value='{survey}']", force=True)
        rows = page.query_selector_all(f"[data-table='by-channel'] tr[data-survey='{survey}']")
        channels = {r.get_attribute("data-channel"): shown(r) for r in rows}
        assert channels == {c: s for (v, c), s in by_channel.items() if v == survey}
        scores = [s["score"] for s in channels.values()]
        assert [shown(r)["score"] for r in rows] == sorted(scores)  # worst first
    shot(page, "overview")


def test_the_overview_follows_new_answers_without_a_reload(page: Any, served: Served) -> None:
    loaded(page, f"{served.base}/?{RANGE}")
    nps = page.locator(".tile[data-survey='nps']")
    before = int(nps.get_attribute("data-n") or 0)
    page.evaluate("window.stayed = true")  # gone if the page reloads
    served.world.add_answers("nps", [10, 10, 9, 3, 10])
    waited = time.monotonic()
    while int(nps.get_attribute("data-n") or 0) != before + 5:
        assert time.monotonic() - waited < 15, "not shown within two polls and the cache"
        page.wait_for_timeout(250)
    assert page.evaluate("window.stayed") is True
    assert shown(nps.element_handle()) == view_scores(served.world.store, FIRST, TODAY)["nps"]


def test_the_person_page_asks_for_the_token_and_shows_one_person(page: Any, served: Served) -> None:
    store = served.world.store
    ((identifier,),) = store.client.query(
        "SELECT customer_key FROM cx.current_journeys WHERE customer_key LIKE 'customer_id:%' "
        "ORDER BY touchpoints DESC, customer_key LIMIT 1"
    ).result_rows
    expected = person(store, identifier)
    page.goto(f"{served.base}/person")
    page.fill("input[name='token']", TOKEN)
    page.click("#token-form button[type='submit']")
    assert page.is_hidden("#token-form") and page.is_visible("#person-form")
    page.fill("input[name='identifier']", identifier)
    page.click("#person-form button[type='submit']")
    card = page.wait_for_selector("[data-person]", timeout=20_000)
    assert card.get_attribute("data-person") == expected["customer_key"]
    assert int(card.get_attribute("data-journeys") or 0) == len(expected["journeys"]) > 0
    assert int(card.get_attribute("data-touchpoints") or 0) == len(expected["touchpoints"]) > 0
    assert identifier not in page.evaluate("JSON.stringify(sessionStorage)")  # only the token
    page.wait_for_selector("#live[data-state='live']")
    shot(page, "person")


def test_the_alerts_page_shows_open_episodes_then_recent_notices(page: Any, served: Served) -> None:
    loaded(page, f"{served.base}/alerts")
    notices = served.world.alerts
    first = notices[0]  # its episode is still open
    rows = page.query_selector_all("[data-table='open'] tbody tr")
    assert [(r.get_attribute("data-rule"), r.get_attribute("data-slice")) for r in rows] == [
        (first["rule"], first["slice"])
    ]
    assert float(rows[0].get_attribute("data-value") or "nan") == round(first["value"], 4)
    assert int(rows[0].get_attribute("data-n") or 0) == first["n"]
    assert first["summary"] in rows[0].inner_text()
    recent = page.query_selector_all("[data-table='recent'] tbody tr")
    assert len(recent) == len(notices)
    assert {r.get_attribute("data-status") for r in recent} == {"firing", "resolved"}
    shot(page, "alerts")


REACHED = (
    "sum(reached_awareness) AS awareness, sum(reached_consideration) AS consideration, "
    "sum(reached_purchase) AS purchase, sum(reached_post_purchase) AS post_purchase, "
    "sum(reached_loyalty) AS loyalty"
)


def reached_shown(page: Any) -> dict[str, int]:
    return {
        s.get_attribute("data-stage"): int(s.get_attribute("data-reached") or 0)
        for s in page.query_selector_all("li.stage")
    }


def view_comments(store: Store, shop: str, limit: int) -> tuple[dict[str, int], list[Any]]:
    """The comments per stage of `survey_comments` in the pages' range, of
    the journeys that touched `shop`: how many per stage, and the latest
    `limit` of each (stage, time, survey, score, text), newest first."""
    where = (
        "FROM cx.survey_comments WHERE day BETWEEN {first:Date} AND {last:Date} "
        "AND has(stores, {shop:String})"
    )
    asked = {"first": FIRST, "last": TODAY, "shop": shop}
    counts = store.client.query(f"SELECT stage, count() {where} GROUP BY stage", parameters=asked)
    latest = store.client.query(
        f"SELECT stage, at, survey, score, comment {where} "
        "ORDER BY stage, at DESC, event_id LIMIT {limit:UInt32} BY stage",
        parameters={**asked, "limit": limit},
    )
    return dict(counts.result_rows), [
        (stage, at.replace(tzinfo=UTC), survey, score, text)
        for stage, at, survey, score, text in latest.result_rows
    ]


def test_the_journey_map_shows_the_views_numbers_for_all_and_at_a_store_with_comments(
    page: Any, served: Served
) -> None:
    store = served.world.store
    loaded(page, f"{served.base}/journey-map?{RANGE}")
    (expected,) = store.client.query(
        f"SELECT {REACHED} FROM cx.funnel_daily "
        "WHERE channel = 'all' AND day BETWEEN {first:Date} AND {last:Date}",
        parameters={"first": FIRST, "last": TODAY},
    ).named_results()
    every = reached_shown(page)
    assert every == expected
    assert every["awareness"] > every["purchase"] > 0
    page.wait_for_selector(".chart.tall svg path")  # the Sankey is drawn
    assert page.is_visible("#comments-token-form")  # comments wait for the token
    assert not page.query_selector_all("li.comment")
    shot(page, "journey-map")

    ((shop,),) = store.client.query(  # the store most journeys touched
        "SELECT store_id FROM cx.store_funnel_daily WHERE day BETWEEN {first:Date} AND {last:Date} "
        "GROUP BY store_id ORDER BY sum(journeys) DESC, store_id LIMIT 1",
        parameters={"first": FIRST, "last": TODAY},
    ).result_rows
    page.fill("#filters input[name='store']", shop)
    with page.expect_navigation():
        page.click("#filters button[type='submit']")
    page.wait_for_selector("#live[data-state='live']", timeout=20_000)
    assert f"store={shop}" in page.url
    (at_store,) = store.client.query(
        f"SELECT {REACHED} FROM cx.store_funnel_daily "
        "WHERE store_id = {shop:String} AND day BETWEEN {first:Date} AND {last:Date}",
        parameters={"first": FIRST, "last": TODAY, "shop": shop},
    ).named_results()
    shown_at_store = reached_shown(page)
    assert shown_at_store == at_store
    assert shown_at_store["purchase"] > 0 and shown_at_store["awareness"] < every["awareness"]

    page.fill("#comments-token-form input[name='token']", TOKEN)
    page.click("#comments-token-form button[type='submit']")
    page.wait_for_selector("#comments[data-state='shown']", timeout=20_000)
    assert page.is_hidden("#comments-token-form")
    counts, latest = view_comments(store, shop, limit=10)
    assert latest and counts
    shown = page.evaluate(  # one reading, whatever a poll redraws after
        """() => [
          [...document.querySelectorAll(".comment-stage")].map((s) =>
            [s.dataset.stage, Number(s.dataset.comments)]),
          [...document.querySelectorAll("li.comment")].map((c) =>
            [c.dataset.stage, c.dataset.at, c.dataset.survey, Number(c.dataset.score),
             c.querySelector("q").textContent]),
        ]"""
    )
    assert {stage: n for stage, n in shown[0] if n} == counts
    assert len(shown[0]) == 6  # the five stages and the answers rating none
    items = [
        (stage, datetime.fromisoformat(at), survey, score, text)
        for stage, at, survey, score, text in shown[1]
    ]
    order = {
        s: i
        for i, s in enumerate(
            ("awareness", "consideration", "purchase", "post_purchase", "loyalty", "")
        )
    }
    assert items == sorted(latest, key=lambda c: order[c[0]])  # stage by stage, newest first
    assert TOKEN not in page.url and shop in page.url
    shot(page, "journey-map-store")


def test_without_a_token_configured_the_comments_say_they_are_off(
    chromium: Any, served: Served
) -> None:
    """A UI whose CX_WEB_TOKEN is unset: the journey map shows, and its
    comments section says the lookup is off (the 403 is the only error)."""
    app = application(UI(endpoints(served.settings), served.reader, token_gate(None)))
    base, stop = serve_in_thread(app)
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, reduced_motion="reduce")
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        loaded(page, f"{base}/journey-map?{RANGE}")
        page.fill("#comments-token-form input[name='token']", "anything")
        page.click("#comments-token-form button[type='submit']")
        page.wait_for_selector("#comments[data-state='off']", timeout=20_000)
        assert page.inner_text("#comments-message") == (
            "Comment lookup is off: set CX_WEB_TOKEN and send it as a bearer token"
        )
        assert page.is_hidden("#comments-token-form") and not page.query_selector_all("li.comment")
        assert len(page.query_selector_all("li.stage")) == 5  # the counts need no token
    finally:
        context.close()
        stop()
    assert [e for e in errors if "403" not in e] == []


def test_the_report_is_one_file_that_fetches_nothing(chromium: Any, served: Served) -> None:
    store = served.world.store
    query = {"from": FIRST.isoformat(), "to": TODAY.isoformat()}
    answers = gather(served.settings, query)  # as cx report --html does, from the store
    assert set(answers) == set(PAGES)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "report.html"
    path.write_text(render(answers, query, datetime.now(UTC)), encoding="utf-8")

    context = chromium.new_context(viewport={"width": 1400, "height": 900}, reduced_motion="reduce")
    asked: list[str] = []
    context.route("**/*", lambda r: (asked.append(r.request.url), r.continue_()))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-drawn='true']", timeout=20_000)
    try:
        assert errors == []
        assert [u for u in asked if not u.startswith("data:")] == [path.as_uri()]
        tiles = {
            t.get_attribute("data-survey"): shown(t)
            for t in page.query_selector_all(".tile[data-survey]")
        }
        assert tiles == view_scores(store, FIRST, TODAY)
        assert len(page.query_selector_all("li.stage")) == 5
        page.screenshot(path=str(RESULTS / "ui-report.png"), full_page=True)
    finally:
        context.close()
    assert Path(path).stat().st_size < 3_000_000
