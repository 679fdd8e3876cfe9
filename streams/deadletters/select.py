"""Which dead letters a `cx deadletters` command means (pure): the filters
and times a user gives, the ids `cx deadletters list` prints, the question
put to ClickHouse (directly or through the worker's `GET /deadletters`), and
which selected dead letters a replay can send again.

An id is the dead letter's position on the dead-letter topic,
`PARTITION:OFFSET` (what `list` prints), or the position of the rejected
record on its channel topic, `TOPIC/PARTITION/OFFSET` (the dead letter's key,
and what a producer's client was told when it sent the record).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from schemas import Channel, RejectReason
from streams.deadletters.letter import KEPT_BYTES, DeadLetter

REASONS = tuple(reason.value for reason in RejectReason)
CHANNEL_NAMES = tuple(channel.value for channel in Channel)
NO_END_MS = 2**62
"""An open end of a time range (ms): far beyond any event."""
PER_MS = {"hour": 3_600_000, "day": 86_400_000}
"""The time buckets of `count --per` (UTC)."""
UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
LIST_LIMIT = 20
"""Dead letters `list` prints unless told otherwise."""
MOST_LISTED = 100_000
"""Most dead letters one answer holds (a list, a replay's selection)."""

View = Literal["count", "list"]
_VIEWS: dict[str, View] = {"count": "count", "list": "list"}


class SelectionError(ValueError):
    """A user's mistake (an unknown reason, a time that is none, an id that
    names nothing): one line saying what is wrong and what to do."""


def parse_time(text: str, now_ms: int, option: str) -> int:
    """Epoch ms of an ISO time (a date, a time with or without an offset:
    UTC when none) or an age before `now_ms` (30s, 15m, 2h, 7d, 2w)."""
    given = text.strip()
    age = _AGE.match(given.lower())
    if age is not None:
        return now_ms - round(float(age.group(1)) * UNIT_MS[age.group(2)])
    try:
        at = datetime.fromisoformat(given)
    except ValueError:
        raise SelectionError(
            f"{option}: {text!r} is not a time: give an ISO time (2026-11-23, "
            "2026-11-23T09:00, 2026-11-23T09:00+03:30; UTC unless it says) or an age "
            "(30m, 2h, 7d, 2w)"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1000)


def _split(values: Iterable[str]) -> list[str]:
    """Values given as repeated options or comma-separated, or both."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_reasons(values: Iterable[str]) -> tuple[str, ...]:
    reasons = _split(values)
    unknown = [reason for reason in reasons if reason not in REASONS]
    if unknown:
        raise SelectionError(
            f"--reason: no reason {unknown[0]!r}: one of {', '.join(REASONS)} "
            "(docs/producers.md, Rejection reasons)"
        )
    return tuple(dict.fromkeys(reasons))


def parse_channels(values: Iterable[str]) -> tuple[str, ...]:
    channels = _split(values)
    unknown = [channel for channel in channels if channel not in CHANNEL_NAMES]
    if unknown:
        raise SelectionError(
            f"--channel: no channel {unknown[0]!r}: one of {', '.join(CHANNEL_NAMES)}"
        )
    return tuple(dict.fromkeys(channels))


class Position(NamedTuple):
    """A dead letter's position on the dead-letter topic: its id."""

    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.partition}:{self.offset}"


class Source(NamedTuple):
    """The rejected record's position on its channel topic."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


_POSITION = re.compile(r"^(\d+):(\d+)$")
_SOURCE = re.compile(r"^(.+)/(\d+)/(\d+)$")


def parse_id(text: str) -> Position | Source:
    given = text.strip()
    if found := _POSITION.match(given):
        return Position(int(found.group(1)), int(found.group(2)))
    if found := _SOURCE.match(given):
        return Source(found.group(1), int(found.group(2)), int(found.group(3)))
    raise SelectionError(
        f"{text!r} is no dead-letter id: give the id `cx deadletters list` prints "
        "(PARTITION:OFFSET on the dead-letter topic) or the rejected record's position "
        "TOPIC/PARTITION/OFFSET"
    )


@dataclass(frozen=True, slots=True)
class Filters:
    """Dead letters that match every filter given (an empty one: any)."""

    reasons: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    since_ms: int | None = None
    """Received at or after."""
    until_ms: int | None = None
    """Received before."""
    event_id: str = ""
    positions: tuple[Position, ...] = ()
    sources: tuple[Source, ...] = ()

    def __post_init__(self) -> None:
        since, until = self.since_ms, self.until_ms
        if since is not None and until is not None and since >= until:
            raise SelectionError("--since is not before --until: nothing can match")

    @property
    def chosen(self) -> bool:
        """Whether any filter is given (a replay of every dead letter must say so)."""
        return any(
            (
                self.reasons,
                self.channels,
                self.since_ms is not None,
                self.until_ms is not None,
                self.event_id,
                self.positions,
                self.sources,
            )
        )

    def sql_params(self) -> dict[str, Any]:
        """The parameters of queries/deadletters_count.sql and deadletters_list.sql."""
        return {
            "reasons": list(self.reasons),
            "channels": list(self.channels),
            "since_ms": self.since_ms if self.since_ms is not None else 0,
            "until_ms": self.until_ms if self.until_ms is not None else NO_END_MS,
            "event_id": self.event_id,
            "positions": [tuple(p) for p in self.positions],
            "sources": [tuple(s) for s in self.sources],
        }

    def describe(self) -> str:
        """The filters in words, for a line that says what matched ("" for none)."""
        parts = []
        if self.positions or self.sources:
            parts.append("ids " + ", ".join(map(str, (*self.positions, *self.sources))))
        if self.reasons:
            parts.append("reason " + " or ".join(self.reasons))
        if self.channels:
            parts.append("channel " + " or ".join(self.channels))
        if self.event_id:
            parts.append(f"event_id {self.event_id}")
        if self.since_ms is not None:
            parts.append(f"received since {at_text(self.since_ms)}")
        if self.until_ms is not None:
            parts.append(f"received before {at_text(self.until_ms)}")
        return ", ".join(parts)

    def scope(self) -> str:
        """`describe` in brackets after a space, or nothing without a filter."""
        described = self.describe()
        return f" ({described})" if described else ""


def at_text(ms: int, *, seconds: bool = False) -> str:
    """A time in UTC for a terminal."""
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime(shape) + " UTC"


def filters_of(
    *,
    reasons: Iterable[str] = (),
    channels: Iterable[str] = (),
    since: str | None = None,
    until: str | None = None,
    event_id: str | None = None,
    ids: Iterable[str] = (),
    now_ms: int,
) -> Filters:
    """The filters of a command's options, ages taken back from `now_ms`."""
    parsed = [parse_id(text) for text in ids]
    return Filters(
        reasons=parse_reasons(reasons),
        channels=parse_channels(channels),
        since_ms=parse_time(since, now_ms, "--since") if since is not None else None,
        until_ms=parse_time(until, now_ms, "--until") if until is not None else None,
        event_id=(event_id or "").strip(),
        positions=tuple(p for p in parsed if isinstance(p, Position)),
        sources=tuple(p for p in parsed if isinstance(p, Source)),
    )


