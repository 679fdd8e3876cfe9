"""Topic names, from the configurable prefix."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import CHANNELS, Channel


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
        """Internal: accepted touchpoints keyed by the event's own strongest
        identifier (so a repeat of an event lands where the first did), for
        the store."""
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
    def journey_rows(self) -> str:
        """Internal: `journeys` rows in bundles, from the journey stage to the store."""
        return f"{self.prefix}journey-rows"
