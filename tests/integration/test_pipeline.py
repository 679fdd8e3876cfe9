"""The pipeline end to end, on a real tansu broker and the real ClickHouse
engine (chdb): generated traffic in, checked against an oracle out."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from schemas import stage_of
from streams.dev.broker import LocalBroker
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.dev.generator.traffic import population
from streams.dev.produce import produce_records
from streams.ingest.pseudonym import Pseudonymizer
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics
from tests import oracle
from tests.integration.harness import TEST_SECRET, isolated_settings
from tests.stored import snapshot
from tests.unit.test_observe import EXPOSED


def produce(settings: Settings, records: list[GeneratedRecord]) -> None:
    asyncio.run(produce_records(settings, records))


def probes(worker: ChildWorker) -> dict[str, Any]:
    """Status, content type and body of the web endpoints, /journey asked
    without the token and with a wrong one."""
    answers: dict[str, Any] = {}
    asks = {
        "live": ("/live", {}),
        "ready": ("/ready", {}),
        "health": ("/health", {}),
        "metrics": ("/metrics", {}),
        "journey_without_token": ("/journey?identifier=customer_id:C1", {}),
        "journey_wrong_token": (
            "/journey?identifier=customer_id:C1",
            {"Authorization": "Bearer nope"},
        ),
    }
    for name, (path, headers) in asks.items():
        request = urllib.request.Request(worker.base_url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                status, kind, body = answer.status, answer.headers["Content-Type"], answer.read()
        except urllib.error.HTTPError as error:
            status, kind, body = error.code, error.headers["Content-Type"], error.read()
        answers[name] = [status, kind, body.decode()[:300]]
    return answers


@pytest.fixture(scope="module")
def run(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One worker run over ~5,000 generated records, half sent before the
    worker starts and half while it runs, logging JSON. Yields what the
    tests inspect; its /metrics at the end is in metrics.txt, its log in
    worker.log."""
    folder = tmp_path_factory.mktemp("pipeline")
    spec = TrafficSpec(people=550, seed=11, invalid_share=0.04, duplicate_share=0.03)
    records = generate_traffic(spec)
    settings = isolated_settings(broker, folder, log_format="json")
    half = len(records) // 2
    produce(settings, records[:half])
    worker = ChildWorker(settings, folder / "worker.log").start()
    try:
        produce(settings, records[half:])
        worker.wait_stored(len(oracle.valid(records)), len(oracle.invalid(records)))
        stats = worker.stats()
        (folder / "metrics.txt").write_text(worker.metrics())
        (folder / "probes.json").write_bytes(orjson.dumps(probes(worker)))
    finally:
        assert worker.stop() == 0
    yield settings, spec, records, snapshot(settings), stats


def test_traffic_has_what_the_checks_need(run) -> None:  # type: ignore[no-untyped-def]
    _, _, records, _, _ = run
    kinds = Counter(r.truth.kind for r in records)
    assert len(records) > 4000
    assert kinds["invalid"] > 100 and kinds["duplicate"] > 80
    assert len({r.truth.reason for r in oracle.invalid(records)}) == 10  # every corruption


def test_touchpoints_are_the_valid_unique_events(run) -> None:  # type: ignore[no-untyped-def]
    _, _, records, stored, _ = run
    expected_ids = {r.truth.event_id for r in oracle.valid(records)}
    # count() without FINAL: a duplicate would show here.
    assert (stored.count, stored.unique_ids) == (len(expected_ids), len(expected_ids))
    assert {row["event_id"] for row in stored.touchpoints} == expected_ids
    assert stored.touchpoints_by_type() == oracle.touchpoints_by_type(records)


def test_dead_letters_are_the_invalid_events_with_their_reasons(run) -> None:  # type: ignore[no-untyped-def]
    _, _, records, stored, _ = run
    assert stored.dead_letters_by_reason() == oracle.dead_letters_by_reason(records)
    payloads = Counter(row["payload_sha256"] for row in stored.dead_letters)
    assert payloads == oracle.dead_letter_payloads(records)
    positions = {
        (row["source_topic"], row["source_partition"], row["source_offset"])
        for row in stored.dead_letters
    }
    assert len(positions) == len(stored.dead_letters) == len(oracle.invalid(records))


