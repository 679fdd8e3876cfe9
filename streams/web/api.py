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
from streams.web.journey_map import journey_map, response_times
from streams.web.overview import overview
from streams.web.params import COMMON, ParamError, Params, iso_ms
from streams.web.volume import volume

if TYPE_CHECKING:
    from streams.ingest.pseudonym import Pseudonymizer
    from streams.runtime.settings import Settings

P = TypeVar("P")

__all__ = ["ENDPOINT_NAMES", "Endpoint", "ParamError", "Params", "endpoints", "params"]

ENDPOINT_NAMES = ("overview", "journey-map", "person", "alerts")


@dataclass(frozen=True)
class Endpoint(Generic[P]):
    """One JSON endpoint: `parse` reads the query string (ValueError: a 400
    with its one-line text), `read` answers from ClickHouse (blocking)."""

    parse: Callable[[Mapping[str, str]], P]
    read: Callable[[Store, P], dict[str, Any]]
    personal: bool = False
    """Behind the bearer token CX_WEB_TOKEN: the answer names people."""


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

JOURNEY_FILTERS = ("from", "to", "grain", "channel", "segment", "b2b")
"""No store: a journey spans stores. `channel` is the one a journey began
on (as in `funnel_daily`)."""


def parse_journey_map(query: Mapping[str, str]) -> Params:
    asked = params(query, allowed=JOURNEY_FILTERS)
    if asked.grain != "day":
        raise ParamError("grain: the journey map is by day (its views are daily)")
    return asked


def read_journey_map(store: Store, asked: Params) -> dict[str, Any]:
    """The five stages (funnel, scores, pain points), the flows between
    them and support response times, from the views of migration 015 and
    the response-time views."""
    sql = asked.sql()
    answer = journey_map(
        store.query_named("ui_journey_funnel", **sql),
        store.query_named("ui_journey_flows", **sql),
        store.query_named("ui_journey_scores", **sql),
        store.query_named("ui_journey_pains", **sql),
    )
    times = response_times(
        store.query_named("ui_journey_response_times", **sql),
        store.query_named("ui_journey_response_times_daily", **sql),
    )
    return {**asked.as_json(), **answer, "response_times": times}


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
        "alerts": Endpoint(parse_alerts, read_alerts),
        "person": Endpoint(
            person_parser(lookup_pseudonymizer(settings)), read_person, personal=True
        ),
    }
