"""`cx accounts` rendering (pure): one line per account, each score with its
interval and sample size, revenue per currency, support and churn risk; an
empty answer says so."""

from __future__ import annotations

from typing import Any

from streams.reports.accounts import render_accounts


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "account_id": "acct-0001",
        "people": 12,
        "active_people_30d": 3,
        "touchpoints": 140,
        "purchases": 9,
        "revenue": {"EUR": "1234.5000", "GBP": "20.0000"},
        "nps_responses": 7,
        "nps": 14.29,
        "nps_ci_low": -52.1,
        "nps_ci_high": 80.67,
        "csat_responses": 0,
        "csat": None,
        "csat_ci_low": None,
        "csat_ci_high": None,
        "ces_responses": 2,
        "ces": 5.5,
        "ces_ci_low": 4.52,
        "ces_ci_high": 6.48,
        "support_contacts": 4,
        "open_support_contacts": 1,
        "slow_support_contacts": 2,
        "people_scored": 10,
        "people_high_risk": 2,
        "people_medium_risk": 3,
        "high_risk_share_pct": 20.0,
        "account_risk_score": 2.1,
        "account_risk": "medium",
    }
    return base | changes


def test_an_account_is_one_line_with_every_number() -> None:
    text = render_accounts({"account": "", "top": 20, "accounts": [row()]})
    title, header, _, line = text.splitlines()
    assert "1 B2B accounts" in title and "95% interval" in title
    assert "NPS" in header and "churn risk" in header
    assert line.startswith("acct-0001")
    for shown in (
        "EUR 1,234.50, GBP 20.00",
        "14.29 [-52.1, 80.67] n=7",
        "5.5 [4.52, 6.48] n=2",
        "1/2/4",
        "medium (2.1); 2 high, 3 medium of 10",
    ):
        assert shown in line, shown
    assert "  -  " in line  # CSAT without answers


def test_an_account_without_scored_people_or_purchases_shows_dashes() -> None:
    quiet = row(revenue={}, people_scored=0, account_risk="", account_risk_score=None)
    line = render_accounts({"account": "acct-0001", "top": 1, "accounts": [quiet]})
    assert line.splitlines()[0].startswith("Account acct-0001")
    assert line.rstrip().endswith("-")


def test_no_account_says_so() -> None:
    assert render_accounts({"account": "", "top": 5, "accounts": []}) == "no B2B accounts"
    assert render_accounts({"account": "x", "top": 5, "accounts": []}) == "no account x"
