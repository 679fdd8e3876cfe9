"""The query parameters every page sends (docs/ui.md): a time range, its
grain and the filters, with defaults, read from a query string into one
value; anything not understood is a `ParamError` whose text is the one line
a 400 answer says. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from schemas import Channel

Grain = Literal["day", "hour"]
GRAINS: tuple[Grain, ...] = ("day", "hour")
CHANNELS = tuple(channel.value for channel in Channel)
SEGMENTS = ("new", "returning", "customer")
"""Who a journey's person was when it began (docs/metrics.md, `segment`):
their first journey; back after an earlier one without having purchased;
back having purchased before."""
DEFAULT_DAYS = 7
MOST_DAYS: dict[Grain, int] = {"day": 3 * 366, "hour": 31}
"""The longest range per grain: a page of at most about a thousand points
per line."""
_STORE = re.compile(r"^[\w.:@/-]{1,100}$")
_TRUE = ("true", "1", "yes", "b2b")
_FALSE = ("false", "0", "no", "b2c")
COMMON = ("from", "to", "grain", "channel", "store", "segment", "b2b")
"""The names `Params.of` reads."""


class ParamError(ValueError):
    """A query parameter that is not understood: one line saying which and
    what would be (the 400's `error`)."""


@dataclass(frozen=True, slots=True)
class Params:
    """A page's question: [since, until) in UTC at `grain`, and the filters
    (empty or None: all)."""

    since: datetime
    until: datetime
    grain: Grain = "day"
    channel: str = ""
    store: str = ""
    segment: str = ""
    b2b: bool | None = None
    """True: journeys acting for a business account only; False: the others."""

    @property
    def first_day(self) -> date:
        return self.since.date()

    @property
    def end_day(self) -> date:
        """The day after the last one in range (the range's end, exclusive)."""
        end = self.until.date()
        return end if self.until == _midnight(end) else end + timedelta(days=1)

    def sql(self) -> dict[str, Any]:
        """The parameters of the `ui_*` queries."""
        return {
            "since": self.since,
            "until": self.until,
            "since_day": self.first_day,
            "until_day": self.end_day,
            "channel": self.channel,
            "store": self.store,
            "segment": self.segment,
            "b2b": -1 if self.b2b is None else int(self.b2b),
        }

    def as_json(self) -> dict[str, Any]:
        """`from`, `to`, `grain` and `filters` as the answers carry them."""
        return {
            "from": _iso(self.since),
            "to": _iso(self.until),
            "grain": self.grain,
            "filters": {
                "channel": self.channel,
                "store": self.store,
                "segment": self.segment,
                "b2b": self.b2b,
            },
        }

    @classmethod
    def of(
        cls,
        query: Mapping[str, str],
        now: datetime,
        *,
        allowed: tuple[str, ...] = COMMON,
        known: tuple[str, ...] = (),
    ) -> Params:
        """The parameters in `query`, read at `now` (UTC). `allowed` are the
        common names this page takes (another one given is refused, not
        ignored: its numbers would not be filtered); `known` the names of
        the page's own parameters, read elsewhere."""
        for name, value in query.items():
            if name in allowed or name in known:
                continue
            if name in COMMON and value:
                raise ParamError(f"{name}: not a filter of this page ({', '.join(allowed)})")
            if name not in COMMON:
                raise ParamError(f"unknown parameter {name!r}: {', '.join((*allowed, *known))}")
        grain = query.get("grain", "") or "day"
        if grain not in GRAINS:
            raise ParamError(f"grain: {grain!r}: day or hour")
        until = _instant(query.get("to", ""), "to", end=True) or _default_until(now, grain)
        since = _instant(query.get("from", ""), "from", end=False) or (
            until - timedelta(days=DEFAULT_DAYS)
        )
        if grain == "day":
            since, until = _midnight(since.date()), _day_end(until)
        else:
            since = since.replace(minute=0, second=0, microsecond=0)
            until = _hour_end(until)
        if since >= until:
            raise ParamError("from is not before to: nothing can match")
        if until - since > timedelta(days=MOST_DAYS[grain]):
            raise ParamError(
                f"from..to spans more than {MOST_DAYS[grain]} days at grain {grain}: "
                + ("ask per day" if grain == "hour" else "ask for less")
            )
        channel = query.get("channel", "")
        if channel and channel not in CHANNELS:
            raise ParamError(f"channel: no channel {channel!r}: one of {', '.join(CHANNELS)}")
        store = query.get("store", "").strip()
        if store and not _STORE.match(store):
            raise ParamError(f"store: {store[:40]!r} is no store id")
        segment = query.get("segment", "")
        if segment and segment not in SEGMENTS:
            raise ParamError(f"segment: {segment!r}: one of {', '.join(SEGMENTS)}")
        return cls(since, until, grain, channel, store, segment, _b2b(query.get("b2b", "")))


def _b2b(text: str) -> bool | None:
    value = text.strip().lower()
    if not value or value == "all":
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ParamError(f"b2b: {text!r}: true (business accounts only), false (the others) or empty")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _day_end(at: datetime) -> datetime:
    """`at` rounded up to a midnight."""
    start = _midnight(at.date())
    return start if at == start else start + timedelta(days=1)


def _hour_end(at: datetime) -> datetime:
    start = at.replace(minute=0, second=0, microsecond=0)
    return start if at == start else start + timedelta(hours=1)


def _default_until(now: datetime, grain: Grain) -> datetime:
    """The end of the current day or hour: the latest bucket included."""
    return (
        _day_end(now + timedelta(microseconds=1))
        if grain == "day"
        else _hour_end(now + timedelta(microseconds=1))
    )


def _instant(text: str, name: str, *, end: bool) -> datetime | None:
    """A date or a datetime (UTC unless it says), None when empty. A date as
    `to` means through that day: its next midnight."""
    given = text.strip()
    if not given:
        return None
    try:
        if len(given) == 10:
            day = date.fromisoformat(given)
            return _midnight(day + timedelta(days=1 if end else 0))
        at = datetime.fromisoformat(given.replace("Z", "+00:00"))
    except ValueError:
        raise ParamError(
            f"{name}: {text[:40]!r} is not a date or time: give an ISO date or time in UTC "
            "(2026-11-23, 2026-11-23T09:00, 2026-11-23T09:00+03:30)"
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def iso(value: Any) -> str:
    """A day as `2026-11-23`, a time as `2026-11-23T09:00:00Z` (UTC when it
    says no zone, as ClickHouse's DateTime('UTC') values come)."""
    if isinstance(value, datetime):
        return _iso(value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as `2026-11-23T09:00:00.123000Z`."""
    return _iso(datetime.fromtimestamp(ms / 1000, tz=UTC))
