"""The overview's volume (docs/ui.md): events, purchases and revenue per
currency, in total, by channel and over time, from the rows of the
`ui_overview_volume_*` queries (per bucket, channel and currency). Pure.
Revenue is a decimal string per currency, never summed across currencies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from streams.web.params import iso


@dataclass
class _Tally:
    events: int = 0
    purchases: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any]) -> None:
        self.events += int(row["events"])
        self.purchases += int(row["purchases"])
        currency = str(row["currency"])
        if currency:
            amount = Decimal(row["revenue"])
            self.revenue[currency] = self.revenue.get(currency, Decimal(0)) + amount

    def as_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "purchases": self.purchases,
            "revenue": {c: str(v) for c, v in sorted(self.revenue.items())},
        }


def volume(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """`total`, `by_channel` (by name) and `over_time` (per bucket `at` and
    channel, in time order), each with `events`, `purchases` and `revenue`
    ({currency: decimal string})."""
    total = _Tally()
    channels: dict[str, _Tally] = {}
    times: dict[tuple[str, str], _Tally] = {}
    for row in rows:
        channel = str(row["channel"])
        total.add(row)
        channels.setdefault(channel, _Tally()).add(row)
        times.setdefault((iso(row["at"]), channel), _Tally()).add(row)
    return {
        "total": total.as_json(),
        "by_channel": [
            {"channel": channel, **tally.as_json()} for channel, tally in sorted(channels.items())
        ],
        "over_time": [
            {"at": at, "channel": channel, **tally.as_json()}
            for (at, channel), tally in sorted(times.items())
        ],
    }
