"""What `cx deadletters` prints (pure): counts, lists, one dead letter with
its headers and bytes, and the one line a replay ends with.

A dead letter's value is what its producer sent, personal data included: it
is shown to whoever asks with `show` (that is what the topic keeps it for),
escaped so that no byte of it can drive the terminal, and never logged.
"""

from __future__ import annotations

import base64
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from schemas import RejectReason
from schemas.rejections import REASON_DESCRIPTIONS
from streams.deadletters.select import REASONS, Fetched, Filters, at_text
from streams.reports.tables import table

SHOWN_BYTES = 4096
"""Most bytes of a value `show` prints (`--raw` writes them all)."""


def render_count(data: Mapping[str, Any], filters: Filters, per: str | None) -> str:
    """Counts by reason and channel (and hour or day), newest first."""
    total = int(data["total"])
    head = _many(total, "dead letter") + filters.scope()
    if not total:
        return head
    rows = [
        [
            *([bucket_text(row["bucket_ms"], per)] if per else []),
            row["reason"],
            row["channel"],
            row["dead_letters"],
        ]
        for row in data["counts"]
    ]
    headers = [*([f"{per} (UTC)"] if per else []), "reason", "channel", "dead letters"]
    return head + "\n" + table(headers, rows)


def bucket_text(ms: int, per: str) -> str:
    """The start of an hour or a day (UTC)."""
    at = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return at.strftime("%Y-%m-%d %H:00" if per == "hour" else "%Y-%m-%d")


def first_field(row: Mapping[str, Any]) -> str:
    errors = row["errors"]
    return str(errors[0].get("field") or "") if errors else ""


def render_list(data: Mapping[str, Any], filters: Filters) -> str:
    """The dead letters, newest first, and how many more match."""
    letters, matching = data["letters"], int(data["matching"])
    if not letters:
        return f"no dead letters{filters.scope()}"
    rows = [
        [
            row["id"],
            at_text(row["received_at_ms"], seconds=True).removesuffix(" UTC"),
            row["channel"],
            row["reason"],
            first_field(row),
            row["event_id"] or "-",
            row["event_type"] or "-",
            f"{row['source_topic']}/{row['source_partition']}/{row['source_offset']}",
        ]
        for row in letters
    ]
    headers = ["id", "received (UTC)", "channel", "reason", "field", "event_id", "type", "source"]
    more = (
        f"showing {len(letters):,} of {matching:,}{filters.scope()}, newest first"
        + ("; --limit N shows more" if matching > len(letters) else "")
        + "\none of them: cx deadletters show ID (--raw: its bytes as sent)"
    )
    return table(headers, rows) + "\n" + more


def printable(data: bytes) -> str:
    """Bytes as text a terminal shows as they are: UTF-8 where it is, every
    other byte as \\xNN, control and format characters (bidi overrides
    included) as \\uNNNN; a line break stays one."""
    text = data.decode("utf-8", errors="backslashreplace")
    return "".join(
        f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cc", "Cf") and ch != "\n" else ch
        for ch in text
    )


def render_letter(row: Mapping[str, Any], fetched: Fetched | None, note: str = "") -> str:
    """One dead letter: why, from where, its headers and its value (from the
    topic: None when it could not be read, `note` says why)."""
    reason = row["reason"]
    described = REASON_DESCRIPTIONS[RejectReason(reason)] if reason in REASONS else ""
    source = (
        f"{row['source_topic']} partition {row['source_partition']} offset {row['source_offset']}"
    )
    if row.get("source_timestamp_ms") is not None:
        source += f", produced {at_text(row['source_timestamp_ms'], seconds=True)}"
    lines = [
        f"dead letter {row['id']}",
        f"  received     {at_text(row['received_at_ms'], seconds=True)}",
        f"  channel      {row['channel']} ({source})",
        f"  rejected by  {row['rejected_by']}",
        f"  reason       {reason}" + (f": {described}" if described else ""),
        f"  event        {row['event_id'] or '(unreadable)'}"
        + (f" ({row['event_type']})" if row["event_type"] else ""),
        "  errors",
        *(
            f"    {e.get('reason', '')}  {e.get('field') or '(the whole value)'}: {e.get('message', '')}"
            for e in row["errors"]
        ),
    ]
    if fetched is None:
        lines.append(f"  value        {row['payload_bytes']:,} bytes, not read: {note}")
        return "\n".join(lines)
    letter = fetched.letter
    lines.append("  key          " + ("(none)" if letter.key is None else printable(letter.key)))
    lines.append("  headers")
    lines += [f"    {name}: {printable(value)}" for name, value in fetched.headers]
    value = letter.value
    size = f"{len(value):,} bytes"
    if letter.truncated_from is not None:
        size = f"the first {len(value):,} of {letter.truncated_from:,} bytes sent (no more kept)"
    lines.append(f"  value        {size}, sha256 {row['payload_sha256']}")
    shown = printable(value[:SHOWN_BYTES])
    lines += [f"    {line}" for line in shown.splitlines() or [""]]
    if len(value) > SHOWN_BYTES:
        lines.append(f"    … {len(value) - SHOWN_BYTES:,} more bytes (--raw writes them all)")
    lines.append(fix_hint(row))
    return "\n".join(lines)


