"""The pages' common query parameters (streams/web/params.py): defaults,
ranges widened to whole buckets, and one-line refusals of anything not
understood."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from streams.web.params import ParamError, Params, iso

NOW = datetime(2026, 11, 23, 9, 41, 7, tzinfo=UTC)


def of(**query: str) -> Params:
    return Params.of(query, NOW)


def test_the_default_is_the_last_seven_days_by_day_through_today() -> None:
    asked = of()
    assert asked.grain == "day"
    assert asked.since == datetime(2026, 11, 17, tzinfo=UTC)
    assert asked.until == datetime(2026, 11, 24, tzinfo=UTC)
    assert (asked.first_day, asked.end_day) == (date(2026, 11, 17), date(2026, 11, 24))
    assert asked.as_json() == {
        "from": "2026-11-17T00:00:00Z",
        "to": "2026-11-24T00:00:00Z",
        "grain": "day",
        "filters": {"channel": "", "store": "", "segment": "", "b2b": None},
    }


def test_by_hour_the_default_ends_with_the_current_hour() -> None:
    asked = of(grain="hour")
    assert asked.until == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert asked.since == datetime(2026, 11, 16, 10, tzinfo=UTC)


def test_a_date_as_to_means_through_that_day_and_times_round_outwards() -> None:
    asked = of(**{"from": "2026-11-01", "to": "2026-11-03"})
    assert (asked.since, asked.until) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 4, tzinfo=UTC),
    )
    hourly = of(**{"from": "2026-11-01T09:30", "to": "2026-11-01T12:00+01:00", "grain": "hour"})
    assert (hourly.since, hourly.until) == (
        datetime(2026, 11, 1, 9, tzinfo=UTC),
        datetime(2026, 11, 1, 11, tzinfo=UTC),
    )
    daily = of(**{"from": "2026-11-01T23:30Z", "to": "2026-11-02T00:30Z"})
    assert (daily.first_day, daily.end_day) == (date(2026, 11, 1), date(2026, 11, 3))


def test_filters_are_read_and_passed_to_the_queries() -> None:
    asked = of(channel="store", store="tehran-04", segment="returning", b2b="true")
    assert (asked.channel, asked.store, asked.segment, asked.b2b) == (
        "store",
        "tehran-04",
        "returning",
        True,
    )
    assert asked.sql()["b2b"] == 1
    assert of(b2b="false").sql()["b2b"] == 0
    assert of(b2b="").sql()["b2b"] == -1
    assert of(b2b="all").b2b is None


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"grain": "week"}, "grain: 'week': day or hour"),
        ({"from": "yesterday"}, "from: 'yesterday' is not a date or time"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "from is not before to"),
        ({"from": "2026-10-01", "grain": "hour"}, "more than 31 days at grain hour"),
        ({"channel": "fax"}, "channel: no channel 'fax': one of web, app, store, sms"),
        ({"store": "a b"}, "store: 'a b' is no store id"),
        ({"segment": "vip"}, "segment: 'vip': one of new, returning, customer"),
        ({"b2b": "maybe"}, "b2b: 'maybe'"),
        ({"colour": "red"}, "unknown parameter 'colour'"),
    ],
)
def test_what_is_not_understood_is_refused_in_one_line(query: dict[str, str], says: str) -> None:
    with pytest.raises(ParamError, match=None) as refused:
        Params.of(query, NOW)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_filter_the_page_does_not_take_is_refused_not_ignored() -> None:
    allowed = ("from", "to", "grain", "channel", "store")
    with pytest.raises(ParamError, match="segment: not a filter of this page"):
        Params.of({"segment": "new"}, NOW, allowed=allowed)
    assert Params.of({"segment": ""}, NOW, allowed=allowed).segment == ""
    assert Params.of({"since": "x"}, NOW, allowed=allowed, known=("since",)).grain == "day"


def test_instants_are_iso_in_utc() -> None:
    assert iso(date(2026, 11, 23)) == "2026-11-23"
    assert iso(datetime(2026, 11, 23, 9)) == "2026-11-23T09:00:00Z"
    assert iso(datetime(2026, 11, 23, 9, tzinfo=UTC)) == "2026-11-23T09:00:00Z"
