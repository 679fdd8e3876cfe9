"""`cx deadletters` without a broker or ClickHouse: the filters and times a
user gives, the ids, the question sent to the worker and read back, which
dead letters a replay can send, what is printed, and the one line a user's
mistake gets."""

from __future__ import annotations

import base64
import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from schemas import Channel, Rejection, RejectionError, RejectReason
from streams.cli import main
from streams.deadletters.letter import KEPT_BYTES, DeadLetter, encode_dead_letter
from streams.deadletters.present import (
    SHOWN_BYTES,
    file_line,
    letter_json,
    printable,
    render_count,
    render_letter,
    render_list,
    render_plan,
    replay_line,
)
from streams.deadletters.select import (
    MOST_LISTED,
    NO_END_MS,
    REASONS,
    Ask,
    Fetched,
    Filters,
    Position,
    SelectionError,
    Source,
    filters_of,
    mismatch,
    not_replayable,
    parse_channels,
    parse_id,
    parse_reasons,
    parse_time,
)

NOW = int(datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000


# -- times -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW - 2 * HOUR),
        ("7d", NOW - 7 * 24 * HOUR),
        ("30m", NOW - 30 * 60_000),
        ("45s", NOW - 45_000),
        ("2w", NOW - 14 * 24 * HOUR),
        ("1.5h", NOW - 90 * 60_000),
        (" 3H ", NOW - 3 * HOUR),
        ("2026-11-20", int(datetime(2026, 11, 20, tzinfo=UTC).timestamp() * 1000)),
        ("2026-11-20T09:30", int(datetime(2026, 11, 20, 9, 30, tzinfo=UTC).timestamp() * 1000)),
        ("2026-11-20 09:30:00Z", int(datetime(2026, 11, 20, 9, 30, tzinfo=UTC).timestamp() * 1000)),
        (
            "2026-11-20T13:00:00+03:30",
            int(datetime(2026, 11, 20, 9, 30, tzinfo=UTC).timestamp() * 1000),
        ),
    ],
)
def test_a_time_is_an_iso_time_or_an_age(text: str, expected: int) -> None:
    assert parse_time(text, NOW, "--since") == expected


@pytest.mark.parametrize("text", ["2x", "yesterday", "", "h2", "-2h", "2026-13-01", "7 days"])
def test_what_is_not_a_time_says_what_is(text: str) -> None:
    with pytest.raises(SelectionError) as raised:
        parse_time(text, NOW, "--until")
    message = str(raised.value)
    assert message.startswith(f"--until: {text!r} is not a time")
    assert "2h" in message and "2026-11-23" in message
    assert "\n" not in message


def test_since_must_come_before_until() -> None:
    with pytest.raises(SelectionError, match="--since is not before --until"):
        filters_of(since="1h", until="2h", now_ms=NOW)
    assert filters_of(since="2h", until="1h", now_ms=NOW) == Filters(
        since_ms=NOW - 2 * HOUR, until_ms=NOW - HOUR
    )


# -- reasons, channels, ids --------------------------------------------------------


def test_reasons_are_the_contracts_repeated_or_comma_separated() -> None:
    assert set(REASONS) == {r.value for r in RejectReason}
    assert parse_reasons(["invalid_json,missing_field", "invalid_json", " too_large "]) == (
        "invalid_json",
        "missing_field",
        "too_large",
    )
    with pytest.raises(SelectionError) as raised:
        parse_reasons(["invalid_json", "bad_json"])
    assert str(raised.value).startswith("--reason: no reason 'bad_json': one of invalid_encoding,")
    assert "store_rejected" in str(raised.value)


def test_channels_are_the_contracts() -> None:
    assert parse_channels(["web,sms", "web"]) == ("web", "sms")
    with pytest.raises(SelectionError, match="--channel: no channel 'email': one of web, app"):
        parse_channels(["email"])


def test_an_id_is_a_dead_letter_position_or_a_source_position() -> None:
    assert parse_id("1:42") == Position(1, 42)
    assert str(Position(1, 42)) == "1:42"
    assert parse_id(" cx.web/0/117 ") == Source("cx.web", 0, 117)
    assert str(Source("cx.web", 0, 117)) == "cx.web/0/117"
    for wrong in ("42", "1:", "a:1", "cx.web/0", "cx.web/x/1", "", "1:2:3"):
        with pytest.raises(SelectionError, match="is no dead-letter id: give the id"):
            parse_id(wrong)


# -- the question, and its way to the worker and back ------------------------------


def test_no_filter_matches_every_dead_letter() -> None:
    params = Filters().sql_params()
    assert params == {
        "reasons": [],
        "channels": [],
        "since_ms": 0,
        "until_ms": NO_END_MS,
        "event_id": "",
        "positions": [],
        "sources": [],
    }
    assert not Filters().chosen and Filters().scope() == ""
    assert Filters(event_id="e-1").chosen and Filters(positions=(Position(0, 1),)).chosen


