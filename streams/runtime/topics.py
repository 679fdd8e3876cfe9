"""Topic names, from the configurable prefix, and the plan of the topics the
worker creates: partitions and the settings it relies on."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import CHANNELS, Channel
from streams.runtime.kafka import INTERNAL_TOPIC_MAX_BYTES
from streams.runtime.settings import Settings


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str

    def channel(self, channel: Channel) -> str:
        return f"{self.prefix}{channel.value}"

    @property
    def channels(self) -> dict[str, Channel]:
        """Channel topic name -> channel."""
        return {self.channel(c): c for c in CHANNELS}

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}deadletter"

    @property
    def alerts(self) -> str:
        """Alert notices (firing, resolved), keyed by rule and slice."""
        return f"{self.prefix}alerts"

    @property
    def identity(self) -> str:
        """Internal, one partition: the identity log (link evidence)."""
        return f"{self.prefix}identity"

    @property
    def touchpoints(self) -> str:
        """Internal: accepted touchpoints as row bundles routed by event id
        (every delivery of an event lands where the first did), for the store."""
        return f"{self.prefix}touchpoints"

    @property
    def journey_steps(self) -> str:
        """Internal: journey steps keyed by person (`customer_key`), for the
        journey stage; also carries the steps of people merged into others."""
        return f"{self.prefix}journey-steps"

    @property
    def journeys(self) -> str:
        """Internal, compacted: the journey stage's state by person, its
        changelog (read back only to restore the state)."""
        return f"{self.prefix}journeys"

    @property
    def closed_journeys(self) -> str:
        """Internal, compacted: the steps of each person's ended journeys, one
        record per closure, read back by offset only when a late step or a
        merge reopens them (`streams.journeys.closed`)."""
        return f"{self.prefix}journeys-closed"

    @property
    def erasures(self) -> str:
        """Erasure requests (`streams.erasure.request`), from `cx erase` or
        any other system; one partition, carried out in order."""
        return f"{self.prefix}erasures"

    @property
    def journey_rows(self) -> str:
        """Internal: `journeys` rows in bundles, from the journey stage to the store."""
        return f"{self.prefix}journey-rows"


ERASURE_REQUEST_RETENTION_MS = 7 * 86_400_000
"""A week: a request waits for a worker that is down for a while, no longer."""


def topic_plan(settings: Settings) -> dict[str, int]:
    """Every topic the processor reads or writes, with its partitions."""
    topics = Topics(settings.topic_prefix)
    return {
        **dict.fromkeys(topics.channels, settings.channel_partitions),
        topics.deadletter: settings.channel_partitions,
        topics.touchpoints: settings.internal_partitions,
        topics.identity: 1,
        topics.alerts: 1,
        topics.erasures: 1,
        topics.journey_steps: settings.internal_partitions,
        topics.journeys: settings.internal_partitions,
        topics.closed_journeys: settings.internal_partitions,
        topics.journey_rows: settings.internal_partitions,
    }


DAY_MS = 86_400_000
ALERTS_RETENTION_MS = 7 * DAY_MS
"""Alert notices are aggregates (a rule, a slice, a value), no personal data;
whoever follows the topic reads them as they come, and the ClickHouse table
`alerts` keeps their history. A week outlasts a notifier stopped over a
long weekend."""
COMPACTION_MAX_LAG_MS = 7 * DAY_MS
"""On the compacted topics, a record superseded by a later one for its key,
or by a tombstone (a person erased), is compacted away within this long
(plus the cleaner's run); Kafka's default is never, as long as the dirty
ratio stays below half. It also rolls the active segment, which is never
compacted, at this age."""
SEGMENT_MS = DAY_MS
"""Kafka deletes whole segments, once their newest record is past the
retention, and rolls a segment after `segment.ms` (a week by default): on a
quiet topic a record would outlive its retention by up to a week. A day
bounds that on the topics that hold personal data."""
TOMBSTONE_RETENTION_MS = DAY_MS
"""How long a tombstone itself stays readable after compaction (Kafka's
default, said here): long enough for a restore of the journey state, which
takes minutes, to see it."""


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """The settings of every topic the processor creates (a test holds each
    topic of `topic_plan` to a retention or a compaction decision here;
    docs/operations.md#retention lists them). Records are personal data
    where they carry identifiers, so every deleting topic keeps them as long
    as its readers need, no longer: the channel topics
    `channel_retention_days`; the internal transit topics
    `internal_retention_days` (read within seconds); the dead-letter topic
    `deadletter_retention_days` (original bytes, personal data in clear);
    alerts a week. The journey state and closed journeys are compacted: the
    last record per key stays until a tombstone deletes it. The identity log
    is kept forever (every worker replays it to rebuild the identity graph).
    The topics only the processor writes take records as large as it makes
    (a person's whole history, a dead letter of a large record)."""
    topics = Topics(settings.topic_prefix)
    large = {"max.message.bytes": str(INTERNAL_TOPIC_MAX_BYTES)}
    rolled = {"segment.ms": str(SEGMENT_MS)}
    channel = {"retention.ms": str(settings.channel_retention_days * DAY_MS), **rolled}
    transit = {
        "retention.ms": str(settings.internal_retention_days * DAY_MS),
        **rolled,
        **large,
    }
    compacted = {
        "cleanup.policy": "compact",
        "max.compaction.lag.ms": str(COMPACTION_MAX_LAG_MS),
        "delete.retention.ms": str(TOMBSTONE_RETENTION_MS),
        **large,
    }
    return {
        **dict.fromkeys(topics.channels, channel),
        topics.touchpoints: transit,
        topics.journey_steps: transit,
        topics.journey_rows: transit,
        topics.deadletter: {
            "retention.ms": str(settings.deadletter_retention_days * DAY_MS),
            **rolled,
            **large,
        },
        topics.alerts: {"retention.ms": str(ALERTS_RETENTION_MS)},
        topics.journeys: compacted,
        topics.closed_journeys: compacted,
        topics.identity: {"retention.ms": "-1"},
        # A request names the person in clear: kept no longer than it takes.
        topics.erasures: {"retention.ms": str(ERASURE_REQUEST_RETENTION_MS), **rolled},
    }
