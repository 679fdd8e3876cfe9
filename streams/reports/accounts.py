"""`cx accounts`: B2B accounts (the `account_summary` view, docs/metrics.md)
with their people, purchases, scores with sample sizes and intervals,
support contacts and churn risk. What the worker's `/accounts` answers and
the CLI prints."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from streams.clickhouse.client import Store
from streams.reports.tables import table

SURVEYS = ("nps", "csat", "ces")
MAX_TOP = 10_000
"""The most accounts one report lists."""


def accounts(store: Store, top: int = 20, account: str = "") -> dict[str, Any]:
    """Blocking: the `top` accounts with the most people (or `account`
    alone), as plain JSON values (revenue per currency as strings: exact)."""
    rows = store.query_named("accounts_summary", top=top, account=account)
    for row in rows:
        row["revenue"] = {c: str(v) for c, v in sorted(row["revenue"].items())}
    return {"account": account, "top": top, "accounts": rows}


def _score(row: dict[str, Any], survey: str) -> str:
    n = row[f"{survey}_responses"]
    if not n:
        return "-"
    return f"{row[survey]:g} [{row[f'{survey}_ci_low']:g}, {row[f'{survey}_ci_high']:g}] n={n:,}"


def _revenue(revenue: dict[str, str]) -> str:
    return ", ".join(f"{c} {Decimal(v):,.2f}" for c, v in revenue.items()) or "-"


def _risk(row: dict[str, Any]) -> str:
    if not row["people_scored"]:
        return "-"
    return (
        f"{row['account_risk']} ({row['account_risk_score']:g}); "
        f"{row['people_high_risk']} high, {row['people_medium_risk']} medium "
        f"of {row['people_scored']}"
    )


def render_accounts(data: dict[str, Any]) -> str:
    """A table per account (one line each): pure, from `accounts`' answer."""
    rows = data["accounts"]
    if not rows:
        return f"no account {data['account']}" if data["account"] else "no B2B accounts"
    title = (
        f"Account {data['account']}"
        if data["account"]
        else f"The {len(rows)} B2B accounts with the most people"
    )
    return "\n".join(
        [
            f"{title} (scores: all time, [95% interval], n = answers; "
            "churn risk: people active in the last 90 days)",
            table(
                ("account", "people", "active 30d", "touchpoints", "purchases", "revenue",
                 "NPS", "CSAT %", "CES", "support open/slow/all", "churn risk"),
                [
                    [
                        r["account_id"], r["people"], r["active_people_30d"], r["touchpoints"],
                        r["purchases"], _revenue(r["revenue"]),
                        *(_score(r, s) for s in SURVEYS),
                        f"{r['open_support_contacts']}/{r['slow_support_contacts']}"
                        f"/{r['support_contacts']}",
                        _risk(r),
                    ]
                    for r in rows
                ],
            ),
        ]
    )  # fmt: skip
