"""Identity decisions as column-oriented ClickHouse rows (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.identity.log import Applied


def identity_link_columns(applied: Sequence[Applied]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {name: [] for name in IDENTITY_LINK_COLUMNS}
    for offset, _, change in applied:
        for seq, link in enumerate(change.links):
            for name, value in zip(
                IDENTITY_LINK_COLUMNS,
                (
                    offset,
                    seq,
                    link.occurred_at_ms,
                    link.event_id,
                    link.channel,
                    link.decision.value,
                    link.reason.value,
                    link.identifier,
                    link.anchor,
                    link.from_key,
                    link.to_key,
                    link.detail,
                ),
                strict=True,
            ):
                columns[name].append(value)
    return columns


def identity_map_columns(applied: Sequence[Applied]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {name: [] for name in IDENTITY_MAP_COLUMNS}
    for offset, evidence, change in applied:
        for identifier, key in change.keys:
            columns["identifier"].append(identifier)
            columns["customer_key"].append(key)
            columns["log_offset"].append(offset)
            columns["occurred_at"].append(evidence.occurred_at_ms)
    return columns


IDENTITY_LINK_COLUMNS: tuple[str, ...] = (
    "log_offset",
    "seq",
    "occurred_at",
    "event_id",
    "channel",
    "decision",
    "reason",
    "identifier",
    "anchor",
    "from_key",
    "to_key",
    "detail",
)
IDENTITY_MAP_COLUMNS: tuple[str, ...] = ("identifier", "customer_key", "log_offset", "occurred_at")
