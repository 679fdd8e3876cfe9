"""Bytes kept a long time own no more memory than their length (orjson's
output owns its whole write buffer, about 4 KiB for a few hundred bytes)."""

from __future__ import annotations

import orjson

from streams.runtime.right_size import right_sized
from tests.held import held_by


def _payload(i: int) -> list[object]:
    return [[f"event-{i}", 1_790_000_000_000 + i, "web", "page_view", None, "s1"]] * 3


def test_right_sized_copies_hold_about_their_length() -> None:
    held, length = held_by(lambda i: right_sized(orjson.dumps(_payload(i))), 1000)
    assert held < length + 1000 * 100  # the bytes header is 33 bytes


def test_right_sized_keeps_the_value() -> None:
    raw = orjson.dumps(_payload(7))
    assert right_sized(raw) == raw
    assert right_sized(b"") == b""
