"""The identity replica's decisions into ClickHouse (`identity_links`,
`identity_map`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from streams.clickhouse.client import OffLoopStore
from streams.identity.log import Applied
from streams.identity.rows import identity_link_columns, identity_map_columns
from streams.runtime.handoff import Handoff


class IdentityRecorder:
    """Records the replica's decisions in ClickHouse (`identity_links`,
    `identity_map`), then how far it got (`sink_positions`), in the
    background: the replica only queues them. Both tables are replacing on
    the log position, so a range recorded twice after a crash is kept once.
    What was queued and not recorded before a crash is recorded after the
    restart, which replays the log from its start."""

    SINK = "identity"

    def __init__(
        self, store: OffLoopStore, crash: Callable[[BaseException], Awaitable[None]]
    ) -> None:
        self.store = store
        self.through: int | None = None
        self.handoff: Handoff[Applied] = Handoff("identity-recorder", self.record, crash)

    async def __call__(self, applied: list[Applied]) -> None:
        self.handoff.put(applied)

    async def record(self, applied: list[Applied]) -> None:
        if self.through is None:
            rows = await self.store.query("sink_position", sink=self.SINK)
            self.through = int(rows[0][0]) if rows else -1
        fresh = [item for item in applied if item[0] > self.through]
        if not fresh:
            return
        token = f"{fresh[0][0]}-{fresh[-1][0]}"
        links, keys = identity_link_columns(fresh), identity_map_columns(fresh)
        if links["log_offset"]:
            await self.store.insert("identity_links", links, dedup_token=f"links:{token}")
        if keys["identifier"]:
            await self.store.insert("identity_map", keys, dedup_token=f"map:{token}")
        position = fresh[-1][0]
        await self.store.insert(
            "sink_positions",
            {"sink": [self.SINK], "position": [position]},
            dedup_token=f"position:{self.SINK}:{position}",
        )
        self.through = position
