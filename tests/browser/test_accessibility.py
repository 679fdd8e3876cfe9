"""Each page of the web UI, loaded with data in a real headless Chromium,
against axe-core's WCAG 2.1 A and AA rules (the axe-core that
axe-playwright-python ships, injected into the page: nothing is fetched).
No violation of serious or critical impact may remain: text contrast,
names of controls and links, labels of form fields, the language and
title of the page, landmarks and headings in order."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import TOKEN, Served
from tests.browser.test_ui import RANGE, loaded

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")


def violations(page: Any) -> list[str]:
    """The serious and critical violations on the page as it is, each
    with the rule, its impact and up to three elements it found."""
    results = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]}
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("path", [f"/?{RANGE}", f"/journey-map?{RANGE}", "/alerts"])
def test_a_page_with_data_has_no_serious_accessibility_violation(
    page: Any, served: Served, path: str
) -> None:
    loaded(page, f"{served.base}{path}")
    page.wait_for_timeout(500)  # the charts drawn
    assert violations(page) == []


def test_the_person_page_before_and_after_the_token_has_none(page: Any, served: Served) -> None:
    ((identifier,),) = served.world.store.client.query(
        "SELECT customer_key FROM cx.current_journeys ORDER BY touchpoints DESC LIMIT 1"
    ).result_rows
    page.goto(f"{served.base}/person")
    page.wait_for_selector("#token-form")
    assert violations(page) == []
    page.fill("input[name='token']", TOKEN)
    page.click("#token-form button[type='submit']")
    page.fill("input[name='identifier']", identifier)
    page.click("#person-form button[type='submit']")
    page.wait_for_selector("[data-person]", timeout=20_000)
    assert violations(page) == []
