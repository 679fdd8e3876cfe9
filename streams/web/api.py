"""The UI's JSON endpoints (docs/ui.md), served at `/api/<name>` by the
worker and by `cx ui`: for each, how its query string is read and what it
answers from ClickHouse.

`endpoints(settings)` gives them by name. A route calls `parse` on the
query string (a `ValueError` is a 400 with its text as `error`), then
`read` with a `Store` off the event loop (it blocks); its answer is plain
JSON values: days and times as ISO strings, money as strings, every score
as `n`, `score`, `ci_low`, `ci_high`. A `personal` endpoint names people
and is behind the bearer token `CX_WEB_TOKEN`, as `/journey` is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from streams.clickhouse.client import Store
from streams.deadletters.select import parse_time
from streams.reports.person import lookup_pseudonymizer, parse_identifier, person
from streams.web.alerts import alerts
from streams.web.comments import comments
from streams.web.journey_map import STAGES, journey_map, response_times
from streams.web.overview import SURVEYS, overview
from streams.web.params import COMMON, ParamError, Params, iso_ms
from streams.web.volume import volume

if TYPE_CHECKING:
    from streams.ingest.pseudonym import Pseudonymizer
    from streams.runtime.settings import Settings

P = TypeVar("P")

__all__ = [
    "ENDPOINT_NAMES",
    "CommentsAsk",
    "Endpoint",
    "ParamError",
    "Params",
    "endpoints",
    "params",
]

ENDPOINT_NAMES = ("overview", "journey-map", "comments", "person", "alerts")


@dataclass(frozen=True)
class Endpoint(Generic[P]):
    """One JSON endpoint: `parse` reads the query string (ValueError: a 400
    with its one-line text), `read` answers from ClickHouse (blocking)."""

    parse: Callable[[Mapping[str, str]], P]
    read: Callable[[Store, P], dict[str, Any]]
    personal: bool = False
    """Behind the bearer token CX_WEB_TOKEN: the answer names people, or
    may (free text)."""
    what: str = "person lookup"
    """What a personal endpoint is, as its refusal says: `{what} is off`."""


def params(
    query: Mapping[str, str],
    *,
    allowed: tuple[str, ...] = COMMON,
    known: tuple[str, ...] = (),
    now: datetime | None = None,
) -> Params:
    """The common parameters (from, to, grain, channel, store, segment,
    b2b) of a query string, defaults the last 7 days by day."""
    return Params.of(query, now or datetime.now(UTC), allowed=allowed, known=known)


# -- overview ------------------------------------------------------------------

OVERVIEW_FILTERS = ("from", "to", "grain", "channel", "store")
"""The score and volume views count answers and events, not people: no
segment or B2B filter here."""


def parse_overview(query: Mapping[str, str]) -> Params:
    return params(query, allowed=OVERVIEW_FILTERS)


def read_overview(store: Store, asked: Params) -> dict[str, Any]:
    """NPS, CSAT and CES (total, by channel, by store, over time) and the
    volume, from `scores_daily`/`volume_daily` (or the `_minute` views by
    hour)."""
    suffix = "daily" if asked.grain == "day" else "hourly"
    scores = store.query_named(f"ui_overview_{suffix}", **asked.sql())
    events = store.query_named(f"ui_overview_volume_{suffix}", **asked.sql())
    return {**asked.as_json(), **overview(scores), "volume": volume(events)}


# -- journey map ---------------------------------------------------------------

JOURNEY_FILTERS = ("from", "to", "grain", "channel", "segment", "b2b", "store")
"""`channel` is the one a journey began on (as in `funnel_daily`); `store`
takes the journeys that had at least one touchpoint at that store (their
answers and pain points too): the `store_*` views of migration 017."""


def parse_journey_map(query: Mapping[str, str], now: datetime | None = None) -> Params:
    asked = params(query, allowed=JOURNEY_FILTERS, now=now)
    if asked.grain != "day":
        raise ParamError("grain: the journey map is by day (its views are daily)")
    return asked


def read_journey_map(store: Store, asked: Params) -> dict[str, Any]:
    """The five stages (funnel, scores, pain points), the flows between
    them and support response times, from the views of migration 015 (at a
    store: their store_ twins of migration 017) and the response-time
    views."""
    sql = asked.sql()
    at = "store_" if asked.store else ""  # the journeys that touched the store
    answer = journey_map(
        store.query_named(f"ui_journey_{at}funnel", **sql),
        store.query_named(f"ui_journey_{at}flows", **sql),
        store.query_named(f"ui_journey_{at}scores", **sql),
        store.query_named(f"ui_journey_{at}pains", **sql),
    )
    times = response_times(
        store.query_named("ui_journey_response_times", **sql),
        store.query_named("ui_journey_response_times_daily", **sql),
    )
    return {**asked.as_json(), **answer, "response_times": times}


# -- comments (personal) -------------------------------------------------------

NO_STAGE = "none"
"""`stage=none`: the answers that rate no staged touchpoint."""
COMMENTS_LIMIT = 10
COMMENT_PARAMS = ("stage", "survey", "limit")
MOST_COMMENTS = 100


@dataclass(frozen=True, slots=True)
class CommentsAsk:
    """The journey map's question, narrowed to one stage (None: every
    stage; '': the answers rating none) and one survey ('': all), at most
    `limit` comments per stage."""

    params: Params
    stage: str | None = None
    survey: str = ""
    limit: int = COMMENTS_LIMIT


def parse_comments(query: Mapping[str, str], now: datetime | None = None) -> CommentsAsk:
    """The journey map's filters, `stage` (one of the five, or `none`),
    `survey` (nps, csat, ces) and `limit` (1 to 100 per stage, default 10)."""
    asked = params(query, allowed=JOURNEY_FILTERS, known=COMMENT_PARAMS, now=now)
    if asked.grain != "day":
        raise ParamError("grain: comments are by day, as the journey map")
    stage = query.get("stage", "")
    if stage and stage not in (*STAGES, NO_STAGE):
        raise ParamError(f"stage: {stage[:40]!r}: one of {', '.join(STAGES)} or {NO_STAGE}")
    survey = query.get("survey", "")
    if survey and survey not in SURVEYS:
        raise ParamError(f"survey: {survey[:40]!r}: one of {', '.join(SURVEYS)}")
    limit = query.get("limit", "") or str(COMMENTS_LIMIT)
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= MOST_COMMENTS:
        raise ParamError(f"limit: {limit[:20]!r}: 1 to {MOST_COMMENTS} comments per stage")
    chosen = None if not stage else "" if stage == NO_STAGE else stage
    return CommentsAsk(asked, chosen, survey, int(limit))


def read_comments(store: Store, asked: CommentsAsk) -> dict[str, Any]:
    """The latest comments per stage with the touchpoint each answer rates,
    from the `survey_comments` view; never an identifier of the person."""
    rows = store.query_named(
        "ui_comments",
        **asked.params.sql(),
        any_stage=int(asked.stage is None),
        stage=asked.stage or "",
        survey=asked.survey,
        limit=asked.limit,
    )
    return {
        **asked.params.as_json(),
        "stage": NO_STAGE if asked.stage == "" else asked.stage,
        "survey": asked.survey or None,
        "limit": asked.limit,
        **comments(rows, asked.stage),
    }


# -- person --------------------------------------------------------------------


def person_parser(pseudonymizer: Pseudonymizer | None) -> Callable[[Mapping[str, str]], str]:
    """Reads `identifier` as `cx journey` does; email and phone are hashed
    with `pseudonymizer` (None: such lookups are refused)."""

    def parse(query: Mapping[str, str]) -> str:
        unknown = sorted(set(query) - {"identifier"})
        if unknown:
            raise ParamError(f"unknown parameter {unknown[0]!r}: identifier")
        return parse_identifier(query.get("identifier", ""), pseudonymizer)

    return parse


def read_person(store: Store, identifier: str) -> dict[str, Any]:
    """What `GET /journey` answers: the person's identifiers, journeys and
    touchpoints."""
    return person(store, identifier)


# -- alerts --------------------------------------------------------------------

ALERTS_DAYS = 7
"""Recent notices by default: the last week."""
MOST_NOTICES = 1000


@dataclass(frozen=True, slots=True)
class AlertsAsk:
    """Notices decided at or after `since_ms`, at most `limit`."""

    since_ms: int
    limit: int = 200


def parse_alerts(query: Mapping[str, str], now: datetime | None = None) -> AlertsAsk:
    """`since`: an ISO time or an age (30m, 2h, 7d; default 7d); `limit`: 1
    to 1,000 recent notices (default 200)."""
    unknown = sorted(set(query) - {"since", "limit"})
    if unknown:
        raise ParamError(f"unknown parameter {unknown[0]!r}: since, limit")
    now_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    since = query.get("since", "") or f"{ALERTS_DAYS}d"
    since_ms = parse_time(since, now_ms, "since")
    limit = query.get("limit", "") or "200"
    if not limit.isdigit() or not 1 <= int(limit) <= MOST_NOTICES:
        raise ParamError(f"limit: {limit[:20]!r}: 1 to {MOST_NOTICES:,}")
    return AlertsAsk(since_ms, int(limit))


def read_alerts(store: Store, asked: AlertsAsk) -> dict[str, Any]:
    """Open episodes and recent notices, from the `alert_notices` view."""
    answer = alerts(
        store.query_named("ui_alerts_open"),
        store.query_named("ui_alerts_recent", since_ms=asked.since_ms, limit=asked.limit),
    )
    return {"since": iso_ms(asked.since_ms), "limit": asked.limit, **answer}


# -- all -----------------------------------------------------------------------


def endpoints(settings: Settings) -> Mapping[str, Endpoint[Any]]:
    """Every endpoint by name (served at /api/<name>), with what they need
    from `settings` (the secret that hashes an email or phone looked up)."""
    return {
        "overview": Endpoint(parse_overview, read_overview),
        "journey-map": Endpoint(parse_journey_map, read_journey_map),
        "comments": Endpoint(parse_comments, read_comments, personal=True, what="comment lookup"),
        "alerts": Endpoint(parse_alerts, read_alerts),
        "person": Endpoint(
            person_parser(lookup_pseudonymizer(settings)), read_person, personal=True
        ),
    }
