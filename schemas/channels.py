"""The four channels of the wire contract."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """A channel is implied by the topic an event arrives on."""

    WEB = "web"
    APP = "app"
    STORE = "store"
    SMS = "sms"


CHANNELS: tuple[Channel, ...] = tuple(Channel)
