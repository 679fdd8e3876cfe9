"""Golden examples shipped with the contract, and Kafka records built from them."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from schemas import Channel


def _path(kind: str, name: str) -> Traversable:
    return resources.files("schemas").joinpath("examples", kind, name)


def _lines(kind: str, channel: Channel) -> list[bytes]:
    return [
        line for line in _path(kind, f"{channel.value}.jsonl").read_bytes().splitlines() if line
    ]


def valid_events(channel: Channel) -> list[bytes]:
    return _lines("valid", channel)


def invalid_cases(channel: Channel) -> list[dict[str, Any]]:
    """{"line", "raw": bytes, "expect", "field"} per invalid example.

    `invalid/<channel>.jsonl` holds the records exactly as a producer would
    put them on the topic, one per line (some are not JSON, or not UTF-8);
    `invalid/<channel>.expect.jsonl` holds, on the same line number, the
    reason and field each one is rejected for."""
    raws = _path("invalid", f"{channel.value}.jsonl").read_bytes().split(b"\n")
    expected = _path("invalid", f"{channel.value}.expect.jsonl").read_bytes().split(b"\n")
    assert raws[-1] == expected[-1] == b"", "each file ends with a newline"
    assert len(raws) == len(expected), f"{channel.value}: the files are not line-aligned"
    cases = []
    for number, (raw, line) in enumerate(zip(raws[:-1], expected[:-1], strict=True), start=1):
        expect = orjson.loads(line)
        cases.append(
            {"line": number, "raw": raw, "expect": expect["reason"], "field": expect["field"]}
        )
    return cases


def record(
    topic: str, value: bytes | None, offset: int = 0, partition: int = 0, key: bytes | None = None
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=1_795_000_000_000,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value or b""),
        headers=(),
    )
