"""Golden examples shipped with the contract, and Kafka records built from them."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from schemas import Channel


def _lines(kind: str, channel: Channel) -> list[bytes]:
    path = resources.files("schemas").joinpath("examples", kind, f"{channel.value}.jsonl")
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def valid_events(channel: Channel) -> list[bytes]:
    return _lines("valid", channel)


def invalid_cases(channel: Channel) -> list[dict[str, Any]]:
    """{"expect", "field", "raw": bytes} per invalid example."""
    cases = []
    for line in _lines("invalid", channel):
        case = orjson.loads(line)
        raw = case["raw"].encode() if "raw" in case else orjson.dumps(case["event"])
        cases.append({"expect": case["expect"], "field": case["field"], "raw": raw})
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