def fix_hint(row: Mapping[str, Any]) -> str:
    if row["rejected_by"] == "store":
        return (
            "  the value is the row ClickHouse refused, not the bytes sent: fix the cause, "
            "restart the store worker, send the event again from its source"
        )
    channel = row["channel"]
    return (
        f"  to fix it: cx deadletters show {row['id']} --raw > event.json, edit it into one line "
        "of fixed.jsonl, then\n"
        f"             cx validate --channel {channel} fixed.jsonl && "
        f"cx deadletters replay --file fixed.jsonl --channel {channel}"
    )


def letter_json(row: Mapping[str, Any], fetched: Fetched | None, note: str) -> dict[str, Any]:
    """`show --json`: the row, and the record on the topic (its value as
    text when it is UTF-8, always in base64)."""
    record: dict[str, Any] | None = None
    if fetched is not None:
        letter = fetched.letter
        try:
            text: str | None = letter.value.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        record = {
            "key": None if letter.key is None else letter.key.decode("utf-8", "backslashreplace"),
            "headers": {
                name: value.decode("utf-8", "backslashreplace") for name, value in fetched.headers
            },
            "value": text,
            "value_base64": base64.b64encode(letter.value).decode(),
        }
    return {"letter": dict(row), "record": record, **({"note": note} if note else {})}


def render_plan(rows: Sequence[Mapping[str, Any]]) -> str:
    """The dead letters a replay would send, in the order it sends them."""
    return table(
        ["id", "channel", "reason", "event_id", "back to"],
        [
            [
                row["id"],
                row["channel"],
                row["reason"],
                row["event_id"] or "-",
                f"{row['source_topic']} (was {row['source_partition']}/{row['source_offset']})",
            ]
            for row in rows
        ],
    )


def replay_line(sent: Sequence[str], skipped: int, *, dry_run: bool) -> str:
    """The one line a replay of dead letters ends with: how many went to
    which topic (`sent`: a topic per dead letter)."""
    to = ", ".join(f"{n:,} to {topic}" for topic, n in sorted(Counter(sent).items()))
    verb = "would replay" if dry_run else "replayed"
    line = f"{verb} {_many(len(sent), 'dead letter')}"
    line += f", their original bytes and keys: {to}" if sent else ""
    if skipped:
        line += f"; {skipped:,} not replayable (above)"
    return line


def file_line(name: str, topic: str, verdicts: Iterable[str | None], *, dry_run: bool) -> str:
    """The one line a replay of a file of fixed events ends with; `verdicts`
    per line: None when it passes the contract, else its reason."""
    reasons = list(verdicts)
    failing = Counter(reason for reason in reasons if reason is not None)
    verb = "would send" if dry_run else "sent"
    line = f"{verb} {_many(len(reasons), 'event')} from {name} to {topic}"
    if not failing:
        return line + (" (every one passes the contract)" if reasons else "")
    passing, bad = len(reasons) - failing.total(), failing.total()
    why = ", ".join(f"{n} {reason}" for reason, n in failing.most_common())
    return line + (
        f": {passing:,} pass{'es' if passing == 1 else ''} the contract, {bad:,} "
        f"do{'es' if bad == 1 else ''} not and will be dead letters again ({why})"
    )


def _many(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
