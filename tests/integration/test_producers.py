"""Channel traffic from a third-party producer: librdkafka (confluent-kafka,
the library behind most non-Java producers), one producer per Kafka codec,
each sending its slice of generated traffic with the records' keys and
headers of its own. One worker reads all of it; the store must hold what
the oracle says, as for aiokafka's uncompressed batches."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest
from aiokafka import TopicPartition
from confluent_kafka import KafkaError, Message, Producer

from streams.dev.bench.topic_batches import CODECS, held_by_codec
from streams.dev.broker import LocalBroker
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import GeneratedRecord, TrafficSpec, generate_traffic
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics
from tests import oracle
from tests.integration.harness import isolated_settings, read_from_start
from tests.stored import snapshot

Position = tuple[str, int, int]
"""(topic, partition, offset) the broker gave a record."""


def send(settings: Settings, codec: str, records: list[GeneratedRecord]) -> list[Position]:
    """Send `records` with a librdkafka producer compressing with `codec`;
    the position of each, in order, once all are acknowledged."""
    topics = Topics(settings.topic_prefix)
    producer = Producer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "compression.type": codec,
            "acks": "all",
            "linger.ms": 1000,  # few batches, each worth compressing (flush sends at once)
        }
    )
    reports: list[tuple[KafkaError | None, Message] | None] = [None] * len(records)

    def delivered(index: int) -> Callable[[KafkaError | None, Message], None]:
        def report(error: KafkaError | None, message: Message) -> None:
            reports[index] = (error, message)

        return report

    for index, record in enumerate(records):
        producer.produce(
            topics.channel(record.channel),
            value=record.value,
            key=record.key,
            headers=[("producer", f"librdkafka-{codec}".encode()), ("sequence", b"%d" % index)],
            on_delivery=delivered(index),
        )
        producer.poll(0)
    assert producer.flush(30) == 0
    positions: list[Position] = []
    for reported in reports:
        assert reported is not None, "no delivery report"
        error, message = reported
        assert error is None, error
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        assert topic is not None and partition is not None and offset is not None
        positions.append((topic, partition, offset))
    return positions


@pytest.fixture(scope="module")
def run(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """About 3,000 generated records in five slices, one producer and codec
    each; then one worker reads them all. Yields what the tests inspect."""
    folder = tmp_path_factory.mktemp("producers")
    records = generate_traffic(
        TrafficSpec(people=320, seed=31, invalid_share=0.05, duplicate_share=0.04)
    )
    settings = isolated_settings(broker, folder)
    cut = [len(records) * share // len(CODECS) for share in range(len(CODECS) + 1)]
    slices = {codec: records[cut[i] : cut[i + 1]] for i, codec in enumerate(CODECS)}
    sent = {codec: send(settings, codec, part) for codec, part in slices.items()}
    worker = ChildWorker(settings, folder / "worker.log").start()
    try:
        worker.wait_stored(len(oracle.valid(records)), len(oracle.invalid(records)))
        stats = worker.wait_until(
            lambda s: s.get("ingest", {}).get("received", 0) >= len(records), 60, "done reading"
        )
    finally:
        assert worker.stop() == 0
    yield settings, records, slices, sent, snapshot(settings), stats


def test_every_codec_reached_the_broker_as_sent(run) -> None:  # type: ignore[no-untyped-def]
    settings, _, slices, sent, _, _ = run
    topics = Topics(settings.topic_prefix)
    for topic in topics.channels:
        held = asyncio.run(held_by_codec(settings.bootstrap_servers, topic))
        # Every producer's batches are stored in its codec, none recompressed;
        # but librdkafka sends a batch uncompressed when compressing it does
        # not make it shorter (a lone short record), which counts as none.
        expected = {c: sum(t == topic for t, _, _ in sent[c]) for c in slices}
        held_records = {codec: h.records for codec, h in held.items()}
        assert sum(held_records.values()) == sum(expected.values())
        assert all(count > 0 for count in expected.values())
        for codec in CODECS[1:]:
            assert expected[codec] // 2 < held_records.get(codec, 0) <= expected[codec], codec


def test_touchpoints_are_the_valid_unique_events(run) -> None:  # type: ignore[no-untyped-def]
    _, records, _, _, stored, _ = run
    expected_ids = {r.truth.event_id for r in oracle.valid(records)}
    # Duplicate deliveries cross slices: a repeat is often in another codec.
    assert (stored.count, stored.unique_ids) == (len(expected_ids), len(expected_ids))
    assert {row["event_id"] for row in stored.touchpoints} == expected_ids
    assert stored.touchpoints_by_type() == oracle.touchpoints_by_type(records)


def test_dead_letters_point_at_each_invalid_record_sent(run) -> None:  # type: ignore[no-untyped-def]
    _, records, slices, sent, stored, _ = run
    assert stored.dead_letters_by_reason() == oracle.dead_letters_by_reason(records)
    invalid_at = {
        position
        for codec, part in slices.items()
        for record, position in zip(part, sent[codec], strict=True)
        if record.truth.kind == "invalid"
    }
    positions = {
        (row["source_topic"], row["source_partition"], row["source_offset"])
        for row in stored.dead_letters
    }
    assert positions == invalid_at and len(stored.dead_letters) == len(invalid_at)


def test_dead_letter_topic_keeps_each_records_key_and_bytes(run) -> None:  # type: ignore[no-untyped-def]
    settings, records, slices, sent, _, _ = run
    sent_at = {
        position: record
        for codec, part in slices.items()
        for record, position in zip(part, sent[codec], strict=True)
        if record.truth.kind == "invalid"
    }
    topic = Topics(settings.topic_prefix).deadletter
    partitions = [TopicPartition(topic, p) for p in range(settings.channel_partitions)]
    letters = asyncio.run(read_from_start(settings, partitions))
    assert len(letters) == len(oracle.invalid(records))
    keys: Counter[bool] = Counter()
    for letter in letters:
        headers = dict(letter.headers)
        source = headers["cx.dlq.source.topic"].decode()
        at = (source, int(headers["cx.dlq.source.partition"]), int(headers["cx.dlq.source.offset"]))
        record = sent_at[at]
        assert (letter.value, headers.get("cx.dlq.source.key")) == (record.value, record.key)
        keys[record.key is not None] += 1
    assert keys[True] > 0  # keyed records among them, so the keys were compared


def test_worker_counts_add_up(run) -> None:  # type: ignore[no-untyped-def]
    _, records, _, sent, _, stats = run
    ingest = stats["ingest"]
    assert sum(map(len, sent.values())) == len(records)
    assert ingest["received"] == len(records)
    assert ingest["accepted"] + ingest["rejected"] == ingest["received"]
    assert ingest["rejected"] == len(oracle.invalid(records))