def test_filters_in_words() -> None:
    filters = filters_of(
        reasons=["invalid_json"],
        channels=["web", "app"],
        since="2026-11-20",
        event_id="e-1",
        ids=["0:5", "cx.web/1/2"],
        now_ms=NOW,
    )
    assert filters.scope() == (
        " (ids 0:5, cx.web/1/2, reason invalid_json, channel web or app, event_id e-1, "
        "received since 2026-11-20 00:00 UTC)"
    )


def test_a_question_reaches_the_worker_unchanged() -> None:
    asks = [
        Ask("count"),
        Ask("count", Filters(reasons=("invalid_json", "too_large")), per="hour"),
        Ask(
            "list",
            Filters(
                reasons=("missing_field",),
                channels=("web", "sms"),
                since_ms=NOW - HOUR,
                until_ms=NOW,
                event_id="e-1,2",
                positions=(Position(0, 5), Position(2, 7)),
                sources=(Source("cx.web", 1, 2),),
            ),
            limit=500,
        ),
        Ask("list", Filters(since_ms=0), per="day", limit=1),
    ]
    for ask in asks:
        query = ask.to_query()
        assert all(isinstance(v, str) for v in query.values())
        assert Ask.from_query(query) == ask


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"view": "all"}, "view: 'all': count or list"),
        ({"view": "list", "limit": "0"}, f"--limit: from 1 to {MOST_LISTED:,}"),
        ({"view": "list", "limit": "ten"}, "limit: 'ten' is not an integer"),
        ({"view": "count", "per": "week"}, "--per: 'week': hour or day"),
        ({"view": "count", "reason": "nope"}, "--reason: no reason 'nope'"),
        ({"view": "count", "positions": "x"}, "'x' is no dead-letter id"),
    ],
)
def test_the_worker_refuses_a_wrong_question_in_one_line(
    query: dict[str, str], message: str
) -> None:
    with pytest.raises(SelectionError) as raised:
        Ask.from_query(query)
    assert str(raised.value).startswith(message)


# -- replays ---------------------------------------------------------------------


def letter(**changes: Any) -> DeadLetter:
    rejection = Rejection(
        reason=RejectReason.INVALID_TIMESTAMP,
        errors=(
            RejectionError(
                reason=RejectReason.INVALID_TIMESTAMP,
                field="occurred_at",
                message="not RFC 3339",
            ),
        ),
        event_id="e-1",
        event_type="page_view",
    )
    fields: dict[str, Any] = {
        "rejection": rejection,
        "channel": Channel.WEB,
        "source_topic": "cx.web",
        "source_partition": 1,
        "source_offset": 117,
        "source_timestamp_ms": NOW - 5000,
        "key": b"ck-1",
        "value": b'{"event_id":"e-1","occurred_at":"yesterday"}',
        "received_at_ms": NOW,
    }
    return DeadLetter(**(fields | changes))


def row_of(dead: DeadLetter, partition: int = 0, offset: int = 42) -> dict[str, Any]:
    """The dead letter as `list` answers it (streams.deadletters.lookup)."""
    return {
        "id": f"{partition}:{offset}",
        "deadletter_partition": partition,
        "deadletter_offset": offset,
        "received_at_ms": dead.received_at_ms,
        "channel": dead.channel.value,
        "reason": dead.rejection.reason.value,
        "reasons": [e.reason.value for e in dead.rejection.errors],
        "errors": [e.model_dump(mode="json") for e in dead.rejection.errors],
        "event_id": dead.rejection.event_id or "",
        "event_type": dead.rejection.event_type or "",
        "rejected_by": dead.rejected_by,
        "source_topic": dead.source_topic,
        "source_partition": dead.source_partition,
        "source_offset": dead.source_offset,
        "source_timestamp_ms": dead.source_timestamp_ms,
        "payload_bytes": dead.truncated_from or len(dead.value),
        "payload_sha256": hashlib.sha256(dead.value).hexdigest(),
    }


def test_what_a_replay_cannot_send_as_it_is() -> None:
    assert not_replayable(row_of(letter())) is None
    assert not_replayable(row_of(letter(rejected_by="ingest"))) is None
    stored = not_replayable(row_of(letter(rejected_by="store")))
    assert stored is not None and stored.startswith("store_rejected: the dead letter holds the row")
    cut = not_replayable(row_of(letter(value=b"x" * KEPT_BYTES, truncated_from=KEPT_BYTES + 1)))
    assert cut is not None and cut.startswith("only its first 512 KiB were kept")
    assert not_replayable(row_of(letter(value=b"x" * KEPT_BYTES))) is None


