"""The journey map's comments (docs/ui.md): the latest free-text comments of
survey answers per stage, each with the touchpoint it rates. Comments are
personal (they may name people): the endpoint is behind the bearer token,
and no identifier of the person is read or answered.

Pure: rows of the `ui_comments` query in (newest first per stage, at most
the limit, each with the stage's count), plain JSON values out, in the
rows' order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from streams.web.journey_map import STAGES
from streams.web.params import iso


def comment(row: Mapping[str, Any]) -> dict[str, Any]:
    """One answer's comment: when, which survey and score, where it was
    given (channel, store), and the touchpoint it rates (None: none)."""
    rated = str(row["touchpoint_event_type"])
    return {
        "at": iso(row["at"]),
        "survey": str(row["survey"]),
        "score": int(row["score"]),
        "comment": str(row["comment"]),
        "channel": str(row["channel"]),
        "store_id": str(row["store_id"]),
        "touchpoint": {
            "event_type": rated,
            "channel": str(row["touchpoint_channel"]),
            "store_id": str(row["touchpoint_store_id"]),
        }
        if rated
        else None,
    }


def comments(rows: Iterable[Mapping[str, Any]], stage: str | None = None) -> dict[str, Any]:
    """`stages`: the five (or the one asked, `stage`) in the contract's
    order, each with `comments` (how many in range) and `latest` (newest
    first); `unstaged`: the same for answers rating no staged touchpoint
    (None when one stage was asked)."""
    latest: dict[str, list[dict[str, Any]]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        where = str(row["stage"])
        latest[where].append(comment(row))
        counts[where] = int(row["comments"])

    def section(name: str) -> dict[str, Any]:
        return {"comments": counts[name], "latest": latest[name]}

    asked = STAGES if stage is None else tuple(s for s in STAGES if s == stage)
    return {
        "stages": [{"stage": name, **section(name)} for name in asked],
        "unstaged": section("") if stage in (None, "") else None,
    }
