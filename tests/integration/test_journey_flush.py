"""The journey stage folds at its flush, and early once too many steps are
gathered (memory stays bounded when it falls behind), on a real broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from aiokafka import TopicPartition

from streams.clickhouse.bundle import decode_bundle, split_rows
from streams.dev.broker import LocalBroker
from streams.identity.graph import IdentityGraph
from streams.identity.rules import IdentityRules
from streams.journeys import stage as journeys
from streams.journeys.logic import JourneyLogic
from streams.journeys.rules import JourneyRules
from streams.journeys.stage import JourneyStage
from streams.journeys.steps import Step, encode_keyed_steps
from streams.runtime.batch_consumer import Batch
from streams.runtime.kafka import consumer_for, produce_all, producer_for
from streams.runtime.partitioning import partition_of
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics
from tests.examples import record
from tests.integration.harness import isolated_settings, read_from_start

CAP = 40
"""MAX_PENDING_STEPS for these tests (100,000 in the worker)."""


def steps_batch(
    topics: Topics, partitions: int, people: range, steps_each: int, first_offset: int
) -> Batch:
    """One journey-steps batch: each person's page views, in their partition."""
    grouped: dict[int, list[tuple[str, list[Step]]]] = {}
    for person in people:
        key = f"customer_id:C{person}"
        steps = [
            Step(f"e{person}-{first_offset}-{i}", 1_795_000_000_000 + i * 1000, "web", "page_view")
            for i in range(steps_each)
        ]
        grouped.setdefault(partition_of(key.encode(), partitions), []).append((key, steps))
    return {
        TopicPartition(topics.journey_steps, number): [
            record(topics.journey_steps, encode_keyed_steps(items), first_offset, number)
        ]
        for number, items in grouped.items()
    }


async def rows_on_topic(settings: Settings, topic: str) -> int:
    tps = [TopicPartition(topic, p) for p in range(settings.internal_partitions)]
    records = await read_from_start(settings, tps)
    return sum(len(decode_bundle(r.value)[0]) for r in records if r.value)


@contextlib.asynccontextmanager
async def journey_stage(settings: Settings) -> AsyncIterator[JourneyStage]:
    """A journey stage on the real broker, as a worker builds it."""
    producer = producer_for(settings)
    restorer, reloader = consumer_for(settings, None), consumer_for(settings, None)
    await producer.start()

    async def crash(exc: BaseException) -> None:
        raise exc

    logic = JourneyLogic(
        IdentityGraph(IdentityRules()).key_of, JourneyRules(), lateness_ms=0, evict_idle_s=3600
    )
    stage = JourneyStage(
        logic, producer, restorer, reloader, Topics(settings.topic_prefix), crash=crash
    )
    await stage.start()
    try:
        yield stage
    finally:
        await stage.stop()
        await producer.stop()


async def run_stage(settings: Settings) -> tuple[dict[str, int], dict[str, int], int]:
    """Two batches below the cap, one that crosses it (its steps spread over
    several partitions); counts after the second and after the third, and
    the journey rows on the topic."""
    topics = Topics(settings.topic_prefix)
    async with journey_stage(settings) as handler:
        partitions = settings.internal_partitions
        await handler.handle(steps_batch(topics, partitions, range(0, 5), 3, 0))  # 15 steps
        await handler.handle(steps_batch(topics, partitions, range(5, 10), 3, 1))  # 30
        below = dict(handler.stats())
        await handler.handle(steps_batch(topics, partitions, range(10, 15), 3, 2))  # 45 >= CAP
        crossed = dict(handler.stats())
    return below, crossed, await rows_on_topic(settings, topics.journey_rows)


def test_the_stage_folds_early_once_the_gathered_steps_reach_the_cap(
    broker: LocalBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journeys, "MAX_PENDING_STEPS", CAP)
    settings = isolated_settings(broker, tmp_path)
    below, crossed, rows = asyncio.run(run_stage(settings))
    # Below the cap a batch only gathers: nothing folded, everyone pending.
    assert below.get("versions_written", 0) == 0
    assert below["people_pending"] == 10
    # The batch that reaches it (steps of several partitions counted
    # together) folds everyone at once, without waiting for a flush.
    assert crossed["versions_written"] == 15
    assert crossed["people_pending"] == 0
    assert crossed["people_in_memory"] == 15
    assert rows == 15  # one journey each, sent to the rows topic