def test_a_record_that_is_not_the_rows_dead_letter_is_not_replayed() -> None:
    dead = letter()
    row = row_of(dead)
    sha = hashlib.sha256(dead.value).hexdigest()
    assert mismatch(row, dead, sha) is None
    assert "holds another record" in str(mismatch(row, dead._replace(source_offset=118), sha))
    assert "holds other bytes" in str(mismatch(row, dead, hashlib.sha256(b"other").hexdigest()))


# -- what is printed -------------------------------------------------------------


def test_counts_by_reason_and_channel_and_per_day() -> None:
    day = int(datetime(2026, 11, 22, tzinfo=UTC).timestamp() * 1000)
    data = {
        "counts": [
            {"bucket_ms": day, "reason": "invalid_json", "channel": "web", "dead_letters": 1200},
            {"bucket_ms": day, "reason": "too_large", "channel": "app", "dead_letters": 1},
        ],
        "total": 1201,
    }
    assert render_count(data, Filters(), "day").splitlines() == [
        "1,201 dead letters",
        "day (UTC)   reason        channel  dead letters",
        "----------  ------------  -------  ------------",
        "2026-11-22  invalid_json  web             1,200",
        "2026-11-22  too_large     app                 1",
    ]
    assert render_count(data, Filters(), "hour").splitlines()[3].startswith("2026-11-22 00:00  ")
    assert render_count(data, Filters(), None).splitlines()[1].split() == [
        "reason",
        "channel",
        "dead",
        "letters",
    ]
    nothing = {"counts": [], "total": 0}
    assert render_count(nothing, Filters(reasons=("too_deep",)), None) == (
        "0 dead letters (reason too_deep)"
    )


def test_a_list_keeps_the_order_and_says_how_many_more_match() -> None:
    rows = [row_of(letter(received_at_ms=NOW - n * HOUR), 0, 40 - n) for n in range(3)]
    text = render_list({"letters": rows, "matching": 10}, Filters(channels=("web",)))
    lines = text.splitlines()
    assert [line.split()[0] for line in lines[2:5]] == ["0:40", "0:39", "0:38"]
    assert "occurred_at" in lines[2] and "cx.web/1/117" in lines[2] and "e-1" in lines[2]
    assert lines[5] == "showing 3 of 10 (channel web), newest first; --limit N shows more"
    everything = render_list({"letters": rows, "matching": 3}, Filters())
    assert "showing 3 of 3, newest first\n" in everything
    assert render_list({"letters": [], "matching": 0}, Filters()) == "no dead letters"


def test_bytes_are_shown_so_that_none_drives_the_terminal() -> None:
    assert printable(b'{"a":"caf\xc3\xa9"}') == '{"a":"café"}'
    assert printable(b"caf\xe9") == "caf\\xe9"
    assert printable(b"a\x1b[2Jb\x07") == "a\\u001b[2Jb\\u0007"
    assert printable("x\u202ey".encode()) == "x\\u202ey"  # a bidi override
    assert printable(b"a\r\nb\tc") == "a\\u000d\nb\\u0009c"


def test_one_dead_letter_with_its_headers_and_bytes() -> None:
    dead = letter(key=b"ck-\x1b1")
    headers = encode_dead_letter(dead)[2]
    fetched = Fetched(dead, headers)
    text = render_letter(row_of(dead), fetched)
    lines = text.splitlines()
    assert lines[0] == "dead letter 0:42"
    assert "  reason       invalid_timestamp: occurred_at is not RFC 3339 with an offset" in lines
    assert "    invalid_timestamp  occurred_at: not RFC 3339" in lines
    assert "  key          ck-\\u001b1" in lines
    assert "    cx.dlq.source.topic: cx.web" in lines
    assert "    cx.dlq.source.key: ck-\\u001b1" in lines
    assert '    {"event_id":"e-1","occurred_at":"yesterday"}' in lines
    assert "cx deadletters show 0:42 --raw > event.json" in text
    assert "cx deadletters replay --file fixed.jsonl --channel web" in text
    unread = render_letter(row_of(dead), None, "no Kafka broker answers")
    assert unread.splitlines()[-1] == "  value        44 bytes, not read: no Kafka broker answers"
    assert "yesterday" not in unread


def test_a_long_value_is_cut_on_screen_only() -> None:
    dead = letter(value=b"x" * (SHOWN_BYTES + 10))
    text = render_letter(row_of(dead), Fetched(dead, []))
    assert "    … 10 more bytes (--raw writes them all)" in text.splitlines()
    data = letter_json(row_of(dead), Fetched(dead, encode_dead_letter(dead)[2]), "")
    assert base64.b64decode(data["record"]["value_base64"]) == dead.value
    assert data["record"]["headers"]["cx.dlq.reason"] == "invalid_timestamp"
    assert letter_json(row_of(dead), None, "gone")["record"] is None


