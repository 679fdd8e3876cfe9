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


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """Topic settings the processor relies on: the journey changelog keeps
    the last record per person, the closed journeys every closure until it
    is superseded; the identity log is kept forever (every
    worker replays it to rebuild the identity graph); the dead-letter topic
    keeps a record `deadletter_retention_days` (it holds original bytes,
    personal data included); the topics only the processor writes take
    records as large as it makes (a person's whole history, a dead letter of
    a large record)."""
    topics = Topics(settings.topic_prefix)
    large = {"max.message.bytes": str(INTERNAL_TOPIC_MAX_BYTES)}
    return {
        topics.touchpoints: large,
        topics.journey_steps: large,
        topics.journey_rows: large,
        topics.deadletter: {
            "retention.ms": str(settings.deadletter_retention_days * 86_400_000),
            **large,
        },
        topics.journeys: {"cleanup.policy": "compact", **large},
        topics.closed_journeys: {"cleanup.policy": "compact", **large},
        topics.identity: {"retention.ms": "-1"},
        # A request names the person in clear: kept no longer than it takes.
        topics.erasures: {"retention.ms": str(ERASURE_REQUEST_RETENTION_MS)},
    }
