"""A readable summary of what the store holds, read back from ClickHouse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.store.clickhouse import Store


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[_fmt(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i and _numeric(cell) else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *map(line, cells[1:])])


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _numeric(cell: str) -> bool:
    return cell.replace(",", "").replace(".", "").lstrip("-").isdigit()


def render_summary(store: Store) -> str:
    ((touchpoints, unique_ids, dead_letters, surveys),) = store.query("summary_totals")
    revenue = [(c, n, float(amount)) for c, n, amount in store.query("summary_revenue")]
    parts = [
        f"touchpoints stored: {touchpoints:,} ({unique_ids:,} distinct event ids)",
        f"dead letters:       {dead_letters:,}",
        f"survey responses:   {surveys:,}",
        "",
        "Purchases by currency",
        table(("currency", "purchases", "revenue"), revenue),
        "",
        "Touchpoints by journey stage and channel",
        "(people: distinct person keys; one person has several until identities are stitched)",
        table(
            ("stage", "web", "app", "store", "sms", "total", "people"),
            store.query("summary_by_channel_stage"),
        ),
        "",
        "Rejected events by reason and channel",
        table(("reason", "web", "app", "store", "sms", "total"), store.query("summary_rejects")),
    ]
    return "\n".join(parts)
