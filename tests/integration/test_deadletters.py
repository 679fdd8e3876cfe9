"""`cx deadletters` as a producer's engineer runs it, on a real broker and
the embedded ClickHouse: count, list and show the dead letters of a
generated run (through a running worker, and directly once it stopped), then
replay some as they were and some fixed. An event stored already is not
stored twice, a record still invalid is a dead letter again, and
accepted + rejected = received."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition

from schemas import Channel, Rejection, RejectionError, RejectReason
from streams.clickhouse.client import Store
from streams.deadletters.letter import DeadLetter
from streams.deadletters.lookup import answer
from streams.deadletters.replay import REPLAY_OF
from streams.deadletters.rows import dead_letter_columns
from streams.deadletters.select import Ask, Filters, Position, Source
from streams.dev.broker import LocalBroker, free_port
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.generator.traffic import Truth
from streams.dev.produce import produce_records
from streams.runtime.settings import Settings
from tests import oracle
from tests.integration.harness import isolated_settings, read_from_start
from tests.stored import snapshot

AHEAD_S = 40
"""The early events are dated this long past the contract's bound (24 hours
after receipt): rejected when sent, valid once that much time has passed."""
HOUR_MS = 3_600_000


def cx(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    """`cx deadletters ARGS` as a user runs it, with the test's settings."""
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "deadletters", *args],
        env={**os.environ, **settings.to_env(), **env},
        capture_output=True,
        timeout=180,
        check=False,
    )


def ok(settings: Settings, *args: str) -> str:
    done = cx(settings, *args)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def ask(settings: Settings, *args: str) -> Any:
    return orjson.loads(ok(settings, *args, "--json"))


def web_event(event_id: str, occurred_at: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "page_view",
        "occurred_at": occurred_at,
        "identity": {"anonymous_id": f"ck-{event_id}"},
        "properties": {"url": "https://shop.example/"},
    }