def test_a_value_cut_at_the_bound_says_so() -> None:
    dead = letter(value=b"x" * KEPT_BYTES, truncated_from=5_000_000)
    text = render_letter(row_of(dead), Fetched(dead, []))
    assert (
        "  value        the first 524,288 of 5,000,000 bytes sent (no more kept), sha256 " in text
    )


def test_a_value_that_is_not_utf8_is_in_base64_only() -> None:
    dead = letter(value=b"caf\xe9")
    data = letter_json(row_of(dead), Fetched(dead, []), "")
    assert data["record"]["value"] is None
    assert base64.b64decode(data["record"]["value_base64"]) == b"caf\xe9"
    orjson.dumps(data)  # JSON as it is


def test_the_lines_a_replay_ends_with() -> None:
    unread = letter()._replace(rejection=letter().rejection.model_copy(update={"event_id": None}))
    rows = [row_of(letter(), 0, 42), row_of(unread, 1, 7)]
    plan = render_plan(rows).splitlines()
    assert plan[2].split() == [
        "0:42",
        "web",
        "invalid_timestamp",
        "e-1",
        "cx.web",
        "(was",
        "1/117)",
    ]
    sent = ["cx.web", "cx.app", "cx.web"]
    assert replay_line(sent, 0, dry_run=False) == (
        "replayed 3 dead letters, their original bytes and keys: 1 to cx.app, 2 to cx.web"
    )
    assert replay_line(["cx.web"], 2, dry_run=True) == (
        "would replay 1 dead letter, their original bytes and keys: 1 to cx.web; "
        "2 not replayable (above)"
    )
    assert replay_line([], 1, dry_run=False) == "replayed 0 dead letters; 1 not replayable (above)"
    assert file_line("f.jsonl", "cx.web", [None, None], dry_run=False) == (
        "sent 2 events from f.jsonl to cx.web (every one passes the contract)"
    )
    assert file_line("f.jsonl", "cx.web", [None, "invalid_json"], dry_run=True) == (
        "would send 2 events from f.jsonl to cx.web: 1 passes the contract, 1 does not "
        "and will be dead letters again (1 invalid_json)"
    )


# -- a user's mistakes: one line, exit code 2, before anything is read ------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["count", "--reason", "nope"], "--reason: no reason 'nope': one of invalid_encoding"),
        (["list", "--since", "2x"], "--since: '2x' is not a time: give an ISO time"),
        (["list", "--channel", "fax"], "--channel: no channel 'fax': one of web, app"),
        (["list", "--limit", "0"], "--limit: from 1 to 100,000"),
        (["show", "42"], "'42' is no dead-letter id: give the id `cx deadletters list` prints"),
        (["replay"], "say which dead letters to replay: ids, --reason, --channel"),
        (["replay", "--since", "2h", "--until", "3h"], "--since is not before --until"),
    ],
)
def test_a_mistake_is_one_line(args: list[str], line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Runtime tooling: it works without the development tooling (the image).
    monkeypatch.setitem(sys.modules, "streams.dev", None)
    monkeypatch.setenv("CX_CLICKHOUSE_URL", "http://127.0.0.1:1")  # never reached
    result = CliRunner().invoke(main, ["deadletters", *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(line)


def test_a_fixed_file_is_sent_or_dead_letters_chosen_not_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_bytes(b"{}\n")
    runner = CliRunner()
    both = runner.invoke(
        main, ["deadletters", "replay", "--file", str(fixed), "--reason", "too_large"]
    )
    assert both.exit_code == 2
    assert both.stderr.startswith("--file sends the fixed events of the file; ids and filters")
    unnamed = runner.invoke(main, ["deadletters", "replay", "--file", str(fixed)])
    assert unnamed.exit_code == 2
    assert unnamed.stderr.startswith("say which channel the events of fixed.jsonl are for")


def test_a_dry_run_of_a_fixed_file_validates_each_line_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_BROKER_URL", "kafka://127.0.0.1:1")  # nothing listens: never asked
    good = (
        b'{"event_id":"e-1","event_type":"page_view","occurred_at":"2026-11-23T09:41:07Z",'
        b'"identity":{"anonymous_id":"a"}}'
    )
    fixed = tmp_path / "web-fixed.jsonl"
    fixed.write_bytes(good + b"\n\n" + good.replace(b"07Z", b"07") + b"\r\n")
    result = CliRunner().invoke(main, ["deadletters", "replay", "--file", str(fixed), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["line 3: invalid_timestamp (will be a dead letter again)"]
    assert result.stdout.splitlines() == [
        "would send 2 events from web-fixed.jsonl to cx.web: 1 passes the contract, 1 does "
        "not and will be dead letters again (1 invalid_timestamp)"
    ]