async def replay(settings: Settings) -> tuple[int, int, int, int]:
    """Steps folded and flushed, then the same steps again: in the stage that
    wrote them, and in a new stage that restored the state from the
    changelog (a restarted worker re-reading what it had not committed).
    The journey rows on the topic after each, and the rewrites counted."""
    topics = Topics(settings.topic_prefix)
    batch = steps_batch(topics, settings.internal_partitions, range(3), 2, 0)
    async with journey_stage(settings) as first:
        await first.handle(batch)
        await first.flush()
        written = await rows_on_topic(settings, topics.journey_rows)
        await first.handle(batch)
        await first.flush()
        again = await rows_on_topic(settings, topics.journey_rows)
    async with journey_stage(settings) as restarted:
        await restarted.handle(batch)
        await restarted.flush()
        rewritten = dict(restarted.stats()).get("unconfirmed_rewritten", 0)
    return written, again, await rows_on_topic(settings, topics.journey_rows), rewritten


def test_a_restored_state_writes_its_journeys_again_on_a_replayed_step(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """A state restored from a new version's changelog record may be ahead of
    the store (the record is written before the rows): the replayed steps
    write its journeys again, though they bring nothing new. In the stage
    that wrote them, a repeated step changes nothing."""
    settings = isolated_settings(broker, tmp_path)
    written, again, rewritten_rows, rewrites = asyncio.run(replay(settings))
    assert (written, again) == (3, 3)
    assert (rewritten_rows, rewrites) == (6, 3)


async def crash_between_changelog_and_rows(settings: Settings) -> list[tuple[str, int]]:
    """A person's journey, then a late step that moves its start (a new
    journey id, the old one retired), with the process dying after the new
    version's changelog record and before its rows; a restarted stage reads
    that step again. The person's journey rows on the topic, in order, as
    (journey id, is_deleted)."""
    topics = Topics(settings.topic_prefix)
    key, partitions = "customer_id:C1", settings.internal_partitions
    number = partition_of(key.encode(), partitions)
    tp = TopicPartition(topics.journey_steps, number)
    start = 1_795_000_000_000

    def steps_at(offset: int, *minutes: int) -> Batch:
        steps = [Step(f"e{m}", start + m * 60_000, "web", "page_view") for m in minutes]
        return {tp: [record(tp.topic, encode_keyed_steps([(key, steps)]), offset, number)]}

    async with journey_stage(settings) as first:
        await first.handle(steps_at(0, 10, 20))
        await first.flush()  # journey from minute 10, rows stored
        late = steps_at(1, 0)  # minute 0: the journey now starts there
        await first.handle(late)
        out = journeys.Outbox()
        for _ in first.logic.fold(number, out):
            pass
        messages = map(journeys._changelog_message, out.versions)
        await produce_all(first.producer, topics.journeys, messages)  # ...and no rows
    async with journey_stage(settings) as restarted:
        await restarted.handle(late)  # not committed: read again
        await restarted.flush()
    rows = await read_from_start(
        settings, [TopicPartition(topics.journey_rows, p) for p in range(partitions)]
    )
    found = []
    for bundle in rows:
        _, body = decode_bundle(bundle.value)
        for line in split_rows(body):
            values = orjson.loads(line)
            if values[0] == key:
                found.append((values[1], values[3]))
    return found


def test_a_journey_retired_by_a_version_lost_in_a_crash_is_still_retired(
    broker: LocalBroker, tmp_path: Path
) -> None:
    settings = isolated_settings(broker, tmp_path)
    rows = asyncio.run(crash_between_changelog_and_rows(settings))
    assert len(rows) == 3, rows  # the first journey; the restarted write: one journey, one deletion
    (old, first_deleted), (new, new_deleted), retired = rows
    assert (first_deleted, new_deleted) == (0, 0) and new != old
    assert retired == (old, 1)  # the journey the lost version retired is retired