def sent(event: dict[str, Any], key: bytes | None, reason: str | None) -> GeneratedRecord:
    truth = Truth(
        "valid" if reason is None else "invalid",
        event["event_id"] if reason is None else None,
        "page_view",
        None,
        reason,
        0,
    )
    return GeneratedRecord(Channel.WEB, key, orjson.dumps(event), truth)


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sha(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def look(settings: Settings, expected: Counter[tuple[str, str]]) -> dict[str, Any]:
    """What count, list and show say; checked here, returned to compare the
    answers through the worker with those read directly."""
    counted = ask(settings, "count")
    assert counted["total"] == sum(expected.values())
    assert Counter({(r["reason"], r["channel"]): r["dead_letters"] for r in counted["counts"]}) == (
        expected
    )
    hourly = ask(settings, "count", "--per", "hour", "--reason", "invalid_timestamp")
    assert hourly["total"] == sum(
        n for (reason, _), n in expected.items() if reason == "invalid_timestamp"
    )
    assert all(row["bucket_ms"] % HOUR_MS == 0 for row in hourly["counts"])
    text = ok(settings, "count", "--channel", "web")
    assert (
        text.splitlines()[0]
        == f"{sum(n for (_, c), n in expected.items() if c == 'web'):,} dead letters (channel web)"
    )

    newest = ask(settings, "list", "--limit", "5")
    assert newest["matching"] == counted["total"] and len(newest["letters"]) == 5
    times = [row["received_at_ms"] for row in newest["letters"]]
    assert times == sorted(times, reverse=True)

    fix_1 = ask(settings, "list", "--event-id", "dl-fix-1")["letters"]
    assert [(r["reason"], r["errors"][0]["field"]) for r in fix_1] == [
        ("invalid_timestamp", "occurred_at")
    ]
    shown = ok(settings, "show", fix_1[0]["id"])
    assert "  reason       invalid_timestamp: occurred_at is not RFC 3339 with an offset" in shown
    assert (
        "    cx.dlq.source.key: ck-dl-1" in shown
        and "    cx.dlq.reason: invalid_timestamp" in shown
    )
    raw = cx(settings, "show", fix_1[0]["id"], "--raw")
    source = (
        f"{fix_1[0]['source_topic']}/{fix_1[0]['source_partition']}/{fix_1[0]['source_offset']}"
    )
    by_source = cx(settings, "show", source, "--raw")
    return {
        "counted": counted,
        "hourly": hourly,
        "newest": newest,
        "shown": shown,
        "raw": raw.stdout,
        "raw_by_source": by_source.stdout,
        "web_timestamps": ask(
            settings, "list", "--reason", "invalid_timestamp", "--channel", "web", "--limit", "1000"
        ),
    }


def test_dead_letters_are_found_shown_and_replayed(broker: LocalBroker, tmp_path: Path) -> None:
    traffic = generate_traffic(TrafficSpec(people=120, seed=91, invalid_share=0.12))
    hour_ago = rfc3339(datetime.now(UTC) - timedelta(hours=1))
    fix_1, fix_2 = web_event("dl-fix-1", hour_ago), web_event("dl-fix-2", hour_ago)
    broken_1 = sent({**fix_1, "occurred_at": "yesterday"}, b"ck-dl-1", "invalid_timestamp")
    hand = [
        sent(fix_1, b"ck-dl-1", None),  # stored; then sent again, broken
        broken_1,
        sent({**fix_2, "occurred_at": "yesterday"}, b"ck-dl-2", "invalid_timestamp"),
    ]
    records = [*traffic, *hand]
    settings = isolated_settings(broker, tmp_path)
    asyncio.run(produce_records(settings, records))

    worker = ChildWorker(settings, tmp_path / "worker-1.log").start()
    try:
        # Dated past the bound when received, sent once the worker runs (read
        # within a second or two): valid AHEAD_S seconds later.
        early_at = datetime.now(UTC) + timedelta(hours=24, seconds=AHEAD_S)
        early = [
            sent(web_event(f"dl-early-{n}", rfc3339(early_at)), b"early", "timestamp_out_of_range")
            for n in (1, 2)
        ]
        asyncio.run(produce_records(settings, early))
        records += early
        worker.wait_stored(len(oracle.valid(records)), len(oracle.invalid(records)))
        worker.wait_idle()
        first_stats = worker.stats()["ingest"]
        expected = Counter((str(r.truth.reason), r.channel.value) for r in oracle.invalid(records))
        through_worker = look(settings, expected)
        unauthorised = urllib.request.Request(f"{worker.base_url}/deadletters?view=count")
        try:
            urllib.request.urlopen(unauthorised, timeout=5)
            raise AssertionError("GET /deadletters answered without the token")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
    finally:
        assert worker.stop() == 0
    assert first_stats["received"] == len(records)
    assert first_stats["accepted"] + first_stats["rejected"] == first_stats["received"]
    assert first_stats["rejected"] == len(oracle.invalid(records))

    directly = look(settings, expected)
    assert directly == through_worker
    assert directly["raw"] == directly["raw_by_source"] == broken_1.value  # the bytes as sent
    web_timestamps = directly["web_timestamps"]["letters"]
    assert Counter(r["payload_sha256"] for r in web_timestamps) == Counter(
        sha(r.value)
        for r in oracle.invalid(records)
        if r.channel is Channel.WEB and r.truth.reason == "invalid_timestamp"
    )

    # A user's mistakes, one line each.
    missing = cx(settings, "show", "0:99999")
    assert missing.returncode == 2
    assert missing.stderr.decode().splitlines() == [
        "no dead letter 0:99999: `cx deadletters list` prints the ids (a dead letter reaches "
        "the table within seconds while a store worker runs)"
    ]
    down = cx(
        settings,
        "replay",
        "--reason",
        "invalid_json",
        CX_BROKER_URL=f"kafka://127.0.0.1:{free_port()}",
    )
    assert down.returncode == 1 and len(down.stderr.decode().splitlines()) == 1
    assert down.stderr.decode().startswith("Error: no Kafka broker answers at kafka://127.0.0.1:")

    # -- replays, through a worker again ---------------------------------------------
    json_web = [
        r
        for r in oracle.invalid(records)
        if r.channel is Channel.WEB and r.truth.reason == "invalid_json"
    ]
    assert json_web, "the run has no invalid JSON on the web channel: pick another seed"
    fixed_lines = []
    for letter in web_timestamps:
        raw = cx(settings, "show", letter["id"], "--raw").stdout
        event = orjson.loads(raw)
        fixed_lines.append(orjson.dumps({**event, "occurred_at": hour_ago}))
    fixed = tmp_path / "web-fixed.jsonl"
    fixed.write_bytes(b"\n".join(fixed_lines) + b"\n")
    fixed_ids = {orjson.loads(line)["event_id"] for line in fixed_lines}
    assert {"dl-fix-1", "dl-fix-2"} <= fixed_ids
    stored_before = {r.truth.event_id for r in oracle.valid(records)}
    new_ids = fixed_ids - stored_before  # dl-fix-1 is stored already
    assert "dl-fix-1" not in new_ids and len(new_ids) == len(fixed_ids) - 1

    worker = ChildWorker(settings, tmp_path / "worker-2.log").start()
    try:
        plan = cx(settings, "replay", "--reason", "timestamp_out_of_range", "--dry-run")
        assert plan.returncode == 0, plan.stderr.decode()
        early_letters = ask(settings, "list", "--reason", "timestamp_out_of_range")["letters"]
        assert len(early_letters) == 2
        plan_lines = plan.stdout.decode().splitlines()
        assert {line.split()[0] for line in plan_lines[2:4]} == {r["id"] for r in early_letters}
        assert plan_lines[-1] == (
            f"would replay 2 dead letters, their original bytes and keys: 2 to {settings.topic_prefix}web"
        )
        time.sleep(max(0.0, early_at.timestamp() - 24 * 3600 - time.time() + 2))
        assert ok(settings, "replay", "--reason", "timestamp_out_of_range").splitlines() == [
            f"replayed 2 dead letters, their original bytes and keys: 2 to {settings.topic_prefix}web"
        ]
        again = ok(settings, "replay", "--reason", "invalid_json", "--channel", "web")
        assert again.splitlines() == [
            f"replayed {len(json_web)} dead letter{'s' if len(json_web) > 1 else ''}, their original "
            f"bytes and keys: {len(json_web)} to {settings.topic_prefix}web"
        ]
        file_line = (
            f"sent {len(fixed_lines)} events from web-fixed.jsonl to {settings.topic_prefix}web "
            "(every one passes the contract)"
        )
        assert ok(settings, "replay", "--file", str(fixed), "--channel", "web").splitlines() == [
            file_line
        ]
        # Again: every one of them stored already, by now or before.
        assert ok(settings, "replay", "--file", str(fixed)).splitlines() == [file_line]
        ok(settings, "replay", *(r["id"] for r in early_letters))
        touchpoints = len(oracle.valid(records)) + 2 + len(new_ids)
        dead_letters = len(oracle.invalid(records)) + len(json_web)
        worker.wait_stored(touchpoints, dead_letters)
        worker.wait_idle()
        stats = worker.stats()
    finally:
        assert worker.stop() == 0

    sends = 2 + len(json_web) + 2 * len(fixed_lines) + 2
    ingest, store = stats["ingest"], stats["store"]
    assert ingest["received"] == sends  # the dry run sent nothing
    assert ingest["accepted"] + ingest["rejected"] == ingest["received"]
    assert ingest["rejected"] == len(json_web)
    assert ingest["rejected_by_reason"] == {"invalid_json": len(json_web)}
    assert (
        store["duplicates"] == 1 + len(fixed_lines) + 2
    )  # dl-fix-1, the file again, the early ones again

    # On the channel topic: each replayed dead letter's original bytes and
    # key, saying which dead letter it is; the fixed events without a key.
    web = f"{settings.topic_prefix}web"
    partitions = [TopicPartition(web, p) for p in range(settings.channel_partitions)]
    on_topic = asyncio.run(read_from_start(settings, partitions))
    replays = Counter(
        (r.key, r.value) for r in on_topic if any(name == REPLAY_OF for name, _ in r.headers)
    )
    assert replays == Counter(
        [(r.key, r.value) for r in early for _ in range(2)] + [(r.key, r.value) for r in json_web]
    )
    assert Counter(r.value for r in on_topic if r.key is None and r.value in fixed_lines) == (
        dict.fromkeys(fixed_lines, 2)
    )

    stored = snapshot(settings)
    replayed = {"dl-early-1", "dl-early-2", *fixed_ids}
    expected_ids = {r.truth.event_id for r in oracle.valid(records)} | replayed
    assert (stored.count, stored.unique_ids) == (len(expected_ids), len(expected_ids))
    assert Counter(
        r["event_id"] for r in stored.touchpoints if r["event_id"] in replayed
    ) == dict.fromkeys(replayed, 1)
    json_again = [
        r for r in stored.dead_letters if r["reason"] == "invalid_json" and r["channel"] == "web"
    ]
    assert Counter(r["payload_sha256"] for r in json_again) == Counter(
        sha(r.value) for r in json_web for _ in range(2)
    )
    assert len({(r["source_partition"], r["source_offset"]) for r in json_again}) == 2 * len(
        json_web
    )
    assert len(stored.dead_letters) == dead_letters
    counted = ask(settings, "count", "--reason", "invalid_json", "--channel", "web")
    assert counted["total"] == 2 * len(json_web)


# -- the table's answers, on the embedded engine ------------------------------------------


def dead_letter(n: int, reason: RejectReason, channel: Channel, at_ms: int) -> DeadLetter:
    rejection = Rejection(
        reason=reason,
        errors=(RejectionError(reason=reason, field="occurred_at", message="m"),),
        event_id=f"e-{n}",
        event_type="page_view",
    )
    return DeadLetter(
        rejection,
        channel,
        f"cx.{channel.value}",
        n % 3,
        100 + n,
        at_ms - 10,
        None,
        b"v%d" % n,
        at_ms,
    )


def source_of(letter: DeadLetter) -> Source:
    return Source(letter.source_topic, letter.source_partition, letter.source_offset)


def test_the_table_answers_each_filter(migrated: Store) -> None:
    """Every filter, the time buckets, the order and the limit of
    `streams.deadletters.lookup` against the same selection in Python."""
    store = migrated
    start = int(datetime(2026, 11, 20, 22, 30, tzinfo=UTC).timestamp() * 1000)
    reasons = [RejectReason.INVALID_JSON, RejectReason.MISSING_FIELD, RejectReason.TOO_LARGE]
    letters = [
        (dead_letter(n, reasons[n % 3], list(Channel)[n % 4], start + n * 20 * 60_000), n % 2, n)
        for n in range(60)
    ]
    store.insert("deadletters", dead_letter_columns(letters))

    def matching(filters: Filters) -> list[int]:
        """The numbers of the dead letters `filters` select, newest first."""
        chosen = [
            n
            for letter, partition, n in letters
            if (not filters.reasons or letter.rejection.reason.value in filters.reasons)
            and (not filters.channels or letter.channel.value in filters.channels)
            and (filters.since_ms is None or letter.received_at_ms >= filters.since_ms)
            and (filters.until_ms is None or letter.received_at_ms < filters.until_ms)
            and (not filters.event_id or letter.rejection.event_id == filters.event_id)
            and (not filters.positions or Position(partition, n) in filters.positions)
            and (not filters.sources or source_of(letter) in filters.sources)
        ]
        return sorted(chosen, reverse=True)

    cases = [
        Filters(),
        Filters(reasons=("invalid_json", "too_large")),
        Filters(channels=("sms",)),
        Filters(since_ms=start + 20 * 60_000 * 10),  # inclusive
        Filters(until_ms=start + 20 * 60_000 * 10),  # exclusive
        Filters(
            since_ms=start + 3 * HOUR_MS, until_ms=start + 5 * HOUR_MS, channels=("web", "app")
        ),
        Filters(event_id="e-7"),
        Filters(positions=(Position(1, 7), Position(0, 8), Position(0, 7))),  # 0:7 is none
        Filters(
            sources=(source_of(letters[5][0]), source_of(letters[13][0]), Source("cx.web", 0, 1))
        ),
        Filters(reasons=("missing_field",), channels=("store",), event_id="e-9"),
    ]
    for filters in cases:
        listed = answer(store, Ask("list", filters, limit=1000))
        numbers = [int(row["event_id"].removeprefix("e-")) for row in listed["letters"]]
        assert numbers == matching(filters), filters
        assert listed["matching"] == len(numbers)
        assert all(
            row["id"] == f"{n % 2}:{n}" for row, n in zip(listed["letters"], numbers, strict=True)
        )
        assert all(row["errors"][0]["field"] == "occurred_at" for row in listed["letters"])
        limited = answer(store, Ask("list", filters, limit=3))["letters"]
        assert [row["id"] for row in limited] == [row["id"] for row in listed["letters"][:3]]
        for per, size in (("hour", HOUR_MS), ("day", 24 * HOUR_MS), (None, None)):
            counted = answer(store, Ask("count", filters, per=per))
            assert counted["total"] == len(numbers)
            expected = Counter(
                (
                    0 if size is None else letter.received_at_ms // size * size,
                    letter.rejection.reason.value,
                    letter.channel.value,
                )
                for letter, _, n in letters
                if n in numbers
            )
            got = {
                (r["bucket_ms"], r["reason"], r["channel"]): r["dead_letters"]
                for r in counted["counts"]
            }
            assert got == dict(expected), (filters, per)
            buckets = [r["bucket_ms"] for r in counted["counts"]]
            assert buckets == sorted(buckets, reverse=True)
