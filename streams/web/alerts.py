"""The alerts page's JSON (docs/ui.md): open episodes first, then the
recent notices, each with the plain-language summary its targets got
(`streams.alerts.summary`), its numbers and the pain points it fired with.
Pure: rows of the `ui_alerts_*` queries (the `alert_notices` view) in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from streams.alerts.summary import where
from streams.web.params import iso_ms


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def summary_of(row: Mapping[str, Any]) -> str:
    """The stored summary; for a notice written before it was stored
    (migration 016), the rule, where, and the evaluator's reason."""
    if row["summary"]:
        return str(row["summary"])
    return f"{row['rule']}{where(str(row['slice']))}: {row['reason']}"


def notice(row: Mapping[str, Any]) -> dict[str, Any]:
    """One notice as JSON: times as ISO strings (and ms), the numbers (value,
    baseline, change = value - baseline, n, baseline_n; `bound`: for a
    threshold, the end of the 95% interval it compared), the summary and
    the context's pain points."""
    value, baseline = _rounded(row["value"]), _rounded(row["baseline"])
    context = orjson.loads(row["context"]) if row["context"] else []
    return {
        "rule": str(row["rule"]),
        "status": str(row["status"]),
        "severity": str(row["severity"]),
        "metric": str(row["metric"]),
        "slice": str(row["slice"]),
        "at": iso_ms(int(row["at_ms"])),
        "at_ms": int(row["at_ms"]),
        "started_at": iso_ms(int(row["episode_started_at_ms"])),
        "started_at_ms": int(row["episode_started_at_ms"]),
        "open": bool(row.get("episode_open", row["status"] == "firing")),
        "value": value,
        "baseline": baseline,
        "change": None if value is None or baseline is None else round(value - baseline, 4),
        "n": int(row["n"]),
        "baseline_n": None if row["baseline_n"] is None else int(row["baseline_n"]),
        "bound": _rounded(row["bound"]),
        "window": str(row["window"]) or None,
        "condition": str(row["condition"]) or None,
        "reason": str(row["reason"]),
        "summary": summary_of(row),
        "context": context,
    }


def alerts(
    open_rows: Iterable[Mapping[str, Any]], recent_rows: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """`open`: the firing notice of each open episode, newest first;
    `recent`: the notices since the time asked, newest first."""
    return {
        "open": [notice({**row, "episode_open": 1}) for row in open_rows],
        "recent": [notice(row) for row in recent_rows],
    }
