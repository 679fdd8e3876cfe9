"""A readable summary of what the store holds, read back from ClickHouse."""

from __future__ import annotations

from streams.clickhouse.client import Store
from streams.reports.tables import table


def example_person(store: Store) -> str | None:
    """A person with a converted journey across channels, to show."""
    found = store.query("summary_example_person")
    return str(found[0][0]) if found else None


def render_summary(store: Store) -> str:
    ((touchpoints, unique_ids, dead_letters, surveys),) = store.query("summary_totals")
    ((people, identifiers, with_account, anonymous),) = store.query("summary_people")
    revenue = [(c, n, float(amount)) for c, n, amount in store.query("summary_revenue")]
    ((journeys, converted, across, channels, minutes),) = store.query("summary_journeys")
    parts = [
        f"touchpoints stored: {touchpoints:,} ({unique_ids:,} distinct event ids)",
        f"dead letters:       {dead_letters:,}",
        f"survey responses:   {surveys:,}",
        f"people:             {people:,} after stitching {identifiers:,} identifiers "
        f"({with_account:,} with an account, {anonymous:,} only anonymous)",
        f"journeys:           {journeys:,}, {converted:,} converted ({across:,} across channels), "
        f"{channels} channels per journey, median {minutes} min to purchase",
        "",
        "Identity decisions",
        table(("decision", "reason", "count"), store.query("summary_identity")),
        "",
        "Pain points (latest version of every journey)",
        table(("pain point", "count", "people"), store.query("summary_pains")),
        "",
        "Purchases by currency",
        table(("currency", "purchases", "revenue"), revenue),
        "",
        "Touchpoints by journey stage and channel (people: after stitching)",
        table(
            ("stage", "web", "app", "store", "sms", "total", "people"),
            store.query("summary_by_channel_stage"),
        ),
        "",
        "Rejected events by reason and channel",
        table(("reason", "web", "app", "store", "sms", "total"), store.query("summary_rejects")),
    ]
    example = example_person(store)
    if example:
        parts += ["", f"One person's whole journey: cx journey {example}"]
    return "\n".join(parts)
