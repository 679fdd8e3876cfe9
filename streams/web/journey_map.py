"""The journey map's JSON (docs/ui.md): the five stages in the contract's
order with the journeys that reached each (and on which channel), the
conversion from the stage before, the scores of the answers that rate a
touchpoint of the stage and its pain points; the flows between (stage,
channel) nodes for a Sankey; support response times by channel.

Pure: rows of the `ui_journey_*` queries in (which read the views of
migration 015 and the response-time views), plain JSON values out. A flow
that goes back to an earlier stage (loyalty before purchase) is counted in
`returned`, not drawn: a Sankey has no cycles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from schemas import Stage
from streams.web.overview import SURVEYS, Counts, score
from streams.web.params import iso

STAGES = tuple(stage.value for stage in Stage)
"""The contract's stages, in funnel order."""
ORDER = {stage: i for i, stage in enumerate(STAGES)}
UNKNOWN = "unknown"
"""The channel of a stage reached in a journey written before migration 015."""


def _channel(value: Any) -> str:
    return str(value) or UNKNOWN


def node_name(stage: str, channel: str) -> str:
    """A Sankey node's name: unique per stage and channel."""
    return f"{stage} · {channel}"


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Funnel(NamedTuple):
    """What `ui_journey_funnel` rows (one per first channel) add up to."""

    journeys: int
    converted: int
    began: dict[str, int]
    """Journeys by the channel they began on."""
    reached: dict[str, int]
    """Journeys that reached each stage."""
    continued: dict[str, int]
    """Journeys that reached each stage and the one before it (in funnel
    order, whichever came first); 0 for the first stage."""


def funnel(rows: Iterable[Mapping[str, Any]]) -> Funnel:
    """The funnel of `ui_journey_funnel` rows."""
    journeys = converted = 0
    began: dict[str, int] = defaultdict(int)
    reached: dict[str, int] = dict.fromkeys(STAGES, 0)
    continued: dict[str, int] = dict.fromkeys(STAGES, 0)
    for row in rows:
        journeys += int(row["journeys"])
        converted += int(row["converted"])
        began[_channel(row["first_channel"])] += int(row["journeys"])
        for stage in STAGES:
            reached[stage] += int(row[f"reached_{stage}"])
        for stage in STAGES[1:]:
            continued[stage] += int(row[f"continued_{stage}"])
    return Funnel(journeys, converted, dict(sorted(began.items())), reached, continued)