@dataclass(frozen=True, slots=True)
class Ask:
    """One question about the `deadletters` table: counts (by reason and
    channel, and `per` hour or day) or a list (newest first, `limit`)."""

    view: View
    filters: Filters = field(default_factory=Filters)
    per: str | None = None
    limit: int = LIST_LIMIT

    def __post_init__(self) -> None:
        if self.view not in ("count", "list"):
            raise SelectionError(f"no view {self.view!r}: count or list")
        if self.per is not None and self.per not in PER_MS:
            raise SelectionError(f"--per: {self.per!r}: hour or day")
        if not 1 <= self.limit <= MOST_LISTED:
            raise SelectionError(f"--limit: from 1 to {MOST_LISTED:,}")

    @property
    def bucket_ms(self) -> int:
        return PER_MS[self.per] if self.per is not None else NO_END_MS

    def to_query(self) -> dict[str, str]:
        """As the query string of `GET /deadletters` (`from_query` reads it back)."""
        f = self.filters
        query = {
            "view": self.view,
            "reason": ",".join(f.reasons),
            "channel": ",".join(f.channels),
            "since_ms": "" if f.since_ms is None else str(f.since_ms),
            "until_ms": "" if f.until_ms is None else str(f.until_ms),
            "event_id": f.event_id,
            "positions": ",".join(map(str, f.positions)),
            "sources": ",".join(map(str, f.sources)),
            "per": self.per or "",
            "limit": str(self.limit),
        }
        return {name: value for name, value in query.items() if value}

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Ask:
        def number(name: str) -> int | None:
            text = query.get(name, "")
            try:
                return int(text) if text else None
            except ValueError:
                raise SelectionError(f"{name}: {text!r} is not an integer") from None

        ids = _split([query.get("positions", ""), query.get("sources", "")])
        parsed = [parse_id(text) for text in ids]
        filters = Filters(
            reasons=parse_reasons([query.get("reason", "")]),
            channels=parse_channels([query.get("channel", "")]),
            since_ms=number("since_ms"),
            until_ms=number("until_ms"),
            event_id=query.get("event_id", ""),
            positions=tuple(p for p in parsed if isinstance(p, Position)),
            sources=tuple(p for p in parsed if isinstance(p, Source)),
        )
        view = _VIEWS.get(query.get("view", ""))
        if view is None:
            raise SelectionError(f"view: {query.get('view', '')!r}: count or list")
        limit = number("limit")
        return cls(view, filters, query.get("per") or None, LIST_LIMIT if limit is None else limit)


# -- replays ---------------------------------------------------------------------


def position_of(row: Mapping[str, Any]) -> Position:
    return Position(int(row["deadletter_partition"]), int(row["deadletter_offset"]))


def not_replayable(row: Mapping[str, Any]) -> str | None:
    """Why the dead letter of this `deadletters` row cannot be sent again as
    it is on the topic, or None when it can."""
    if row["rejected_by"] == "store":
        return (
            "store_rejected: the dead letter holds the row ClickHouse refused (identifiers "
            "hashed), not the bytes sent: once the cause is fixed and the store worker "
            "restarted, send the event again from its source"
        )
    if int(row["payload_bytes"]) > KEPT_BYTES:
        return (
            f"only its first {KEPT_BYTES // 1024} KiB were kept (it was "
            f"{int(row['payload_bytes']):,} bytes): send a fixed event from its source"
        )
    return None


class Fetched(NamedTuple):
    """A dead letter as read from the dead-letter topic, with the headers
    its record has there."""

    letter: DeadLetter
    headers: list[tuple[str, bytes]]


def mismatch(row: Mapping[str, Any], letter: DeadLetter, value_sha256: str) -> str | None:
    """Why the record read at the row's position is not the row's dead
    letter (the topic recreated since), or None when it is."""
    source = (letter.source_topic, letter.source_partition, letter.source_offset)
    if source != (row["source_topic"], int(row["source_partition"]), int(row["source_offset"])):
        return "the dead-letter topic holds another record there (was it recreated?)"
    if value_sha256 != row["payload_sha256"]:
        return "the record there holds other bytes than the table says (was the topic recreated?)"
    return None