def test_worker_counts_add_up(run) -> None:  # type: ignore[no-untyped-def]
    _, _, records, _, stats = run
    ingest, store = stats["ingest"], stats["store"]
    assert ingest["received"] == len(records)
    assert ingest["accepted"] + ingest["rejected"] == ingest["received"]
    assert ingest["rejected"] == len(oracle.invalid(records))
    duplicates = sum(r.truth.kind == "duplicate" for r in records)
    assert store["stored"] + store["duplicates"] == ingest["accepted"]
    assert store["duplicates"] == duplicates
    # Below capacity every duplicate is caught in memory, however unevenly the
    # channel partitions were read: no lookups in ClickHouse.
    assert store["looked_up_in_clickhouse"] == 0


def test_columns_carry_the_event(run) -> None:  # type: ignore[no-untyped-def]
    _, _, records, stored, _ = run
    by_id = {
        row["event_id"]: (row["occurred_ms"], row["stage"], row["message_kind"], row["channel"])
        for row in stored.touchpoints
    }
    for record in oracle.valid(records):
        event = orjson.loads(record.value)
        occurred_ms = round(datetime.fromisoformat(event["occurred_at"]).timestamp() * 1000)
        kind = event.get("properties", {}).get("message_kind")
        expected_stage = stage_of(event["event_type"], kind)
        assert by_id[event["event_id"]] == (
            occurred_ms,
            expected_stage.value if expected_stage else "",
            kind or "",
            record.channel.value,
        )


def test_no_email_or_phone_in_clear_in_the_store(run) -> None:  # type: ignore[no-untyped-def]
    _, spec, _, stored, _ = run
    people = population(spec)
    secrets = {p.email for p in people if p.email} | {p.phone for p in people if p.phone}
    secrets |= {phone.lstrip("+") for phone in secrets if phone.startswith("+")}
    dump = "\n".join(map(str, stored.touchpoints + stored.dead_letters))
    assert sorted(s for s in secrets if s in dump) == []
    # ...and they are there as keyed hashes, so journeys can still use them.
    pseudonyms = Pseudonymizer(TEST_SECRET.encode())
    phone_hashes = {row["phone_hash"] for row in stored.touchpoints} - {""}
    email_hashes = {row["email_hash"] for row in stored.touchpoints} - {""}
    assert phone_hashes <= {pseudonyms.hash("phone", p.phone) for p in people if p.phone}
    assert email_hashes <= {pseudonyms.hash("email", p.email) for p in people if p.email}
    assert len(phone_hashes) > 100 and len(email_hashes) > 10