def flows(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Nodes (stage, channel) with the journeys that reached them there
    (`journeys`) and entered the journey there (`entered`); links between
    consecutive stages going forward; `returned`: steps back, not drawn.
    From `ui_journey_flows` rows (rows with an empty `from_stage` are where
    journeys entered)."""
    reached: dict[tuple[str, str], int] = defaultdict(int)
    entered: dict[tuple[str, str], int] = defaultdict(int)
    links: dict[tuple[str, str], int] = defaultdict(int)
    returned = 0
    for row in rows:
        n = int(row["journeys"])
        to = (str(row["to_stage"]), _channel(row["to_channel"]))
        if to[0] not in ORDER:
            continue
        reached[to] += n
        source = str(row["from_stage"])
        if not source:
            entered[to] += n
        elif ORDER.get(source, -1) < ORDER[to[0]]:
            links[(node_name(source, _channel(row["from_channel"])), node_name(*to))] += n
        else:
            returned += n
    nodes = [
        {
            "name": node_name(stage, channel),
            "stage": stage,
            "channel": channel,
            "journeys": n,
            "entered": entered.get((stage, channel), 0),
        }
        for (stage, channel), n in sorted(reached.items(), key=lambda kv: (ORDER[kv[0][0]], kv[0]))
    ]
    return {
        "nodes": nodes,
        "links": [
            {"source": source, "target": target, "value": n}
            for (source, target), n in sorted(links.items())
        ],
        "returned": returned,
    }


def _stage_of(row: Mapping[str, Any]) -> str:
    return str(row["stage"]) if str(row["stage"]) in ORDER else ""


def stage_scores(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per stage ('' : answers rating no staged touchpoint), each survey's
    n, score and interval from `ui_journey_scores` rows."""
    counts: dict[tuple[str, str], Counts] = {}
    for row in rows:
        key = (_stage_of(row), str(row["survey"]))
        counts[key] = counts.get(key, Counts()) + Counts.of(row)
    return {
        stage: {survey: score(survey, counts.get((stage, survey), Counts())) for survey in SURVEYS}
        for stage in ("", *STAGES)
    }


def stage_pains(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per stage ('' : none), pain points by kind, most first."""
    counts: dict[str, dict[str, int]] = {stage: defaultdict(int) for stage in ("", *STAGES)}
    for row in rows:
        counts[_stage_of(row)][str(row["kind"])] += int(row["pain_points"])
    return {
        stage: [
            {"pain_point": kind, "count": n}
            for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        for stage, kinds in counts.items()
    }


def _seconds(ms: Any) -> float | None:
    return None if ms is None else round(float(ms) / 1000, 3)


def response_times(
    totals: Iterable[Mapping[str, Any]], daily: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Support contacts opened in the range, by the channel they were opened
    on: counts and exact mean times (`ui_journey_response_times`, from
    `response_times_minute`), and per day the view's quantiles
    (`ui_journey_response_times_daily`; quantiles of days do not combine)."""
    by_channel = []
    for row in sorted(totals, key=lambda r: str(r["channel"])):
        answered, resolved = int(row["answered"]), int(row["resolved"])
        by_channel.append(
            {
                "channel": str(row["channel"]),
                "contacts": int(row["contacts"]),
                "answered": answered,
                "resolved": resolved,
                "first_answer_mean_seconds": _seconds(
                    row["first_answer_sum_ms"] / answered if answered else None
                ),
                "resolution_mean_seconds": _seconds(
                    row["resolution_sum_ms"] / resolved if resolved else None
                ),
            }
        )
    days = [
        {
            "day": iso(row["day"]),
            "channel": str(row["channel"]),
            "contacts": int(row["contacts"]),
            "answered": int(row["answered"]),
            "resolved": int(row["resolved"]),
            **{
                f"{what}_{q}_seconds": _seconds(row[f"{what}_{q}_ms"] if int(row[n]) else None)
                for what, n in (("first_answer", "answered"), ("resolution", "resolved"))
                for q in ("p50", "p90")
            },
        }
        for row in daily
    ]
    return {"by_channel": by_channel, "daily": days, "filters": ["channel"]}


def journey_map(
    funnel_rows: Iterable[Mapping[str, Any]],
    flow_rows: Iterable[Mapping[str, Any]],
    score_rows: Iterable[Mapping[str, Any]],
    pain_rows: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """`journeys`, `converted`, `began_on` and per stage `reached` (share of
    all `journeys` as `share`), `conversion` (of the journeys that reached
    the stage before, the share that reached this one too: at most 1; None
    for the first stage or when none reached the one before), `drop_off`
    (journeys that reached the stage before and not this one), `joined`
    (journeys that reached this stage without the one before: a purchase in
    store with no awareness online), `by_channel` (reached on each channel),
    `scores` and `pain_points`; `unstaged` holds the answers and pain points
    of no stage; `flows` the Sankey."""
    journeys, converted, began, reached, continued = funnel(funnel_rows)
    flow = flows(flow_rows)
    scores = stage_scores(score_rows)
    pains = stage_pains(pain_rows)
    by_channel: dict[str, dict[str, int]] = {stage: {} for stage in STAGES}
    for node in flow["nodes"]:
        by_channel[node["stage"]][node["channel"]] = node["journeys"]
    stages = []
    for i, stage in enumerate(STAGES):
        n, before, both = reached[stage], reached[STAGES[i - 1]] if i else None, continued[stage]
        stages.append(
            {
                "stage": stage,
                "journeys": journeys,
                "reached": n,
                "share": _ratio(n, journeys),
                "conversion": None if before is None else _ratio(both, before),
                "drop_off": None if before is None else before - both,
                "joined": None if before is None else n - both,
                "by_channel": dict(sorted(by_channel[stage].items())),
                "scores": scores[stage],
                "pain_points": pains[stage],
            }
        )
    return {
        "journeys": journeys,
        "converted": converted,
        "began_on": began,
        "stages": stages,
        "unstaged": {"scores": scores[""], "pain_points": pains[""]},
        "flows": flow,
    }
