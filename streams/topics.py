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
    def touchpoints(self) -> str:
        """Internal: accepted touchpoints keyed by person, for the stateful stages."""
        return f"{self.prefix}touchpoints"