def test_dead_letter_topic_keeps_the_original_bytes(run) -> None:  # type: ignore[no-untyped-def]
    settings, _, records, stored, _ = run
    expected = oracle.invalid(records)
    stored_hashes = {
        (row["source_topic"], row["source_partition"], row["source_offset"]): row["payload_sha256"]
        for row in stored.dead_letters
    }

    async def read_all() -> list[tuple[bytes, dict[str, bytes]]]:
        consumer = AIOKafkaConsumer(
            Topics(settings.topic_prefix).deadletter,
            bootstrap_servers=settings.bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        got: list[tuple[bytes, dict[str, bytes]]] = []
        try:
            while len(got) < len(expected):
                batch = await consumer.getmany(timeout_ms=5000)
                if not batch:
                    break
                for messages in batch.values():
                    got.extend((m.value, dict(m.headers)) for m in messages)
        finally:
            await consumer.stop()
        return got

    letters = asyncio.run(read_all())
    assert Counter(value for value, _ in letters) == Counter(r.value for r in expected)
    reasons = Counter((value, headers["cx.dlq.reason"].decode()) for value, headers in letters)
    assert reasons == Counter((r.value, str(r.truth.reason)) for r in expected)
    for value, headers in letters:
        assert headers["cx.dlq.source.topic"].decode().startswith(settings.topic_prefix)
        assert int(headers["cx.dlq.source.offset"]) >= 0
        # The dead letter stored for the same source record hashes these bytes.
        position = (
            headers["cx.dlq.source.topic"].decode(),
            int(headers["cx.dlq.source.partition"]),
            int(headers["cx.dlq.source.offset"]),
        )
        assert stored_hashes[position] == hashlib.sha256(value).hexdigest()


def test_kill_9_mid_run_loses_nothing_and_stores_nothing_twice(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """kill -9 the worker while it works, restart it, and the store still
    holds each valid event once and each invalid one once. No end offsets are
    read here (tansu answers ListOffsets short after batched produces): the
    restarted consumers resume from their committed offsets."""
    records = generate_traffic(TrafficSpec(people=1600, seed=23))
    settings = isolated_settings(broker, tmp_path, batch_max_records=300, batch_max_wait_ms=50)
    first, second = records[: len(records) // 2], records[len(records) // 2 :]
    # Duplicates of events from the first half arrive in the second: the
    # restarted worker can only catch them from what is stored.
    first_ids = {r.truth.event_id for r in first if r.truth.kind == "valid"}
    assert any(r.truth.kind == "duplicate" and r.truth.event_id in first_ids for r in second)

    produce(settings, first)
    worker = ChildWorker(settings, tmp_path / "worker-1.log").start()
    worker.wait_until(
        lambda s: s.get("clickhouse", {}).get("touchpoints", 0) > 1500, 120, "partway"
    )
    worker.kill()

    produce(settings, second)
    worker = ChildWorker(settings, tmp_path / "worker-2.log").start()
    try:
        worker.wait_stored(len(oracle.valid(records)), len(oracle.invalid(records)))
        restarted = worker.stats()
    finally:
        assert worker.stop() == 0
    # The second worker re-read what the first had not committed.
    assert restarted["ingest"]["received"] >= len(second)

    stored = snapshot(settings)
    valid_ids = {r.truth.event_id for r in oracle.valid(records)}
    assert (stored.count, stored.unique_ids) == (len(valid_ids), len(valid_ids))
    assert {row["event_id"] for row in stored.touchpoints} == valid_ids
    assert stored.dead_letters_by_reason() == oracle.dead_letters_by_reason(records)


def _samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Sample name -> labels (sorted) -> value."""
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def test_metrics_count_what_was_sent(run) -> None:  # type: ignore[no-untyped-def]
    settings, _, records, _, _ = run
    text = (settings.data_dir / "metrics.txt").read_text()
    names = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in text_string_to_metric_families(text)
    }
    assert set(EXPOSED) <= names  # every name a dashboard panel may query
    samples = _samples(text)
    for name, labels in EXPOSED.items():
        series = next(s for s in (samples.get(name), samples.get(f"{name}_count")) if s)
        assert {frozenset(k for k, _ in key) for key in series} == {frozenset(labels)}, name
    received = Counter(r.channel.value for r in records)
    assert samples["cx_records_received_total"] == {
        (("channel", channel),): n for channel, n in received.items()
    }
    assert samples["cx_records_rejected_total"] == {
        (("channel", channel), ("reason", reason)): n
        for (channel, reason), n in oracle.dead_letters_by_reason(records).items()
    }
    stored = len({r.truth.event_id for r in oracle.valid(records)})
    assert samples["cx_touchpoints_stored_total"] == {(): stored}
    duplicates = sum(r.truth.kind == "duplicate" for r in records)
    assert samples["cx_duplicates_total"] == {(("stage", "store"),): duplicates}
    assert samples["cx_up"] == {(): 1.0}
    stages = {"ingest", "journeys", "store", "journey-store", "deadletter-store", "erasures"}
    assert {dict(k)["stage"] for k in samples["cx_batch_seconds_count"]} == stages
    inserted = {dict(k)["table"] for k in samples["cx_clickhouse_insert_seconds_count"]}
    assert inserted >= {"touchpoints", "deadletters"}
    assert {dict(k)["stage"] for k in samples["cx_consumer_lag_records"]} == stages
    # Low cardinality: no label holds an event id, a person or an identifier.
    for series in samples.values():
        for labels in series:
            assert all(len(value) < 64 and ":" not in value for _, value in labels)


def test_the_worker_logs_json(run) -> None:  # type: ignore[no-untyped-def]
    """CX_LOG_FORMAT=json: faust's lines and ours are JSON objects."""
    settings, _, _, _, _ = run
    lines = (settings.data_dir / "worker.log").read_text().splitlines()
    parsed = [orjson.loads(line) for line in lines if line.startswith("{")]
    loggers = {line["logger"] for line in parsed}
    assert any(name.startswith("faust") for name in loggers), loggers
    assert "streams.runtime.processor" in loggers
    assert len(parsed) >= 0.9 * len(lines), [line for line in lines if not line.startswith("{")]


def test_probes_and_the_person_lookup_guard(run) -> None:  # type: ignore[no-untyped-def]
    settings, _, _, _, _ = run
    answers = orjson.loads((settings.data_dir / "probes.json").read_bytes())
    assert answers["live"][0] == 200 and orjson.loads(answers["live"][2]) == {"status": "alive"}
    assert answers["ready"][0] == answers["health"][0] == 200
    assert answers["metrics"][:2] == [200, CONTENT_TYPE_LATEST]
    assert answers["journey_without_token"][0] == answers["journey_wrong_token"][0] == 401
    assert "bearer" in orjson.loads(answers["journey_wrong_token"][2])["error"]
