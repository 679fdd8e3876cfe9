"""`cx deadletters`: find, understand, fix and replay rejected events.

The ClickHouse table `deadletters` says which there are and where they sit
on the dead-letter topic: read through the worker's `GET /deadletters` when
a worker holds the embedded store, else directly. The bytes come from the
topic. Runtime tooling, in the worker image: nothing here imports the
development tooling.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import click
import orjson

from schemas import Channel, Rejection, validate_event
from streams.deadletters import present
from streams.deadletters.select import (
    CHANNEL_NAMES,
    LIST_LIMIT,
    MOST_LISTED,
    Ask,
    Fetched,
    Filters,
    Position,
    SelectionError,
    filters_of,
    mismatch,
    not_replayable,
    parse_channels,
    parse_id,
    position_of,
)
from streams.runtime.settings import Settings, load_settings

if TYPE_CHECKING:  # aiokafka: imported when a command sends or reads
    from streams.deadletters.replay import Outgoing

F = TypeVar("F", bound=Callable[..., Any])
Row = dict[str, Any]


def _filter_options(f: F) -> F:
    f = click.option("--event-id", help="the dead letter of this event id")(f)
    f = click.option(
        "--until", metavar="TIME", help="received before TIME (ISO time or age, as --since)"
    )(f)
    f = click.option(
        "--since",
        metavar="TIME",
        help="received at or after TIME: an ISO time (2026-11-23T09:00, UTC unless it says) "
        "or an age (30m, 2h, 7d, 2w)",
    )(f)
    f = click.option(
        "--channel",
        "channels",
        multiple=True,
        metavar="CHANNEL",
        help=f"{', '.join(CHANNEL_NAMES)} (repeat or comma-separate for several)",
    )(f)
    f = click.option(
        "--reason",
        "reasons",
        multiple=True,
        metavar="REASON",
        help="a rejection reason, such as invalid_json (repeat or comma-separate for several)",
    )(f)
    return f


_JSON = click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")


def _filters(options: dict[str, Any], ids: Sequence[str] = ()) -> Filters:
    return filters_of(
        reasons=options["reasons"],
        channels=options["channels"],
        since=options["since"],
        until=options["until"],
        event_id=options["event_id"],
        ids=ids,
        now_ms=int(time.time() * 1000),
    )


def _answer(settings: Settings, ask: Ask) -> dict[str, Any]:
    """The table's answer: from the worker when one holds the embedded
    store, else read here (a server: always here)."""
    from streams.clickhouse.client import Store
    from streams.deadletters.lookup import answer
    from streams.reports.ask_worker import ask_worker
    from streams.runtime.web_token import bearer

    if settings.embedded_clickhouse:
        path, query = "/deadletters", ask.to_query()
        asked = ask_worker(
            settings.web_host, settings.web_port, path, query, bearer(settings.web_token)
        )
        if asked is not None:
            return dict(asked)
    store = Store.of(settings)
    try:
        return answer(store, ask)
    finally:
        store.close()


def _reach_broker(settings: Settings) -> None:
    """One line, not a traceback, when no broker answers."""
    from streams.runtime.security import is_transient, probe_broker

    try:
        asyncio.run(probe_broker(settings))  # a wrong setting: ConfigError, exit 2
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise click.ClickException(
            f"no Kafka broker answers at {settings.broker_url}: the original bytes are on "
            "the dead-letter topic; start the broker or set CX_BROKER_URL"
        ) from exc


def _json(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


@click.group("deadletters")
def deadletters() -> None:
    """Rejected events: find, understand, fix and replay them."""


@deadletters.command("count")
@_filter_options
@click.option("--per", type=click.Choice(["hour", "day"]), help="also by hour or day (UTC)")
@_JSON
def count(per: str | None, as_json: bool, **options: Any) -> None:
    """Dead letters by reason and channel (and hour or day)."""
    ask = Ask("count", _filters(options), per=per)
    data = _answer(load_settings(), ask)
    click.echo(_json(data) if as_json else present.render_count(data, ask.filters, per))


@deadletters.command("list")
@_filter_options
@click.option("--limit", default=LIST_LIMIT, show_default=True, help="most dead letters shown")
@_JSON
def list_(limit: int, as_json: bool, **options: Any) -> None:
    """Dead letters, newest first, with the id `show` and `replay` take."""
    ask = Ask("list", _filters(options), limit=limit)
    data = _answer(load_settings(), ask)
    click.echo(_json(data) if as_json else present.render_list(data, ask.filters))


def _read(
    settings: Settings, rows: Sequence[Row]
) -> tuple[dict[Position, Any], dict[Position, str]]:
    """The dead letters of `rows` from the topic, and why the others are not
    there: checked against their rows."""
    from streams.deadletters.replay import read_letters

    try:
        found, missing = asyncio.run(read_letters(settings, [position_of(row) for row in rows]))
    except TimeoutError as exc:
        raise click.ClickException(f"{exc}: is the broker overloaded? try again") from None
    for row in rows:
        position = position_of(row)
        fetched = found.get(position)
        if fetched is not None:
            value = fetched.letter.value
            why = mismatch(row, fetched.letter, hashlib.sha256(value).hexdigest())
            if why is not None:
                del found[position]
                missing[position] = why
    return found, missing


@deadletters.command("show")
@click.argument("letter_id", metavar="ID")
@click.option("--raw", is_flag=True, help="write only the bytes as sent, exactly, to stdout")
@_JSON
def show(letter_id: str, raw: bool, as_json: bool) -> None:
    """One dead letter: why, from where, its headers and its bytes. ID is
    PARTITION:OFFSET (as `list` prints) or TOPIC/PARTITION/OFFSET (where the
    record was sent)."""
    settings = load_settings()
    wanted = parse_id(letter_id)
    filters = (
        Filters(positions=(wanted,)) if isinstance(wanted, Position) else Filters(sources=(wanted,))
    )
    rows = _answer(settings, Ask("list", filters, limit=1))["letters"]
    if not rows:
        raise SelectionError(
            f"no dead letter {letter_id}: `cx deadletters list` prints the ids (a dead letter "
            "reaches the table within seconds while a store worker runs)"
        )
    row = rows[0]
    fetched: Fetched | None = None
    note = ""
    try:
        _reach_broker(settings)
        found, missing = _read(settings, [row])
        fetched = found.get(position_of(row))
        note = missing.get(position_of(row), "")
    except click.ClickException as exc:
        if raw:
            raise
        note = exc.message
    if raw:
        if fetched is None:
            raise click.ClickException(f"dead letter {row['id']}: {note}")
        sys.stdout.buffer.write(fetched.letter.value)
        sys.stdout.buffer.flush()
        if fetched.letter.truncated_from is not None:
            click.echo(
                f"only the first {len(fetched.letter.value):,} of the "
                f"{fetched.letter.truncated_from:,} bytes sent were kept",
                err=True,
            )
    elif as_json:
        click.echo(_json(present.letter_json(row, fetched, note)))
    else:
        click.echo(present.render_letter(row, fetched, note))


@deadletters.command("replay")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@_filter_options
@click.option("--all", "every", is_flag=True, help="every dead letter (no id or filter given)")
@click.option(
    "--file",
    "fixed",
    type=click.File("rb"),
    help="send the fixed events of FILE (JSON lines) to the topic of --channel instead",
)
@click.option("--dry-run", is_flag=True, help="say what would be sent, send nothing")
def replay(
    ids: tuple[str, ...], every: bool, fixed: BinaryIO | None, dry_run: bool, **options: Any
) -> None:
    """Send dead letters again, their original bytes and keys to the topics
    they came from; or, with --file, fixed events to a channel's topic. An
    event stored already is not stored twice; one still invalid becomes a
    dead letter again."""
    settings = load_settings()
    if fixed is not None:
        _replay_file(settings, fixed, ids, every, dry_run, options)
        return
    filters = _filters(options, ids)
    if not filters.chosen and not every:
        raise SelectionError(
            "say which dead letters to replay: ids, --reason, --channel, --since, --until, "
            "--event-id, or --all"
        )
    data = _answer(settings, Ask("list", filters, limit=MOST_LISTED))
    rows: list[Row] = data["letters"][::-1]  # oldest first: the order they were sent in
    if int(data["matching"]) > len(rows):
        raise SelectionError(
            f"{data['matching']:,} dead letters match; at most {MOST_LISTED:,} at a time: "
            "narrow the selection (--since, --until)"
        )
    absent = _absent_ids(filters, rows)
    if absent:
        raise SelectionError(
            f"no dead letter {absent[0]}{filters.scope()}: `cx deadletters list` prints the ids"
        )
    if not rows:
        click.echo(f"no dead letters{filters.scope()}: nothing to replay")
        return
    skipped: list[tuple[Row, str]] = []
    candidates: list[Row] = []
    for row in rows:
        why = not_replayable(row)
        if why is None:
            candidates.append(row)
        else:
            skipped.append((row, why))
    outgoing, chosen = _outgoing(settings, candidates, skipped) if candidates else ([], [])
    for row, why in skipped:
        click.echo(f"{row['id']} ({row['reason']}) not replayable: {why}", err=True)
    if dry_run:
        if chosen:
            click.echo(present.render_plan(chosen))
        click.echo(present.replay_line([r.topic for r in outgoing], len(skipped), dry_run=True))
    else:
        sent = _send(settings, outgoing)
        click.echo(
            present.replay_line([topic for topic, _, _ in sent], len(skipped), dry_run=False)
        )
    if skipped:
        sys.exit(1)


def _absent_ids(filters: Filters, rows: Sequence[Row]) -> list[str]:
    """The ids asked for that no selected row has."""
    positions = {position_of(row) for row in rows}
    sources = {(row["source_topic"], row["source_partition"], row["source_offset"]) for row in rows}
    return [str(p) for p in filters.positions if p not in positions] + [
        str(s) for s in filters.sources if tuple(s) not in sources
    ]


def _outgoing(
    settings: Settings, candidates: Sequence[Row], skipped: list[tuple[Row, str]]
) -> tuple[list[Outgoing], list[Row]]:
    """The records that send the candidates again, and their rows; the ones
    the topic no longer has join `skipped`."""
    from streams.deadletters.replay import replay_of

    _reach_broker(settings)
    found, missing = _read(settings, candidates)
    outgoing: list[Outgoing] = []
    chosen: list[Row] = []
    for row in candidates:
        position = position_of(row)
        fetched = found.get(position)
        if fetched is None:
            skipped.append((row, missing.get(position, "not read")))
            continue
        outgoing.append(replay_of(fetched.letter, position, settings))
        chosen.append(row)
    return outgoing, chosen


def _send(settings: Settings, outgoing: Sequence[Outgoing]) -> list[tuple[str, int, int]]:
    from streams.deadletters.replay import send_all

    if not outgoing:
        return []
    try:
        return asyncio.run(send_all(settings, outgoing))
    except LookupError as exc:
        raise click.ClickException(f"{exc.args[0]}: nothing was sent") from None


def _replay_file(
    settings: Settings,
    fixed: BinaryIO,
    ids: Sequence[str],
    every: bool,
    dry_run: bool,
    options: dict[str, Any],
) -> None:
    """Send each non-blank line of `fixed` as one record, no key, to the
    topic of its channel (--channel, or the start of the file's name)."""
    from streams.deadletters.replay import Outgoing
    from streams.runtime.topics import Topics

    given = [name for name in ("reasons", "since", "until", "event_id") if options[name]]
    if ids or given or every:
        raise SelectionError(
            "--file sends the fixed events of the file; ids and filters choose dead letters "
            "to send as they were: one or the other"
        )
    name = Path(getattr(fixed, "name", "") or "-").name
    channels = parse_channels(options["channels"]) or tuple(
        c for c in CHANNEL_NAMES if name.startswith(c)
    )
    if len(channels) != 1:
        raise SelectionError(
            f"say which channel the events of {name} are for: --channel {'|'.join(CHANNEL_NAMES)}"
        )
    channel = Channel(channels[0])
    topic = Topics(settings.topic_prefix).channel(channel)
    lines = [(n, line.rstrip(b"\r\n")) for n, line in enumerate(fixed, start=1) if line.strip()]
    verdicts: list[str | None] = []
    for number, raw in lines:
        verdict = validate_event(raw, channel)
        verdicts.append(verdict.reason.value if isinstance(verdict, Rejection) else None)
        if isinstance(verdict, Rejection):
            click.echo(
                f"line {number}: {verdict.reason.value} (will be a dead letter again)", err=True
            )
    if not dry_run and lines:
        _reach_broker(settings)
        _send(settings, [Outgoing(topic, None, raw, []) for _, raw in lines])
    click.echo(present.file_line(name, topic, verdicts, dry_run=dry_run))
