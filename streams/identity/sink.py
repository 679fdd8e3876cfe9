"""The identity replica's decisions into ClickHouse (`identity_links`,
`identity_map`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from streams.clickhouse.client import OffLoopStore
from streams.clickhouse.isolate import Refused
from streams.clickhouse.sink import Block, ClickHouseSink, Columns, Table
from streams.erasure.store import IDENTITY_TABLES, ErasedPerson, erase_rows
from streams.identity.log import Applied
from streams.identity.rows import identity_link_columns, identity_map_columns
from streams.runtime.handoff import Handoff

_DETAIL_TERMS = re.compile(" vs |; ")
"""How a strong conflict's detail names both sides ("a vs b; c vs d")."""
LINKS, MAP, POSITIONS = Table("identity_links"), Table("identity_map"), Table("sink_positions")


class IdentitySink(ClickHouseSink[list[Applied], int | None]):
    """Records the replica's decisions in ClickHouse (`identity_links`,
    `identity_map`), then how far it got (`sink_positions`), in the
    background: the replica only queues them, and what it queued meanwhile
    is recorded together, at most once per `interval_s` (an insert per
    table, as ClickHouse asks). Both tables are replacing on the log
    position, so a range recorded twice after a crash, in ranges of other
    boundaries, is kept once. What was queued and not recorded before a
    crash is recorded after the restart, which replays the log from its
    start."""

    SINK = "identity"

    def __init__(
        self,
        store: OffLoopStore,
        crash: Callable[[BaseException], Awaitable[None]],
        *,
        interval_s: float = 0.0,
        replayed: Callable[[int], bool] = lambda offset: True,
    ) -> None:
        super().__init__(store, "identity-recorder")
        self.replayed = replayed
        """Whether the log record at an offset was applied replaying the
        log at start (`IdentityReplica.replayed`)."""
        self.through: int | None = None
        self.handoff: Handoff[Applied] = Handoff(
            "identity-recorder", self.record, crash, interval_s=interval_s
        )

    async def __call__(self, applied: list[Applied]) -> None:
        self.handoff.put(applied)

    async def stop(self) -> None:
        """Stop recording (what is queued is recorded after the restart)."""
        await self.handoff.stop()

    async def record(self, applied: list[Applied]) -> None:
        """The batch's rows, without what the erasures after them forget.
        An erasure replayed at start (the log is recorded again from the
        last position after a crash, the person's evidence with it) also
        removes their rows recorded before it; one that comes as it is
        made leaves that to the eraser, which finds the person by them."""
        for offset, _, change in applied:
            for erased in change.erased if self.replayed(offset) else ():
                person = ErasedPerson(erased.request_id, erased.key, erased.members)
                await erase_rows(self.store, person, tables=IDENTITY_TABLES)
        await self.insert(await self.write(forgotten(applied)))

    async def write(self, batch: list[Applied]) -> list[Block[int | None]]:
        """Blocks of the decisions past `through`; the last one, the position,
        carries it (`through` moves once it is stored)."""
        if self.through is None:
            rows = await self.store.query("sink_position", sink=self.SINK)
            self.through = int(rows[0][0]) if rows else -1
        fresh = [item for item in batch if item[0] > self.through]
        if not fresh:
            return []
        token = f"{fresh[0][0]}-{fresh[-1][0]}"
        links, keys = identity_link_columns(fresh), identity_map_columns(fresh)
        blocks: list[Block[int | None]] = []
        if links["log_offset"]:
            blocks.append(Block(LINKS, links, f"links:{token}", None))
        if keys["identifier"]:
            blocks.append(Block(MAP, keys, f"map:{token}", None))
        position = fresh[-1][0]
        positions: Columns = {"sink": [self.SINK], "position": [position]}
        blocks.append(Block(POSITIONS, positions, f"position:{self.SINK}:{position}", position))
        return blocks

    async def after(self, block: Block[int | None], refused: list[Refused]) -> None:
        if block.extra is not None:
            self.through = block.extra


def forgotten(applied: list[Applied]) -> list[Applied]:
    """`applied` without the links and keys of identifiers an erasure later
    in it forgets (a new person of the same identifiers after it stays)."""
    gone: set[str] = set()
    kept: list[Applied] = []
    for offset, evidence, change in reversed(applied):
        for erased in change.erased:
            gone.update(erased.members)
        if gone and (change.links or change.keys):
            links = [
                link
                for link in change.links
                if not gone.intersection(
                    (
                        link.identifier,
                        link.anchor,
                        link.from_key,
                        link.to_key,
                        *_DETAIL_TERMS.split(link.detail),
                    )
                )
            ]
            keys = [(i, k) for i, k in change.keys if i not in gone and k not in gone]
            change = change._replace(links=links, keys=keys)
        kept.append((offset, evidence, change))
    return kept[::-1]
